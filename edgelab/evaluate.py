"""Run a ``.tflite`` model on a batch through LiteRT, with int8 input/output handled right.

A fully integer model takes int8 inputs and gives int8 outputs. Float inputs are quantized
with the input tensor's own scale and zero point (``q = round(x / scale) + zero_point``,
clipped to the type's range) and outputs dequantized (``x = (q - zero_point) * scale``), so
the numbers compare with the float model's.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from edgelab.errors import ModelError


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float data to what an input tensor expects (quantized if the tensor is integer)."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return np.asarray(x, dtype=dtype)
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if not scale:
        return np.asarray(x).astype(dtype)
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize_output(y: np.ndarray, detail: dict) -> np.ndarray:
    """An output tensor's values as float32 (dequantized if the tensor is integer)."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if np.dtype(detail["dtype"]).kind in "iu" and scale:
        return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return y.astype(np.float32)


def predict(model: Any, x: np.ndarray, num_threads: Optional[int] = None,
            reference_kernels: bool = False) -> np.ndarray:
    """Outputs (float32, one row per sample) of a model on preprocessed float inputs ``x``.

    ``model`` is a path, the model's bytes, a :class:`~edgelab.convert.ConvertedModel` or an
    already loaded :class:`~edgelab.runtime.LoadedModel`. Samples run one at a time through
    the model's batch-1 signature. ``reference_kernels``: TFLite's reference kernels (the same
    integer results on every CPU; see :func:`edgelab.runtime.load_interpreter`).
    """
    from edgelab.runtime import LoadedModel, load_interpreter

    if isinstance(model, LoadedModel):
        loaded = model
    else:
        source = getattr(model, "data", model)
        loaded = load_interpreter(source, num_threads=num_threads, reference_kernels=reference_kernels)
    it = loaded.interpreter
    inputs, outputs = loaded.input_details, loaded.output_details
    if len(inputs) != 1 or len(outputs) < 1:
        raise ModelError(f"{loaded.source} has {len(inputs)} inputs and {len(outputs)} outputs; "
                         "predict() needs exactly one input and at least one output")
    detail, out = inputs[0], outputs[0]
    expected = tuple(int(d) for d in detail["shape"][1:])
    x = np.asarray(x)
    if x.ndim == 0 or tuple(x.shape[1:]) != expected or len(x) == 0:
        raise ValueError(f"x must have shape (n, {', '.join(map(str, expected))}) with n >= 1 "
                         f"(preprocessed like the training data); got {x.shape}")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"x must hold numbers (float32 preprocessed data); got dtype {x.dtype}")
    q = quantize_input(x, detail)
    results = []
    try:
        for i in range(len(q)):
            it.set_tensor(detail["index"], q[i:i + 1])
            it.invoke()
            results.append(dequantize_output(it.get_tensor(out["index"]), out)[0])
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"{loaded.source} failed to run: {str(exc).strip()[:300]}") from None
    return np.stack(results)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray, num_threads: Optional[int] = None) -> float:
    """Top-1 accuracy of a classifier model on preprocessed inputs ``x`` and integer labels ``y``."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(np.asarray(x)):
        raise ValueError(f"y must be a 1-D array of labels, one per sample of x ({len(np.asarray(x))}); "
                         f"got shape {y.shape}")
    scores = predict(model, x, num_threads)
    return float(np.mean(np.argmax(scores, axis=-1) == y))
