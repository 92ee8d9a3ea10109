"""Read a ``.tflite`` file's structure: operators with versions, tensors, quantization.

A ``.tflite`` model is a FlatBuffer in TFLite's schema (``schema.fbs``). LiteRT ships the
Python classes generated from that schema (``ai_edge_litert.schema_py_generated``, which
needs the ``flatbuffers`` package); this module reads a model with them, checks that its
parts refer to each other consistently (so a corrupted file is refused *before* it
reaches the C++ runtime), and counts parameters and multiply-accumulates.

Every problem becomes a :class:`~edgelab.errors.ModelError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from edgelab.errors import ModelError, RuntimeMissingError

# TFLite TensorType -> (name, numpy dtype or None, bytes per element or None).
TENSOR_TYPES: Dict[int, Tuple[str, Optional[str], Optional[float]]] = {
    0: ("float32", "float32", 4), 1: ("float16", "float16", 2), 2: ("int32", "int32", 4),
    3: ("uint8", "uint8", 1), 4: ("int64", "int64", 8), 5: ("string", None, None),
    6: ("bool", "bool", 1), 7: ("int16", "int16", 2), 8: ("complex64", "complex64", 8),
    9: ("int8", "int8", 1), 10: ("float64", "float64", 8), 11: ("complex128", "complex128", 16),
    12: ("uint64", "uint64", 8), 13: ("resource", None, None), 14: ("variant", None, None),
    15: ("uint32", "uint32", 4), 16: ("uint16", "uint16", 2), 17: ("int4", None, 0.5),
    18: ("bfloat16", None, 2),
}
WEIGHT_TYPES = ("float32", "float16", "int8", "uint8", "int16", "int4", "bfloat16")
# Ops whose input 1 is a weight tensor and input 2 (if any) a bias.
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D")
MAX_TENSOR_ELEMENTS = 2**40


def schema() -> Any:
    """LiteRT's generated flatbuffer schema module (``ai_edge_litert.schema_py_generated``):
    the .tflite format's tables and enums. Raises RuntimeMissingError without LiteRT."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError as exc:
        raise RuntimeMissingError(
            "reading a .tflite file's structure needs LiteRT's schema: `pip install ai-edge-litert` "
            f"({exc})") from None
    return schema_py_generated


_OP_NAMES: Dict[int, str] = {}


def op_name(code: int) -> str:
    """The BuiltinOperator name of an op code (``"CONV_2D"`` for 3), ``"UNKNOWN_<n>"`` otherwise."""
    if not _OP_NAMES:
        ops = schema().BuiltinOperator
        _OP_NAMES.update({v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)})
    return _OP_NAMES.get(code, f"UNKNOWN_{code}")


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the main subgraph."""

    index: int
    name: str
    dtype: str
    shape: Tuple[int, ...]
    scales: Tuple[float, ...] = ()
    zero_points: Tuple[int, ...] = ()
    quantized_dimension: int = 0
    data: Optional[bytes] = field(default=None, repr=False)

    @property
    def is_constant(self) -> bool:
        return self.data is not None and len(self.data) > 0

    @property
    def elements(self) -> int:
        return int(np.prod([max(d, 1) for d in self.shape], dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        size = TENSOR_TYPES.get(_TYPE_CODES.get(self.dtype, -1), ("", None, None))[2]
        return int(self.elements * size) if size else 0

    @property
    def scale(self) -> float:
        """The per-tensor scale (the first one if per-channel), 0.0 if not quantized."""
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    def values(self) -> np.ndarray:
        """The constant data as a numpy array of the tensor's shape."""
        np_dtype = TENSOR_TYPES[_TYPE_CODES[self.dtype]][1]
        if self.data is None or np_dtype is None:
            raise ModelError(f"tensor {self.name!r} has no constant data of a numpy type")
        return np.frombuffer(self.data, dtype=np_dtype).reshape(self.shape)


_TYPE_CODES = {name: code for code, (name, _, _) in TENSOR_TYPES.items()}


@dataclass(frozen=True)
class OpInfo:
    """One operator: its builtin name, its op version, input and output tensor indices."""

    name: str
    version: int
    inputs: Tuple[int, ...]
    outputs: Tuple[int, ...]


