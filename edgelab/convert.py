"""Convert a Keras model to TFLite, four ways, and describe the result.

Variants (``VARIANTS``), as in TensorFlow's post-training quantization guide:

* ``"float32"``: no optimization; the reference.
* ``"dynamic"``: dynamic-range quantization: weights stored as int8, activations float.
* ``"float16"``: weights stored as float16 (dequantized to float32 when the model loads).
* ``"int8"``: full-integer quantization with int8 inputs and outputs, calibrated on a
  representative dataset that must be preprocessed exactly as at inference (pass the
  preprocessed training inputs: ``datasets.representative_samples(split.x_train)``).
  This is what an Edge TPU or a microcontroller needs.

Keras 3 on TensorFlow 2.21: ``TFLiteConverter.from_keras_model`` works for the course's
models (internally it exports a SavedModel). Where it fails (some subclassed or
multi-signature Keras 3 models), the converter falls back to ``model.export()`` +
``TFLiteConverter.from_saved_model``. :attr:`ConvertedModel.converter_path` says which ran.

TensorFlow is imported inside :func:`convert`; :class:`ConvertedModel` itself needs only
numpy and LiteRT, so converted models can be inspected and run without TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from edgelab import cache as edgecache
from edgelab import evaluate, quiet
from edgelab.errors import ConversionError, ModelError
from edgelab.flatbuffer import ModelInfo, parse_model
from edgelab.runtime import check_tflite_bytes, read_model_bytes
from edgelab.stats import ModelStats

VARIANTS = ("float32", "dynamic", "float16", "int8")
CONVERTER_PATHS = ("auto", "keras", "saved_model")


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of a converted model, with its quantization."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale > 0


@dataclass(frozen=True)
class ConvertedModel:
    """A ``.tflite`` model: its bytes and what they hold.

    Build one with :func:`convert`, :meth:`from_bytes` or :meth:`load`.
    """

    data: bytes = field(repr=False)
    name: str = "model"
    variant: str = "unknown"
    converter_path: str = "unknown"
    info: ModelInfo = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.info is None:
            object.__setattr__(self, "info", parse_model(self.data, f"model {self.name!r}"))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "model", variant: str = "unknown") -> ConvertedModel:
        """Wrap ``.tflite`` bytes; a corrupt model raises :class:`ModelError`."""
        data = bytes(data)
        check_tflite_bytes(data, f"model {name!r}")
        return cls(data=data, name=name, variant=variant)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], name: Optional[str] = None,
             sha256: Optional[str] = None) -> ConvertedModel:
        """Read a ``.tflite`` file; with ``sha256``, refuse a file whose hash differs."""
        data, label = read_model_bytes(path)
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
            raise ModelError(f"{label} does not match its expected sha256 (it was changed or damaged "
                             "in transit). Copy the model again.")
        stem = Path(os.fspath(path)).stem
        variant = _variant_from_name(stem)
        default_name = stem[: -len(variant) - 1] if variant != "unknown" else stem
        return cls(data=data, name=name or default_name, variant=variant)

    def save(self, path: Union[str, os.PathLike]) -> Path:
        """Write the ``.tflite`` bytes to ``path`` (a directory gets ``<name>_<variant>.tflite``)."""
        target = Path(os.fspath(path))
        if target.is_dir():
            target = target / f"{self.name}_{self.variant}.tflite"
        target.write_bytes(self.data)
        return target

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def _spec(self, indices: Sequence[int]) -> List[TensorSpec]:
        return [TensorSpec(t.name, t.dtype, t.shape, t.scale, t.zero_point)
                for t in (self.info.tensors[i] for i in indices)]

    @property
    def inputs(self) -> List[TensorSpec]:
        return self._spec(self.info.inputs)

    @property
    def outputs(self) -> List[TensorSpec]:
        return self._spec(self.info.outputs)

    @property
    def ops(self) -> Dict[str, int]:
        """Each builtin op the model uses, with the highest version it needs."""
        return dict(self.info.op_versions)

    @property
    def params(self) -> int:
        return self.info.param_count()

    @property
    def macs(self) -> int:
        return self.info.mac_count()

    def stats(self) -> ModelStats:
        """The model as the latency estimator sees it."""
        return ModelStats(name=f"{self.name} ({self.variant})", macs=self.macs, params=self.params,
                          weight_bytes=self.info.weight_bytes(), precision=self.info.precision(),
                          activation_bytes=self.info.activation_bytes(), file_bytes=self.size_bytes)

    def interpreter(self, num_threads: Optional[int] = None) -> Any:
        """A LiteRT interpreter for this model (an :class:`edgelab.runtime.LoadedModel`)."""
        from edgelab.runtime import load_interpreter

        return load_interpreter(self.data, num_threads=num_threads)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Float outputs for preprocessed float inputs (int8 quantization handled)."""
        return evaluate.predict(self, x)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float:
        """Top-1 accuracy through LiteRT on preprocessed inputs and integer labels."""
        return evaluate.accuracy(self, x, y)

    def summary(self) -> str:
        """A few lines a learner can read: size, hash, I/O with quantization, ops."""
        lines = [f"{self.name} ({self.variant}): {self.size_bytes:,} bytes, sha256 {self.sha256[:12]}…, "
                 f"{self.params:,} parameters, {self.macs:,} MACs"]
        for kind, specs in (("input", self.inputs), ("output", self.outputs)):
            for s in specs:
                quant = f", scale {s.scale:.6g}, zero point {s.zero_point}" if s.quantized else ""
                lines.append(f"  {kind} {s.name}: {s.dtype} {list(s.shape)}{quant}")
        lines.append("  ops: " + ", ".join(f"{k} v{v}" for k, v in self.ops.items()))
        return "\n".join(lines)


