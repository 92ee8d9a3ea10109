"""Small helpers for lessons 05-07 (cloud to edge, quantization, pruning).

* :func:`digits_model`: the digits CNN, loaded from a ``.keras`` file an earlier lesson saved
  (``digits.keras`` here or in lesson 05's folder) or trained now, so each lesson runs on its
  own (nbgrader autograde runs a lesson in a scratch copy of its folder).
* :func:`magnitude_prune` and :func:`pruning_stats`: magnitude pruning of one weight array,
  the reference for the hand-written exercise and the pruning explorer.
* :func:`tensor_rows`: the tensors of a ``.tflite`` model as rows a learner can read.

TensorFlow is imported only inside :func:`digits_model`.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

import numpy as np

from edgelab import _checks, datasets, quiet

DIGITS_FILES = ("digits.keras", "../05-cloud-to-edge/digits.keras")


def digits_model(search: Sequence[Union[str, os.PathLike]] = DIGITS_FILES, seed: int = 0,
                 epochs: int = 10) -> Any:
    """The trained digits CNN as a :class:`edgelab.models.TrainedModel`.

    Loads the first file of ``search`` that exists and holds a digits model (8x8x1 input, ten
    outputs); otherwise trains one with :func:`edgelab.models.train_digits_cnn` (``seed``,
    ``epochs``; from the user's cache if it was trained before). The data split is always
    ``datasets.load_digits(seed)``. ``train_seconds`` is 0 for a loaded file; ``history`` says
    where the model came from (``{"source": ...}``).
    """
    from edgelab import models

    seed = _checks.count("seed", seed, minimum=0, maximum=2**31 - 1)
    epochs = _checks.count("epochs", epochs, minimum=1, maximum=500)
    if isinstance(search, (str, os.PathLike)):
        raise ValueError("search must be a sequence of paths, e.g. ('digits.keras',); got a single path")
    for candidate in search:
        path = Path(os.fspath(candidate))
        if not path.is_file():
            continue
        keras = models.import_keras()
        try:
            with quiet.native_logs_silenced():
                model = keras.models.load_model(path)
        except Exception:  # a damaged or foreign file: train instead
            continue
        if tuple(model.inputs[0].shape[1:]) != datasets.DIGITS_SHAPE or model.outputs[0].shape[-1] != 10:
            continue
        data = datasets.load_digits(seed=seed)
        accuracy = models.keras_accuracy(model, data.x_test, data.y_test)
        return models.TrainedModel(model, data, accuracy, 0.0, 0, seed, {"source": str(path)})
    return models.train_digits_cnn(seed=seed, epochs=epochs)


def _weights(weights: Any) -> np.ndarray:
    arr = np.asarray(weights, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("weights is empty: there is nothing to prune")
    if not np.all(np.isfinite(arr)):
        raise ValueError("weights holds NaN or infinite values")
    return arr


def _sparsity(sparsity: Any) -> float:
    return _checks.number("sparsity", sparsity, minimum=0.0, maximum=1.0, max_inclusive=False)


def magnitude_prune(weights: Any, sparsity: float) -> np.ndarray:
    """A copy of ``weights`` with the ``round(sparsity * size)`` smallest magnitudes set to 0.

    Ties are broken by position (a stable sort), as :func:`edgelab.prune.magnitude_masks` does.
    """
    arr = _weights(weights)
    s = _sparsity(sparsity)
    n_zero = int(round(s * arr.size))
    flat = np.array(np.asarray(weights, dtype=np.float32)).reshape(-1)
    if n_zero:
        flat[np.argsort(np.abs(arr), axis=None, kind="stable")[:n_zero]] = 0.0
    return flat.reshape(arr.shape)


def pruning_stats(weights: Any, sparsity: float) -> Dict[str, float]:
    """Prune ``weights`` by magnitude and report what it costs and saves.

    Keys: sparsity (achieved fraction of zeros), threshold (largest magnitude removed),
    kept, relative_error (L2 norm of what was removed / L2 norm of the weights),
    float32_bytes, float32_compressed, int8_compressed (zlib level 9 of the weights stored
    as float32, and as symmetric int8 with one scale).
    """
    arr = _weights(weights)
    pruned = magnitude_prune(arr, sparsity).astype(np.float32)
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
            "float32_compressed": len(zlib.compress(pruned.tobytes(), 9)),
            "int8_compressed": len(zlib.compress(q.tobytes(), 9))}


def tensor_rows(model: Any) -> List[Dict[str, Any]]:
    """One row per tensor of a ``.tflite`` model (bytes or a :class:`~edgelab.convert.ConvertedModel`):
    index, name, dtype, shape, constant (holds weights), bytes, and quantization (scale count,
    first scale, first zero point)."""
    from edgelab.convert import ConvertedModel

    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(model)
    rows = []
    for t in converted.info.tensors:
        rows.append({"index": t.index, "name": t.name, "dtype": t.dtype, "shape": tuple(t.shape),
                     "constant": t.is_constant, "bytes": len(t.data or b""), "scales": len(t.scales),
                     "scale": t.scale, "zero_point": t.zero_point})
    return rows
