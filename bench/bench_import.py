"""`import edgelab` vs `import tensorflow`: each in a fresh interpreter, interleaved.

Goal: edgelab imports in well under a tenth of TensorFlow's time (it never imports TF).
Prints the medians and their ratio; exits 1 if the goal is missed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

ROUNDS = 5
GOAL_RATIO = 0.10
PROBE = ("import time, os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; t = time.perf_counter(); "
         "import {module}; print(time.perf_counter() - t)")


def import_time(module: str) -> float:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(module=module)],
                          capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    times: dict[str, list[float]] = {"edgelab": [], "tensorflow": []}
    for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
        for module in times:
            times[module].append(import_time(module))
    edgelab = statistics.median(times["edgelab"])
    tensorflow = statistics.median(times["tensorflow"])
    ratio = edgelab / tensorflow
    print(f"import edgelab     median {edgelab * 1000:8.1f} ms  ({ROUNDS} fresh interpreters)")
    print(f"import tensorflow  median {tensorflow * 1000:8.1f} ms")
    print(f"ratio edgelab/tensorflow = {ratio:.4f}  (goal <= {GOAL_RATIO})  "
          f"{'OK' if ratio <= GOAL_RATIO else 'MISSED'}")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
