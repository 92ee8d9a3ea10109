"""Robustness: 1,000 damaged copies of a real .tflite model never crash edgelab's loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

FUZZ = textwrap.dedent("""
    import json, sys
    import numpy as np
    from edgelab import ModelError, evaluate, load_interpreter
    data = open(sys.argv[1], "rb").read()
    counts = {"truncated_model_error": 0, "mutated_model_error": 0, "mutated_ran": 0}
    for i in range(1000):
        rng = np.random.default_rng([7, i])
        damaged = bytearray(data)
        truncated = i % 2 == 0
        if truncated:
            damaged = damaged[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 9))):
                damaged[int(rng.integers(0, len(damaged)))] = int(rng.integers(0, 256))
        try:
            loaded = load_interpreter(bytes(damaged))
            evaluate.predict(loaded, np.zeros((1, 8, 8, 1), "float32"))
        except ModelError:
            counts["truncated_model_error" if truncated else "mutated_model_error"] += 1
            continue
        if truncated:
            print("TRUNCATED COPY LOADED:", i, flush=True)
            sys.exit(3)
        counts["mutated_ran"] += 1  # a byte flipped inside weight data is still a valid model
    print(json.dumps(counts))
""")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["float32", "int8"])
def test_damaged_models_give_model_error_and_never_crash(digits_variants: dict, variant: str) -> None:
    """Truncated copies always raise ModelError; byte-mutated copies raise ModelError or still
    run an inference; no other exception escapes and the process is never killed (subprocess)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", FUZZ, str(digits_variants["paths"][variant])], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts["truncated_model_error"] == 500
    assert counts["mutated_model_error"] + counts["mutated_ran"] == 500
    # Most flipped bytes land in weight data (a valid model); those in the structure are caught.
    assert counts["mutated_model_error"] >= 10, counts
