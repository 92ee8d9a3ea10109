"""The device agent measures like the local harness: same model, same protocol, side by side.

A simulated device (scale 1, so no scaling) runs the shipped agent in a subprocess, exactly as
a Raspberry Pi would; the local harness runs ``edgelab.bench.run_benchmark`` in this process.
Goal: the agent's median p50 is within 0.67x-1.5x of the local one (the agent adds nothing to
the timed region). Also prints the wall time of one simulated deploy (upload, verify,
smoke-load, switch, health check). Exits 1 if the goal is missed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROUNDS = 3
RUNS = 300
GOAL = (0.67, 1.5)


def make_model(folder: Path) -> Path:
    """A 3-layer dense model (about 0.1 ms per invoke) converted by TensorFlow in a subprocess."""
    path = folder / "dense.tflite"
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras, tensorflow as tf
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
        open({str(path)!r}, "wb").write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=600)
    return path


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from edgelab import deploy, load_interpreter
    from edgelab.bench import run_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(Path(tmp))
        sim = deploy.simulated_target("raspberry-pi-5", scale=1.0, home=Path(tmp) / "device")
        start = time.perf_counter()
        sim.deploy(model)
        deploy_s = time.perf_counter() - start
        local, agent = [], []
        for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
            loaded = load_interpreter(model)
            local.append(run_benchmark(loaded.interpreter, model_name="dense", model_bytes=model.read_bytes(),
                                       runs=RUNS, warmup_runs=20)["latency_ms"]["p50"])
            agent.append(sim.benchmark(runs=RUNS, warmup_runs=20)["latency_ms"]["p50"])
    local_ms, agent_ms = statistics.median(local), statistics.median(agent)
    ratio = agent_ms / local_ms
    ok = GOAL[0] <= ratio <= GOAL[1]
    print(f"local harness   p50 median {local_ms * 1000:8.1f} us  ({ROUNDS} rounds x {RUNS} runs)")
    print(f"device agent    p50 median {agent_ms * 1000:8.1f} us  (simulated device, scale 1, own process)")
    print(f"one simulated deploy (upload, verify, smoke-load, switch, health) {deploy_s:.2f} s")
    print(f"ratio agent/local = {ratio:.3f}  (goal {GOAL[0]}..{GOAL[1]})  {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