@dataclass(frozen=True)
class ModelInfo:
    """What a ``.tflite`` file holds (main subgraph), read without running it."""

    schema_version: int
    tensors: Tuple[TensorInfo, ...]
    operators: Tuple[OpInfo, ...]
    inputs: Tuple[int, ...]
    outputs: Tuple[int, ...]
    op_versions: Dict[str, int]
    subgraph_count: int
    min_runtime_version: Optional[str] = None

    def input_tensors(self) -> List[TensorInfo]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> List[TensorInfo]:
        return [self.tensors[i] for i in self.outputs]

    def weight_tensors(self) -> List[TensorInfo]:
        """Constant tensors that hold parameters (weights and biases, not shapes or indices)."""
        biases = {op.inputs[2] for op in self.operators if op.name in WEIGHTED_OPS and len(op.inputs) > 2}
        out = []
        for t in self.tensors:
            if t.is_constant and (t.dtype in WEIGHT_TYPES or t.index in biases):
                out.append(t)
        return out

    def param_count(self) -> int:
        """Number of parameters: elements of the distinct weight and bias constants (a constant
        the converter deduplicated, e.g. identical all-zero biases, counts once).

        A float16 model's DEQUANTIZE outputs are not constants, so each weight counts once."""
        return int(sum(t.elements for t in self.weight_tensors()))

    def weight_bytes(self) -> int:
        return int(sum(len(t.data or b"") for t in self.weight_tensors()))

    def mac_count(self) -> int:
        """Multiply-accumulates per inference (batch 1) of convolutions and dense layers."""
        total = 0
        for op in self.operators:
            if op.name not in WEIGHTED_OPS or len(op.inputs) < 2 or not op.outputs:
                continue
            weights = self.tensors[op.inputs[1]]
            if op.name == "TRANSPOSE_CONV":  # inputs: output shape, weights, input
                weights = self.tensors[op.inputs[1]]
                source = self.tensors[op.inputs[2]]
                kernel = int(np.prod(weights.shape[1:3])) * max(weights.shape[0], 1)
                total += source.elements * kernel
                continue
            out = self.tensors[op.outputs[0]]
            if op.name == "FULLY_CONNECTED":  # weights [units, inputs]
                total += out.elements * int(weights.shape[-1])
            elif op.name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, channels]
                total += out.elements * int(np.prod(weights.shape[1:3]))
            else:  # CONV_2D weights [out, kh, kw, in]; CONV_3D [kd, kh, kw, in, out]
                per_output = int(np.prod(weights.shape)) // max(out.shape[-1], 1)
                total += out.elements * per_output
        return int(total)

    def activation_bytes(self) -> int:
        """Peak bytes of non-constant tensors live around one op (a simple estimate)."""
        peak = 0
        # float16 weights are expanded by DEQUANTIZE once, at preparation: they are weights.
        expanded = {o for op in self.operators if op.name == "DEQUANTIZE" and op.inputs
                    and self.tensors[op.inputs[0]].is_constant for o in op.outputs}
        for op in self.operators:
            live = {i for i in op.inputs + op.outputs
                    if i >= 0 and not self.tensors[i].is_constant and i not in expanded}
            peak = max(peak, sum(self.tensors[i].nbytes for i in live))
        return int(peak)

    def precision(self) -> str:
        """``"int8"`` if inputs, outputs and all compute run in integers; ``"fp16"`` if the
        weights are stored as float16; else ``"fp32"`` (dynamic-range models compute in float)."""
        non_constant = [t for t in self.tensors if not t.is_constant]
        if non_constant and not any(t.dtype in ("float32", "float16") for t in non_constant):
            return "int8"
        if any(t.dtype == "float16" for t in self.weight_tensors()):
            return "fp16"
        return "fp32"


def _decode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _ints(value: Any) -> Tuple[int, ...]:
    if value is None:
        return ()
    return tuple(int(v) for v in np.asarray(value).ravel())


def parse_model(data: bytes, label: str = "the model") -> ModelInfo:
    """Read and check a ``.tflite`` flatbuffer; raise :class:`ModelError` if it is inconsistent."""
    tables = schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(f"{label} is not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        model = tables.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # the generated reader fails in many ways on corrupt bytes
        raise ModelError(f"{label} is truncated or corrupted: its FlatBuffer cannot be read "
                         f"({type(exc).__name__}). Copy or convert the model again.") from None
    try:
        return _check(model, len(data), label)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{label} is truncated or corrupted: {type(exc).__name__} while checking its "
                         "structure. Copy or convert the model again.") from None


def _fail(label: str, what: str) -> ModelError:
    return ModelError(f"{label} is truncated or corrupted: {what}. Copy or convert the model again.")


