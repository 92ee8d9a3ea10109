"""A per-user cache of results that are slow to compute and fully determined by their inputs.

Training the digits CNN, pruning it and converting it are deterministic: the same seed,
code and library versions give the same weights and the same ``.tflite`` bytes (checked in
separate processes). So a notebook that is run again (nbgrader's Validate runs the whole
notebook in a fresh kernel every time) can reuse them: the cache changes speed, not results.

* Where: ``$XDG_CACHE_HOME/edgelab/<kind>/`` (default ``~/.cache/edgelab/<kind>/``): the
  user's own cache. Nothing is shared between users; the grader gives every sandbox its own
  HOME, so a student can never plant an entry another student's grading reads.
* Key: a sha256 of everything that determines the result (:func:`key`): the parameters, the
  source of the edgelab modules that compute it (:func:`source_hash`) and the versions of
  Python, TensorFlow, Keras, NumPy and scikit-learn (:func:`versions`).
* Entries are written atomically (a temporary file, then a rename) and verified on load
  (magic line, key, size and sha256 of the payload). A missing, damaged or unreadable entry
  is simply recomputed, never an error; a cache folder that cannot be written is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

MAGIC = b"edgelab-cache 1\n"
MAX_ENTRIES = 64  # per kind; the least recently used go first
MAX_BYTES = 512 * 2**20  # per kind (a MobileNetV2 float32 model is 14 MB, the digits CNN 0.2 MB)
_VERSIONED = ("tensorflow", "keras", "numpy", "scikit-learn", "ai-edge-litert")
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The user's edgelab cache folder: ``$XDG_CACHE_HOME/edgelab`` or ``~/.cache/edgelab``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgelab"


def versions() -> Dict[str, str]:
    """Python, the machine and the libraries whose versions can change a trained or converted model."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)  # package metadata does not change while a process runs
def _versions() -> Tuple[Tuple[str, str], ...]:
    found = [("python", platform.python_version()), ("machine", platform.machine())]
    for dist in _VERSIONED:
        try:
            found.append((dist, importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            found.append((dist, "absent"))
    return tuple(found)


def source_hash(*modules: str) -> str:
    """sha256 of the source files of edgelab ``modules`` (e.g. ``"models", "datasets"``)."""
    digest = hashlib.sha256()
    for name in modules:
        path = _PACKAGE / (name.replace(".", "/") + ".py")
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def key(kind: str, **parts: Any) -> str:
    """A cache key: sha256 of ``kind``, ``parts`` (JSON-serialisable) and :func:`versions`."""
    text = json.dumps({"kind": kind, "parts": parts, "versions": versions()}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def array_hash(*arrays: Any) -> str:
    """sha256 of numpy arrays: dtype, shape and bytes of each."""
    import numpy as np

    digest = hashlib.sha256()
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode() + arr.tobytes())
    return digest.hexdigest()


def keras_fingerprint(model: Any) -> str:
    """sha256 of a Keras model's architecture (its JSON config) and all its weights."""
    import numpy as np

    return hashlib.sha256(model.to_json().encode() + b"\0"
                          + array_hash(*(np.asarray(w) for w in model.get_weights())).encode()).hexdigest()


def _path(kind: str, entry: str) -> Path:
    if not kind.isidentifier() or len(entry) != 64 or not all(c in "0123456789abcdef" for c in entry):
        raise ValueError(f"kind must be an identifier and entry a sha256 hex key; got {kind!r}, {entry!r}")
    return cache_dir() / kind / f"{entry}.bin"


def read(kind: str, entry: str) -> Optional[Tuple[bytes, Dict[str, Any]]]:
    """The payload and metadata stored under ``entry``, or None if absent or damaged
    (a damaged file is removed)."""
    path = _path(kind, entry)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        if not blob.startswith(MAGIC):
            raise ValueError("no magic line")
        header_end = blob.index(b"\n", len(MAGIC))
        header = json.loads(blob[len(MAGIC):header_end])
        payload = blob[header_end + 1:]
        if (header.get("key") != entry or header.get("size") != len(payload)
                or header.get("sha256") != hashlib.sha256(payload).hexdigest()):
            raise ValueError("key, size or sha256 differs")
        meta = header.get("meta", {})
        if not isinstance(meta, dict):
            raise ValueError("metadata is not a mapping")
    except (ValueError, TypeError, AttributeError):  # json errors are ValueErrors
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when the folder is trimmed
    return payload, meta


def write(kind: str, entry: str, payload: bytes, meta: Optional[Dict[str, Any]] = None) -> Optional[Path]:
    """Store ``payload`` (and JSON-serialisable ``meta``) under ``entry``, atomically.
    Returns the file, or None if the cache folder cannot be written (nothing is raised)."""
    path = _path(kind, entry)
    header = json.dumps({"key": entry, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(),
                         "meta": meta or {}}, sort_keys=True).encode()
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
            tmp_name = tmp.name
            tmp.write(MAGIC + header + b"\n" + payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except OSError:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        return None
    _trim(path.parent, MAX_ENTRIES, MAX_BYTES)
    return path


def _trim(folder: Path, keep: int, max_bytes: int) -> None:
    """Delete the least recently used entries beyond ``keep`` entries or ``max_bytes`` in total
    (the newest entry always stays)."""
    try:
        entries = sorted(((p, p.stat()) for p in folder.glob("*.bin")), key=lambda e: e[1].st_mtime,
                         reverse=True)
    except OSError:
        return
    with contextlib.suppress(OSError):
        for stale in folder.glob(".tmp-*"):  # left by a process killed while writing
            if time.time() - stale.stat().st_mtime > 3600:
                stale.unlink()
    total = 0
    for i, (path, stat) in enumerate(entries):
        total += stat.st_size
        if i > 0 and (i >= keep or total > max_bytes):
            with contextlib.suppress(OSError):
                path.unlink()


def store_keras(kind: str, entry: str, model: Any, meta: Optional[Dict[str, Any]] = None) -> Optional[Path]:
    """Store a Keras model (its ``.keras`` file: architecture, weights, optimizer state); None
    if it cannot be saved or stored (nothing is raised)."""
    try:
        with tempfile.TemporaryDirectory(prefix="edgelab-cache-") as tmp:
            file = Path(tmp) / "model.keras"
            model.save(file)
            payload = file.read_bytes()
    except Exception:  # a model Keras cannot save, or no room for a temporary file
        return None
    return write(kind, entry, payload, meta)


def load_keras(kind: str, entry: str) -> Optional[Tuple[Any, Dict[str, Any]]]:
    """The Keras model stored under ``entry`` and its metadata, or None (absent, damaged, or
    not loadable by this Keras)."""
    found = read(kind, entry)
    if found is None:
        return None
    payload, meta = found
    import keras

    try:
        with tempfile.TemporaryDirectory(prefix="edgelab-cache-") as tmp:
            file = Path(tmp) / "model.keras"
            file.write_bytes(payload)
            model = keras.models.load_model(file)  # safe_mode: no code is deserialised
    except Exception:  # an entry this Keras cannot load, or no room for a temporary file
        return None
    return model, meta
