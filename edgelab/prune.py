"""Magnitude pruning on Keras 3 models, implemented here.

Why not ``tensorflow-model-optimization`` (tfmot)? Its pruning API wraps ``tf_keras``
(Keras 2) layers: given a Keras 3 model it raises ("can only prune ... Sequential"), and
installing it pulls ``tf_keras`` and downgrades ``absl-py`` in the course's environment.
Magnitude pruning itself is simple, so edgelab does it directly on Keras 3:

1. copy the model (the baseline is never modified; convert it before or after, as you like),
2. in every Conv/Dense kernel, zero the weights with the smallest magnitudes so that a
   fraction ``sparsity`` of each kernel is zero (per-layer threshold),
3. fine-tune for a few epochs, re-applying the masks after every training step so that
   pruned weights stay zero.

A pruned model is not smaller as a ``.tflite`` file (zeros are stored like any number), but
it *compresses* well: :func:`compressed_size` (zlib, as a zip or an OTA update would) shows
the gain, and combining pruning with int8 quantization multiplies the two.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from edgelab import _checks, datasets, quiet
from edgelab import cache as edgecache
from edgelab.models import compile_classifier, import_keras, keras_accuracy


def compressed_size(data: bytes, level: int = 9) -> int:
    """Bytes after zlib (deflate, as in gzip/zip) compression at ``level``."""
    if not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"level must be an integer from 0 to 9; got {level!r}")
    return len(zlib.compress(bytes(data), level))


def _prunable(model: Any) -> List[Any]:
    return [layer for layer in model.layers if getattr(layer, "kernel", None) is not None
            and len(layer.kernel.shape) >= 2]


def kernel_sparsity(model: Any) -> float:
    """Fraction of exactly-zero weights over all Conv/Dense kernels of a Keras model."""
    zeros = total = 0
    for layer in _prunable(model):
        k = np.asarray(layer.kernel.numpy())
        zeros += int(np.sum(k == 0))
        total += k.size
    return zeros / total if total else 0.0


def _weights(weights: Any) -> np.ndarray:
    arr = np.asarray(weights, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("weights is empty: there is nothing to prune")
    if not np.all(np.isfinite(arr)):
        raise ValueError("weights holds NaN or infinite values")
    return arr


def magnitude_mask(weights: Any, sparsity: float) -> np.ndarray:
    """True where a weight is kept: all but the ``round(sparsity * size)`` smallest magnitudes
    (ties broken by position, a stable sort). The one rule every pruning here follows."""
    arr = _weights(weights)
    s = _checks.number("sparsity", sparsity, minimum=0.0, maximum=1.0, max_inclusive=False)
    n_zero = int(round(s * arr.size))
    mask = np.ones(arr.size, dtype=bool)
    if n_zero:
        mask[np.argsort(np.abs(arr), axis=None, kind="stable")[:n_zero]] = False
    return mask.reshape(arr.shape)


def magnitude_prune(weights: Any, sparsity: float) -> np.ndarray:
    """A float32 copy of ``weights`` with the :func:`magnitude_mask` zeros applied."""
    mask = magnitude_mask(weights, sparsity)
    return np.where(mask, np.asarray(weights, dtype=np.float32), np.float32(0.0))


def pruning_stats(weights: Any, sparsity: float) -> Dict[str, float]:
    """Prune ``weights`` by magnitude and report what it costs and saves.

    Keys: sparsity (achieved fraction of zeros), threshold (largest magnitude removed),
    kept, relative_error (L2 norm of what was removed / L2 norm of the weights),
    float32_bytes, float32_compressed, int8_compressed (zlib level 9 of the weights stored
    as float32, and as symmetric int8 with one scale).
    """
    arr = _weights(weights)
    pruned = magnitude_prune(arr, sparsity)
    removed = arr[pruned == 0]
    norm = float(np.linalg.norm(arr))
    diff = float(np.linalg.norm(arr - pruned.astype(np.float64)))
    bound = float(np.max(np.abs(arr)))
    scale = bound / 127 if bound > 0 else 1.0
    q = np.clip(np.round(pruned / scale), -127, 127).astype(np.int8)
    return {"sparsity": float(np.mean(pruned == 0)),
            "threshold": float(np.max(np.abs(removed))) if removed.size else 0.0,
            "kept": int(np.count_nonzero(pruned)),
            "relative_error": diff / norm if norm > 0 else 0.0,
            "float32_bytes": int(pruned.nbytes),
            "float32_compressed": compressed_size(pruned.tobytes()),
            "int8_compressed": compressed_size(q.tobytes())}


def magnitude_masks(model: Any, sparsity: float) -> Dict[str, np.ndarray]:
    """Per-layer masks keeping the largest-magnitude (1 - sparsity) of each kernel's weights
    (:func:`magnitude_mask` of each Conv/Dense kernel)."""
    return {layer.name: magnitude_mask(layer.kernel.numpy(), sparsity) for layer in _prunable(model)}


def _apply(model: Any, masks: Dict[str, np.ndarray]) -> None:
    for layer in _prunable(model):
        if layer.name in masks:
            layer.kernel.assign(layer.kernel.numpy() * masks[layer.name])


@dataclass
class PrunedModel:
    """A pruned copy of a Keras model, with its masks and accuracy."""

    model: Any = field(repr=False)
    target_sparsity: float
    sparsity: float
    test_accuracy: float
    masks: Dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def prune(model: Any, data: datasets.Split, sparsity: float, fine_tune_epochs: int = 2,
          learning_rate: float = 1e-3, seed: int = 0, cache: bool = True) -> PrunedModel:
    """Prune a COPY of ``model`` to ``sparsity`` (0 <= s < 1) and fine-tune it on ``data``.

    Deterministic, so the pruned model is kept in the user's cache (:mod:`edgelab.cache`),
    keyed by the model's architecture and weights, the data, every argument and the code;
    ``cache=False`` prunes regardless.
    """
    if not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be a fraction from 0 to below 1 (e.g. 0.8); got {sparsity!r}")
    if not isinstance(fine_tune_epochs, int) or not 0 <= fine_tune_epochs <= 100:
        raise ValueError(f"fine_tune_epochs must be an integer from 0 to 100; got {fine_tune_epochs!r}")
    if not _prunable(model):
        raise ValueError("model has no Conv or Dense kernel to prune")
    keras = import_keras(seed)
    masks = magnitude_masks(model, float(sparsity))
    entry = None
    if cache:
        entry = edgecache.key("pruned", model=edgecache.keras_fingerprint(model), sparsity=float(sparsity),
                              fine_tune_epochs=fine_tune_epochs, learning_rate=float(learning_rate),
                              seed=seed, code=edgecache.source_hash("prune", "models"),
                              data=edgecache.array_hash(data.x_train, data.y_train, data.x_test, data.y_test))
        with quiet.native_logs_silenced():
            found = edgecache.load_keras("pruned", entry)
        if found is not None and isinstance(found[1].get("test_accuracy"), float):
            pruned, meta = found
            return PrunedModel(pruned, float(sparsity), kernel_sparsity(pruned), meta["test_accuracy"], masks)
    with quiet.native_logs_silenced():
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        _apply(copy, masks)
        if fine_tune_epochs:

            class KeepPruned(keras.callbacks.Callback):
                def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
                    _apply(copy, masks)

            compile_classifier(copy, learning_rate)  # one step per execution: masks after every step
            copy.fit(data.x_train, data.y_train, epochs=fine_tune_epochs, batch_size=32, verbose=0,
                     shuffle=True, callbacks=[KeepPruned()])
            _apply(copy, masks)
    accuracy = keras_accuracy(copy, data.x_test, data.y_test)
    if entry is not None:
        with quiet.native_logs_silenced():
            edgecache.store_keras("pruned", entry, copy, {"test_accuracy": accuracy})
    return PrunedModel(copy, float(sparsity), kernel_sparsity(copy), accuracy, masks)


def sparsity_curve(model: Any, data: datasets.Split, sparsities: Sequence[float] = (0.0, 0.5, 0.8, 0.9),
                   fine_tune_epochs: int = 2, int8: bool = True, progress: bool = False,
                   cache: bool = True) -> List[dict]:
    """Accuracy and size against sparsity: one row per sparsity, baseline untouched (pruned and
    converted models come from the user's cache when they were made before; ``cache=False``).

    Each row: sparsity, Keras accuracy, float32 ``.tflite`` size and compressed size, and with
    ``int8`` the same for the full-int8 variant plus its accuracy through LiteRT.
    """
    from edgelab import convert

    if len(sparsities) == 0:
        raise ValueError("sparsities must hold at least one fraction")
    rep = datasets.representative_samples(data.x_train, 100)
    iterator: Any = sparsities
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(sparsities, desc="pruning", unit="sparsity")
    rows = []
    for s in iterator:
        pruned = prune(model, data, s, fine_tune_epochs, cache=cache)
        f32 = convert.convert(pruned.model, "float32", name=f"pruned_{s:.2f}", cache=cache)
        row = {"sparsity": pruned.sparsity, "keras_accuracy": pruned.test_accuracy,
               "float32_bytes": f32.size_bytes, "float32_compressed": compressed_size(f32.data)}
        if int8:
            q = convert.convert(pruned.model, "int8", rep, name=f"pruned_{s:.2f}", cache=cache)
            row.update(int8_bytes=q.size_bytes, int8_compressed=compressed_size(q.data),
                       int8_accuracy=q.evaluate(data.x_test, data.y_test))
        rows.append(row)
    return rows
