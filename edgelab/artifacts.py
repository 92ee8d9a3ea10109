"""Prebuilt models for the demos: train and convert once (TensorFlow), then load anywhere (LiteRT).

The quantization demo must not import TensorFlow in its kernel, so ``make demo`` first runs
``python -m edgelab.artifacts build/demo``: train the course's two small models (the digits
CNN and the vibration fault detector), convert each to the four variants, and save them with
their test split and a manifest of SHA-256 hashes. The demo then loads them with
:func:`load` — LiteRT only, each model when it is first asked for. The files are build
output (git-ignored).

The demo finds them wherever its kernel runs (``make demo``, JupyterLab's Voila preview, a
notebook anywhere in the checkout, Binder) with :func:`find`: ``$EDGELAB_DEMO_ARTIFACTS``
when it is set, else the checkout's ``build/demo`` (when edgelab runs from a checkout), else
the per-user cache ``$XDG_CACHE_HOME/edgelab/demo`` (default ``~/.cache/edgelab/demo``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np

from edgelab.convert import ConvertedModel
from edgelab.errors import EdgelabError

MANIFEST = "manifest.json"
ENV_VAR = "EDGELAB_DEMO_ARTIFACTS"
FORMAT = 2  # manifest layout: {"format": 2, "models": {name: {...}}}
PathLike = Union[str, "os.PathLike[str]"]

# name -> what a visitor reads in the demo's model menu
MODELS = {
    "digits": "digits CNN: 8x8 handwritten digits (scikit-learn), 10 classes",
    "vibration": "vibration fault detector: 1-D CNN on synthetic accelerometer windows, 2 classes",
}


@dataclass(frozen=True)
class ModelArtifacts:
    """One model's converted variants, and the test split they are evaluated on."""

    name: str
    description: str
    variants: Dict[str, ConvertedModel]
    x_test: np.ndarray
    y_test: np.ndarray
    keras_accuracy: float


def _read_manifest(out: Path, for_writing: bool = False) -> dict:
    path = out / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "models": {}}
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT and for_writing:
        return {"format": FORMAT, "models": {}}  # an older build is replaced, model by model
    if manifest.get("format") != FORMAT:
        raise EdgelabError(f"the demo models in {out} were built by an older edgelab: rebuild them with "
                           f"`python -m edgelab.artifacts {out}` (or `make demo`)")
    return manifest


def write_model(out_dir: PathLike, name: str, variants: Mapping[str, ConvertedModel], x_test: np.ndarray,
                y_test: np.ndarray, keras_accuracy: float) -> Path:
    """Save one model's converted variants and test split in ``out_dir`` and add it to the
    manifest (with hashes); ``name`` must be one of :data:`MODELS`."""
    if name not in MODELS:
        raise ValueError(f"name must be one of {', '.join(MODELS)}; got {name!r}")
    out = Path(os.fspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out, for_writing=True)
    files = {}
    for variant, model in variants.items():
        path = model.save(out / f"{name}_{variant}.tflite")
        files[variant] = {"file": path.name, "sha256": model.sha256}
    np.savez(out / f"{name}_test.npz", x_test=x_test, y_test=y_test)
    manifest["models"][name] = {"description": MODELS[name], "keras_accuracy": float(keras_accuracy),
                                "test": f"{name}_test.npz", "variants": files}
    tmp = out / (MANIFEST + ".tmp")  # a reader never sees half a manifest
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out / MANIFEST)
    return out / MANIFEST


def build(out_dir: PathLike, names: Sequence[str] = tuple(MODELS), seed: int = 0,
          progress: bool = True) -> Path:
    """Train each named model, convert it to every variant and save it all (needs TensorFlow)."""
    from edgelab import convert, datasets, models

    trainers = {"digits": models.train_digits_cnn, "vibration": models.train_vibration_model}
    for name in names:
        if name not in trainers:
            raise ValueError(f"names must be among {', '.join(trainers)}; got {name!r}")
    path = Path(os.fspath(out_dir)) / MANIFEST
    for name in names:
        trained = trainers[name](seed=seed, progress=progress)
        rep = datasets.representative_samples(trained.data.x_train, 200)
        variants = convert.convert_all(trained.model, rep, name=name, progress=progress)
        path = write_model(out_dir, name, variants, trained.data.x_test, trained.data.y_test,
                           trained.test_accuracy)
    return path


def _checkout() -> Optional[Path]:
    """The checkout edgelab runs from (editable install or PYTHONPATH), or None when it is
    installed as a package."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "demos").is_dir() else None


def search_path() -> list[Path]:
    """Where the demos look for their models, in order: ``$EDGELAB_DEMO_ARTIFACTS`` alone when
    it is set; else the checkout's ``build/demo`` (when edgelab runs from a checkout) and the
    per-user cache ``$XDG_CACHE_HOME/edgelab/demo`` (default ``~/.cache/edgelab/demo``)."""
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgelab" / "demo"
    checkout = _checkout()
    return [checkout / "build" / "demo", cache] if checkout else [cache]


def find() -> Path:
    """The first folder of :func:`search_path` holding built models; an EdgelabError whose
    message is one line saying how to build them when there is none."""
    folders = search_path()
    for folder in folders:
        if (folder / MANIFEST).is_file():
            return folder
    checkout = _checkout()
    in_checkout = checkout is not None and folders[0] == checkout / "build" / "demo"
    make = f" (or `make demo` in {checkout})" if in_checkout else ""
    raise EdgelabError(f"The demo models are not built yet: build them with "
                       f"`python -m edgelab.artifacts {folders[0]}`{make}; it takes about half a minute.")


def _saved_manifest(out: Path) -> dict:
    if not (out / MANIFEST).exists():
        raise EdgelabError(f"no demo models in {out}: build them with `python -m edgelab.artifacts {out}` "
                           "(or `make demo`)")
    return _read_manifest(out)


def available(out_dir: PathLike) -> Dict[str, str]:
    """The models saved in ``out_dir`` and their descriptions, without loading any."""
    models = _saved_manifest(Path(os.fspath(out_dir)))["models"]
    return {name: entry["description"] for name, entry in models.items()}


def load(out_dir: PathLike, names: Optional[Sequence[str]] = None) -> Dict[str, ModelArtifacts]:
    """Load the named models (default: all) that :func:`build` saved, checking each file
    against its hash."""
    out = Path(os.fspath(out_dir))
    saved = _saved_manifest(out)["models"]
    names = list(saved) if names is None else list(names)
    for name in names:
        if name not in saved:
            raise ValueError(f"names must be among the saved models ({', '.join(saved)}); got {name!r}")
    loaded = {}
    for name in names:
        entry = saved[name]
        variants = {v: ConvertedModel.load(out / f["file"], name=name, sha256=f["sha256"])
                    for v, f in entry["variants"].items()}
        data = np.load(out / entry["test"])
        loaded[name] = ModelArtifacts(name, entry["description"], variants, data["x_test"], data["y_test"],
                                      entry["keras_accuracy"])
    return loaded


def main(argv: list[str]) -> int:
    """``python -m edgelab.artifacts [OUT_DIR]``: build the demo models into OUT_DIR (default:
    the first folder of :func:`search_path`); ``--where``: print the folder the demos read."""
    if argv == ["--where"]:
        try:
            print(find())
        except EdgelabError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python -m edgelab.artifacts [OUT_DIR | --where]", file=sys.stderr)
        return 2
    print(f"wrote {build(argv[0] if argv else search_path()[0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
