"""A small real ``.tflite`` classifier for the inference server of the real-link check.

``python -m edgelab.linkcheck.demo_model OUT.tflite`` builds it with TensorFlow (one 3x3
convolution, global pooling, ten outputs; seeded); :func:`demo_model` runs that in a
subprocess once and caches the file under ``~/.cache/edgelab``, so ``import edgelab`` stays
free of TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

from edgelab.linkcheck.testbed import env_with_repo


def build(path: Union[str, Path]) -> None:
    """Write the model to ``path`` (needs TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    Path(path).write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def demo_model(path: Optional[Union[str, Path]] = None) -> Path:
    """The demo model's path, built once (TensorFlow in a subprocess) and cached."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = Path(path) if path else cache / "edgelab" / "measure-link.tflite"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        subprocess.run([sys.executable, "-m", "edgelab.linkcheck.demo_model", str(partial)], check=True,
                       capture_output=True, timeout=600, env=env_with_repo())
        partial.replace(target)
    return target


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m edgelab.linkcheck.demo_model OUT.tflite", file=sys.stderr)
        return 2
    build(args[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