def _variant_from_name(stem: str) -> str:
    for variant in VARIANTS:
        if stem.endswith("_" + variant):
            return variant
    return "unknown"


def check_representative_data(model: Any, data: Any) -> np.ndarray:
    """Validate calibration data against a Keras model's input; return it as float32.

    It must be a non-empty numeric array of shape ``(n, *input_shape)`` holding inputs
    preprocessed exactly as at inference (floats, not raw integer pixels).
    """
    shape = _input_shape(model)
    expected = "(n, " + ", ".join("?" if d is None else str(d) for d in shape) + ")"
    if data is None:
        raise ValueError("representative_data is required for the int8 variant: pass preprocessed "
                         f"training inputs of shape {expected}")
    try:
        arr = np.asarray(data)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"representative_data must be an array of shape {expected}: {exc}") from None
    if arr.size == 0 or arr.ndim == 0 or len(arr) == 0:
        raise ValueError(f"representative_data is empty: int8 calibration needs at least one sample "
                         f"of shape {expected} (100-500 are typical)")
    if arr.dtype.kind != "f":
        raise ValueError(f"representative_data must hold floats preprocessed as at inference (the "
                         f"model's input is float32); got dtype {arr.dtype}. Apply the same "
                         "preprocessing as for training, e.g. datasets.preprocess_digits.")
    if arr.ndim != len(shape) + 1 or any(d is not None and d != a for d, a in zip(shape, arr.shape[1:])):
        raise ValueError(f"representative_data must have shape {expected}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("representative_data holds NaN or infinite values")
    return arr.astype(np.float32)


def _input_shape(model: Any) -> Tuple[Optional[int], ...]:
    inputs = getattr(model, "inputs", None)
    try:
        count = len(inputs) if inputs is not None else 0
    except TypeError:
        count = 0
    if count == 0:
        raise ValueError("model has no inputs: build it first (give it a keras.Input, or call it on "
                         "data once) so its input shape is known")
    if count != 1:
        raise ValueError(f"model must have exactly one input for edgelab's converter; it has {count}")
    return tuple(inputs[0].shape[1:])


def _configure(converter: Any, tf: Any, variant: str, rep: Optional[np.ndarray]) -> None:
    if variant == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        samples = rep

        def representative_dataset():  # one preprocessed sample per calibration step
            for i in range(len(samples)):
                yield [samples[i:i + 1]]

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8


def _run_converter(make: Any, tf: Any, variant: str, rep: Optional[np.ndarray]) -> bytes:
    converter = make()
    _configure(converter, tf, variant, rep)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Keras' export prints its endpoints; TF warns about input statistics that full-int8
        # conversion computes itself from the representative dataset.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return bytes(converter.convert())


def convert(model: Any, variant: str = "float32", representative_data: Any = None,
            name: Optional[str] = None, path: str = "auto", cache: bool = True) -> ConvertedModel:
    """Convert a Keras model to one TFLite ``variant`` (see :data:`VARIANTS`).

    ``representative_data`` (int8 only) is preprocessed training inputs, shape
    ``(n, *input_shape)``. ``path`` is ``"auto"`` (``from_keras_model``, falling back to
    ``export`` + ``from_saved_model``), ``"keras"`` or ``"saved_model"``. The converter is
    deterministic, so the bytes are kept in the user's cache (:mod:`edgelab.cache`), keyed by
    the model's architecture and weights, the variant, the calibration data and the versions;
    ``cache=False`` converts regardless.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    if path not in CONVERTER_PATHS:
        raise ValueError(f"path must be one of {', '.join(CONVERTER_PATHS)}; got {path!r}")
    _input_shape(model)
    rep = check_representative_data(model, representative_data) if variant == "int8" else None
    if variant != "int8" and representative_data is not None:
        raise ValueError(f"representative_data is only used by the int8 variant, not {variant!r}")
    name = name or getattr(model, "name", None) or "model"
    entry = _cache_entry(model, variant, rep, path) if cache else None
    if entry is not None:
        found = edgecache.read("converted", entry)
        if found is not None:
            data, meta = found
            with contextlib.suppress(ModelError):
                return ConvertedModel(data=data, name=name, variant=variant,
                                      converter_path=str(meta.get("converter_path", "unknown")))
    with quiet.native_logs_silenced():  # the converter logs from C++ ("fully_quantize: 0, ...")
        data, converter_path = _convert(model, variant, rep, name, path)
    converted = ConvertedModel(data=data, name=name, variant=variant, converter_path=converter_path)
    if entry is not None:
        edgecache.write("converted", entry, data, {"converter_path": converter_path})
    return converted


def _cache_entry(model: Any, variant: str, rep: Optional[np.ndarray], path: str) -> Optional[str]:
    """The cache key of a conversion, or None for a model Keras cannot describe (not cached)."""
    try:
        fingerprint = edgecache.keras_fingerprint(model)
    except Exception:  # e.g. a subclassed model without get_config
        return None
    return edgecache.key("converted", model=fingerprint, variant=variant, path=path,
                         representative=None if rep is None else edgecache.array_hash(rep),
                         code=edgecache.source_hash("convert"))


def _convert(model: Any, variant: str, rep: Optional[np.ndarray], name: str, path: str) -> Tuple[bytes, str]:
    """The ``.tflite`` bytes and the converter path that made them."""
    tf = quiet.import_tensorflow()
    errors = []
    if path in ("auto", "keras"):
        try:
            data = _run_converter(lambda: tf.lite.TFLiteConverter.from_keras_model(model), tf, variant, rep)
            return data, "from_keras_model"
        except Exception as exc:  # the converter raises many types; we retry, then report them
            errors.append(f"from_keras_model: {type(exc).__name__}: {str(exc).strip()[:300]}")
    with tempfile.TemporaryDirectory(prefix="edgelab_export_") as tmp:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model.export(tmp, format="tf_saved_model")
            data = _run_converter(lambda: tf.lite.TFLiteConverter.from_saved_model(tmp), tf, variant, rep)
            return data, "export+from_saved_model"
        except Exception as exc:
            errors.append(f"export+from_saved_model: {type(exc).__name__}: {str(exc).strip()[:300]}")
    raise ConversionError(f"could not convert {name!r} to the {variant} variant: " + " | ".join(errors))


def convert_all(model: Any, representative_data: Any, name: Optional[str] = None,
                variants: Sequence[str] = VARIANTS, progress: bool = False,
                cache: bool = True) -> Dict[str, ConvertedModel]:
    """Convert a Keras model to each of ``variants`` (all four by default; cached like :func:`convert`)."""
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"variants must be chosen from {', '.join(VARIANTS)}; got {v!r}")
    iterator: Any = variants
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(variants, desc="converting", unit="variant")
    return {v: convert(model, v, representative_data if v == "int8" else None, name, cache=cache)
            for v in iterator}


def tensor_rows(model: Any) -> List[Dict[str, Any]]:
    """One row per tensor of a ``.tflite`` model (bytes or a :class:`~edgelab.convert.ConvertedModel`):
    index, name, dtype, shape, constant (holds weights), bytes, and quantization (scale count,
    first scale, first zero point)."""
    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(model)
    rows = []
    for t in converted.info.tensors:
        rows.append({"index": t.index, "name": t.name, "dtype": t.dtype, "shape": tuple(t.shape),
                     "constant": t.is_constant, "bytes": len(t.data or b""), "scales": len(t.scales),
                     "scale": t.scale, "zero_point": t.zero_point})
    return rows
