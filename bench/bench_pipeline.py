"""The optimization pipeline's goals, measured in one run.

1. Digits CNN: train + 4 conversions + LiteRT evaluation of all four <= 60 s; int8 file
   <= 0.30x the float32 file; int8 accuracy loss <= 1 percentage point.
2. MobileNetV2 (96 px, random weights: size only, its predictions mean nothing): int8 /
   float32 file size <= 0.30x (TF's table: MobileNet v1 16.9 MB -> 4.3 MB, 0.25x).
Prints each figure with OK/MISSED; exits 1 if any goal is missed.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PIPELINE_GOAL_S = 60.0
SIZE_GOAL = 0.30
ACCURACY_LOSS_GOAL = 0.01


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> int:
    import numpy as np

    from edgelab import convert, datasets, models

    start = time.perf_counter()
    trained = models.train_digits_cnn(seed=0, progress=True)
    rep = datasets.representative_samples(trained.data.x_train, 200)
    variants = convert.convert_all(trained.model, rep, name="digits", progress=True)
    acc = {v: m.evaluate(trained.data.x_test, trained.data.y_test) for v, m in variants.items()}
    total = time.perf_counter() - start
    ratio = variants["int8"].size_bytes / variants["float32"].size_bytes
    loss = acc["float32"] - acc["int8"]
    results = [total <= PIPELINE_GOAL_S, ratio <= SIZE_GOAL, loss <= ACCURACY_LOSS_GOAL]
    print(f"digits pipeline (train {trained.train_seconds:.1f} s + 4 conversions + evaluation) = "
          f"{total:.1f} s  "
          f"(goal <= {PIPELINE_GOAL_S:.0f} s)  {verdict(results[0])}")
    for v, m in variants.items():
        print(f"  {v:<8} {m.size_bytes:>9,} bytes  accuracy {acc[v]:.2%}")
    print(f"digits int8/float32 size = {ratio:.3f}  (goal <= {SIZE_GOAL})  {verdict(results[1])}")
    print(f"digits int8 accuracy loss = {loss * 100:.2f} points  (goal <= {ACCURACY_LOSS_GOAL * 100:.0f})  "
          f"{verdict(results[2])}")

    mobilenet = models.build_mobilenet_v2(96)
    rng = np.random.default_rng(0)
    calib = rng.uniform(-1, 1, size=(8, 96, 96, 3)).astype("float32")  # MobileNet's [-1, 1] input
    f32 = convert.convert(mobilenet, "float32", name="mobilenet_v2_96")
    q = convert.convert(mobilenet, "int8", calib, name="mobilenet_v2_96")
    m_ratio = q.size_bytes / f32.size_bytes
    results.append(m_ratio <= SIZE_GOAL)
    print(f"MobileNetV2 96 px (random weights, size only): float32 {f32.size_bytes / 1e6:.2f} MB, "
          f"int8 {q.size_bytes / 1e6:.2f} MB, ratio {m_ratio:.3f}  (goal <= {SIZE_GOAL})  "
          f"{verdict(results[3])}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
