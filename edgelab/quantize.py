"""Affine quantization, written out so a learner can compare it with what TFLite does.

A real value ``r`` is stored as an integer ``q`` with a scale ``s`` and a zero point ``z``:

    q = clip(round(r / s) + z, qmin, qmax)        r ~ (q - z) * s

* **asymmetric** (activations in TFLite): ``[min(r), max(r)]`` (widened to include 0, so that
  0 is exact) maps onto ``[qmin, qmax]``; ``z`` is chosen so that ``r = 0`` maps to an integer.
* **symmetric** (weights in TFLite): ``z = 0`` and ``s = max|r| / qmax``; TFLite's int8
  weights use the narrow range ``[-127, 127]``.
* **per-tensor** uses one ``(s, z)`` for a whole tensor, **per-channel** one per output
  channel (TFLite: convolution and dense weights, along the output-channel axis).

:func:`compare_with_tflite` recomputes the weight scales of a converted model from the
Keras weights and the input scale from the calibration data, and shows they match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

BIT_WIDTHS = (2, 3, 4, 5, 6, 7, 8, 16)


def _range(bits: int, narrow: bool = False) -> Tuple[int, int]:
    if bits not in BIT_WIDTHS:
        raise ValueError(f"bits must be one of {BIT_WIDTHS}; got {bits!r}")
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (qmin + 1 if narrow else qmin), qmax


def _as_float(x: Any, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to quantize")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _reduce_axes(arr: np.ndarray, axis: Optional[int]) -> Optional[tuple]:
    if axis is None:
        return None
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis must be from {-arr.ndim} to {arr.ndim - 1} for a {arr.ndim}-D tensor; "
                         f"got {axis}")
    axis %= arr.ndim
    return tuple(i for i in range(arr.ndim) if i != axis)


def _broadcast(values: np.ndarray, arr: np.ndarray, axis: Optional[int]) -> np.ndarray:
    if axis is None or np.ndim(values) == 0:
        return values
    shape = [1] * arr.ndim
    shape[axis % arr.ndim] = -1
    return np.reshape(values, shape)


def quantization_params(x: Any, bits: int = 8, symmetric: bool = False, axis: Optional[int] = None,
                        narrow_range: Optional[bool] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Scale(s) and zero point(s) for ``x``: per-tensor (``axis=None``) or per-channel along ``axis``.

    ``narrow_range`` defaults to True for symmetric (TFLite's weights) and False otherwise.
    Returns float64 scales and int64 zero points (0-d arrays when per-tensor).
    """
    arr = _as_float(x)
    narrow = symmetric if narrow_range is None else narrow_range
    qmin, qmax = _range(bits, narrow)
    axes = _reduce_axes(arr, axis)
    if symmetric:
        bound = np.max(np.abs(arr), axis=axes)
        scale = bound / qmax
        zero = np.zeros_like(scale, dtype=np.int64)
    else:
        rmin = np.minimum(np.min(arr, axis=axes), 0.0)
        rmax = np.maximum(np.max(arr, axis=axes), 0.0)
        scale = (rmax - rmin) / (qmax - qmin)
        safe = np.where(scale > 0, scale, 1.0)
        zero = np.clip(np.round(qmin - rmin / safe), qmin, qmax).astype(np.int64)
    scale = np.where(scale > 0, scale, 1.0)  # an all-zero tensor: any scale is exact
    return np.asarray(scale, dtype=np.float64), np.asarray(zero, dtype=np.int64)


def quantize(x: Any, scale: Any, zero_point: Any, bits: int = 8, axis: Optional[int] = None,
             narrow_range: bool = False) -> np.ndarray:
    """``clip(round(x / scale) + zero_point)`` as int8 (int16 for 16 bits; lower widths in int8)."""
    arr = _as_float(x)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise ValueError("scale must be positive and finite")
    qmin, qmax = _range(bits, narrow_range)
    s = _broadcast(scale, arr, axis)
    z = _broadcast(np.asarray(zero_point), arr, axis)
    q = np.clip(np.round(arr / s) + z, qmin, qmax)
    return q.astype(np.int16 if bits == 16 else np.int8)


def dequantize(q: Any, scale: Any, zero_point: Any, axis: Optional[int] = None) -> np.ndarray:
    """``(q - zero_point) * scale`` as float32."""
    arr = np.asarray(q)
    s = _broadcast(np.asarray(scale, dtype=np.float64), arr, axis)
    z = _broadcast(np.asarray(zero_point), arr, axis)
    return ((arr.astype(np.float64) - z) * s).astype(np.float32)


@dataclass(frozen=True)
class QuantizationError:
    """How far a dequantized tensor is from the original."""

    max_abs: float
    mean_abs: float
    mse: float
    sqnr_db: float  # signal-to-quantization-noise ratio; ~6 dB per bit for a uniform signal


