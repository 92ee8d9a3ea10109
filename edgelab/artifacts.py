"""Prebuilt models for the demos: train and convert once (TensorFlow), then load anywhere (LiteRT).

The quantization demo must not import TensorFlow in its kernel, so ``make demo`` first runs
``python -m edgelab.artifacts build/demo`` (train the digits CNN, convert it to the four
variants, save them with the test split and a manifest of SHA-256 hashes). The demo then
loads them with :func:`load_digits` — LiteRT only. The files are build output (git-ignored).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Union

import numpy as np

from edgelab.convert import ConvertedModel
from edgelab.errors import EdgelabError

MANIFEST = "manifest.json"
PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class DigitsArtifacts:
    """The converted digits models by variant, and the test split they are evaluated on."""

    variants: Dict[str, ConvertedModel]
    x_test: np.ndarray
    y_test: np.ndarray
    keras_accuracy: float


def write_digits(out_dir: PathLike, variants: Mapping[str, ConvertedModel], x_test: np.ndarray,
                 y_test: np.ndarray, keras_accuracy: float) -> Path:
    """Save converted variants, the test split and a manifest (with hashes) in ``out_dir``."""
    out = Path(os.fspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for variant, model in variants.items():
        path = model.save(out / f"digits_{variant}.tflite")
        files[variant] = {"file": path.name, "sha256": model.sha256}
    np.savez(out / "test.npz", x_test=x_test, y_test=y_test)
    manifest = {"model": "digits CNN (edgelab.models.train_digits_cnn, seed 0)",
                "keras_accuracy": float(keras_accuracy), "variants": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return out / MANIFEST


def build_digits(out_dir: PathLike, seed: int = 0, progress: bool = True) -> Path:
    """Train the digits CNN, convert it to every variant and save it all (needs TensorFlow)."""
    from edgelab import convert, datasets, models

    trained = models.train_digits_cnn(seed=seed, progress=progress)
    rep = datasets.representative_samples(trained.data.x_train, 200)
    variants = convert.convert_all(trained.model, rep, name="digits", progress=progress)
    return write_digits(out_dir, variants, trained.data.x_test, trained.data.y_test, trained.test_accuracy)


def load_digits(out_dir: PathLike) -> DigitsArtifacts:
    """Load what :func:`build_digits` saved, checking every model against its hash."""
    out = Path(os.fspath(out_dir))
    manifest_path = out / MANIFEST
    if not manifest_path.exists():
        raise EdgelabError(f"no demo models in {out}: build them with `python -m edgelab.artifacts {out}` "
                           "(or `make demo`)")
    manifest = json.loads(manifest_path.read_text())
    variants = {v: ConvertedModel.load(out / entry["file"], name="digits", sha256=entry["sha256"])
                for v, entry in manifest["variants"].items()}
    data = np.load(out / "test.npz")
    return DigitsArtifacts(variants, data["x_test"], data["y_test"], manifest["keras_accuracy"])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m edgelab.artifacts OUT_DIR", file=sys.stderr)
        return 2
    print(f"wrote {build_digits(argv[0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