def _check(model: Any, size: int, label: str) -> ModelInfo:
    if not model.subgraphs:
        raise _fail(label, "it has no subgraph")
    buffers = model.buffers or []
    codes = model.operatorCodes or []
    op_table = []
    for code in codes:
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        version = int(code.version)
        if version < 1 or version > 1000:
            raise _fail(label, f"op version {version} is out of range")
        name = op_name(builtin) if builtin != 32 else f"CUSTOM:{_decode(code.customCode)}"
        op_table.append((name, version))
    graph = model.subgraphs[0]
    tensors = []
    for i, t in enumerate(graph.tensors or []):
        if int(t.type) not in TENSOR_TYPES:
            raise _fail(label, f"tensor {i} has unknown type {t.type}")
        shape = _ints(t.shape)
        if any(d < -1 for d in shape) or len(shape) > 8:
            raise _fail(label, f"tensor {i} has an invalid shape {shape}")
        elements = int(np.prod([max(d, 1) for d in shape], dtype=np.float64)) if shape else 1
        if elements > MAX_TENSOR_ELEMENTS:
            raise _fail(label, f"tensor {i} has an impossible shape {shape}")
        buf_index = int(t.buffer)
        if not 0 <= buf_index < max(len(buffers), 1):
            raise _fail(label, f"tensor {i} refers to buffer {buf_index} of {len(buffers)}")
        data = None
        if buffers and buffers[buf_index].data is not None:
            data = bytes(np.asarray(buffers[buf_index].data, dtype=np.uint8))
        elif buffers and int(buffers[buf_index].size or 0) > 0:
            offset, length = int(buffers[buf_index].offset), int(buffers[buf_index].size)
            if offset < 0 or offset + length > size:
                raise _fail(label, f"buffer {buf_index} lies outside the file")
        q = t.quantization
        has_scales = q is not None and q.scale is not None
        scales = tuple(float(s) for s in np.asarray(q.scale).ravel()) if has_scales else ()
        zero_points = _ints(q.zeroPoint) if q is not None else ()
        qdim = int(q.quantizedDimension) if q is not None else 0
        if scales:
            if not all(np.isfinite(s) and s > 0 for s in scales):
                raise _fail(label, f"tensor {i} has a scale that is not a positive number")
            if zero_points and len(zero_points) != len(scales):
                raise _fail(label, f"tensor {i} has {len(scales)} scales but {len(zero_points)} zero points")
            if len(scales) > 1 and not (0 <= qdim < len(shape) and shape[qdim] == len(scales)):
                raise _fail(label, f"tensor {i} has {len(scales)} per-channel scales for shape {shape}")
            bits = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}.get(
                TENSOR_TYPES[int(t.type)][0], (-(2**31), 2**31 - 1))
            if any(not bits[0] <= z <= bits[1] for z in zero_points):
                raise _fail(label, f"tensor {i} has a zero point outside its type's range")
        info = TensorInfo(i, _decode(t.name), TENSOR_TYPES[int(t.type)][0], shape, scales, zero_points, qdim,
                          data)
        if info.is_constant and info.nbytes and len(data) != info.nbytes:
            raise _fail(label, f"tensor {i} ({info.name!r}) holds {len(data)} bytes, its shape needs "
                        f"{info.nbytes}")
        tensors.append(info)
    n = len(tensors)

    def indices(values: Any, what: str) -> Tuple[int, ...]:
        out = _ints(values)
        if any(not -1 <= v < n for v in out):
            raise _fail(label, f"{what} refers to a tensor that does not exist")
        return out

    operators = []
    for k, op in enumerate(graph.operators or []):
        if not 0 <= int(op.opcodeIndex) < len(op_table):
            raise _fail(label, f"operator {k} has op code {op.opcodeIndex} of {len(op_table)}")
        name, version = op_table[int(op.opcodeIndex)]
        operators.append(OpInfo(name, version, indices(op.inputs, f"operator {k}"),
                                indices(op.outputs, f"operator {k}")))
    inputs, outputs = indices(graph.inputs, "the model's inputs"), indices(graph.outputs, "the outputs")
    if any(i < 0 for i in inputs + outputs):
        raise _fail(label, "an input or output refers to no tensor")
    used = {}
    for op in operators:
        used[op.name] = max(used.get(op.name, 0), op.version)
    min_runtime = None
    for meta in model.metadata or []:
        if _decode(meta.name) == "min_runtime_version" and 0 <= int(meta.buffer) < len(buffers):
            raw = buffers[int(meta.buffer)].data
            if raw is not None:
                text = bytes(np.asarray(raw, dtype=np.uint8)).split(b"\0")[0]
                min_runtime = text.decode("ascii", "replace")
    return ModelInfo(int(model.version), tuple(tensors), tuple(operators), inputs, outputs,
                     dict(sorted(used.items())), len(model.subgraphs), min_runtime)