def fake_quantize(x: Any, bits: int = 8, symmetric: bool = False, axis: Optional[int] = None) -> np.ndarray:
    """Quantize then dequantize ``x``: what the model "sees" after quantization."""
    scale, zero = quantization_params(x, bits, symmetric, axis)
    q = quantize(x, scale, zero, bits, axis, narrow_range=symmetric)
    return dequantize(q, scale, zero, axis)


def quantization_error(x: Any, bits: int = 8, symmetric: bool = False,
                       axis: Optional[int] = None) -> QuantizationError:
    """Error of quantizing ``x`` with the given scheme (max, mean absolute, MSE, SQNR)."""
    arr = _as_float(x)
    diff = arr - fake_quantize(arr, bits, symmetric, axis).astype(np.float64)
    mse = float(np.mean(diff ** 2))
    signal = float(np.mean(arr ** 2))
    sqnr = float("inf") if mse == 0 else 10 * np.log10(signal / mse) if signal > 0 else float("-inf")
    return QuantizationError(float(np.max(np.abs(diff))), float(np.mean(np.abs(diff))), mse, float(sqnr))


@dataclass(frozen=True)
class ScaleComparison:
    """Scales computed here vs those TFLite stored for one tensor."""

    tensor: str
    ours: np.ndarray
    tflite: np.ndarray
    ours_zero_points: np.ndarray
    tflite_zero_points: np.ndarray

    @property
    def max_relative_difference(self) -> float:
        return float(np.max(np.abs(self.ours - self.tflite) / np.abs(self.tflite)))

    @property
    def zero_points_match(self) -> bool:
        return bool(np.array_equal(self.ours_zero_points, self.tflite_zero_points))


def keras_kernels(model: Any) -> Dict[str, np.ndarray]:
    """The kernel (first weight) of each Conv/Dense layer of a Keras model, by layer name."""
    kernels = {}
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and weights[0].ndim >= 2:
            kernels[layer.name] = np.asarray(weights[0])
    return kernels


def compare_with_tflite(converted: Any, kernels: Mapping[str, np.ndarray],
                        input_data: Optional[np.ndarray] = None) -> List[ScaleComparison]:
    """Recompute an int8 model's scales and compare them with the ones TFLite chose.

    ``kernels`` maps Keras layer names to their kernels (:func:`keras_kernels`); Keras puts
    output channels last, so the per-channel symmetric scales are taken along the last axis.
    ``input_data`` (the calibration data) gives the input's asymmetric per-tensor scale.
    """
    info = converted.info
    rows = []
    weight_tensors = [t for t in info.tensors if t.is_constant and t.dtype == "int8" and t.scales]
    for layer, kernel in kernels.items():
        matches = [t for t in weight_tensors if f"/{layer}_" in t.name or f"/{layer}/" in t.name]
        if not matches:
            continue
        t = matches[0]
        scale, zero = quantization_params(kernel, 8, symmetric=True, axis=-1)
        rows.append(ScaleComparison(t.name, np.atleast_1d(scale), np.asarray(t.scales, dtype=np.float64),
                                    np.atleast_1d(zero), np.asarray(t.zero_points, dtype=np.int64)))
    if input_data is not None:
        t = info.input_tensors()[0]
        if t.scales:
            scale, zero = quantization_params(input_data, 8, symmetric=False)
            rows.append(ScaleComparison(t.name, np.atleast_1d(scale), np.asarray(t.scales, dtype=np.float64),
                                        np.atleast_1d(zero), np.asarray(t.zero_points, dtype=np.int64)))
    if not rows:
        raise ValueError("no int8 weight tensor of the model matches a layer name in kernels; pass "
                         "keras_kernels(model) of the model that was converted to int8")
    return rows


def largest_weights(converted: Any) -> Tuple[str, np.ndarray]:
    """The name and float values of the biggest constant weight tensor of a converted model,
    dequantized the way the runtime reads it (int8: ``(q - zero_point) * scale`` per channel;
    float16: widened to float32)."""
    tensors = converted.info.weight_tensors()
    if not tensors:
        raise ValueError("converted has no constant weight tensors")
    tensor = max(tensors, key=lambda t: t.elements)
    values = tensor.values()
    if tensor.scales and np.issubdtype(values.dtype, np.integer):
        axis = tensor.quantized_dimension if len(tensor.scales) > 1 else None
        scale = np.asarray(tensor.scales) if axis is not None else tensor.scales[0]
        zero = np.asarray(tensor.zero_points) if axis is not None else tensor.zero_points[0]
        values = dequantize(values, scale, zero, axis=axis)
    return tensor.name, values.astype(np.float32)
