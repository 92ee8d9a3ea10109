"""edgelab.flatbuffer: reading a .tflite file's structure and refusing inconsistent ones."""

from __future__ import annotations

import pytest

from edgelab import ModelError, load_interpreter
from edgelab.flatbuffer import op_name, parse_model


def _repack(data: bytes, change) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    change(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_reads_ops_tensors_and_metadata(digits_variants: dict) -> None:
    """The int8 file's ops, I/O tensors, weight tensors and min runtime version are read."""
    info = parse_model(digits_variants["paths"]["int8"].read_bytes())
    assert op_name(3) == "CONV_2D" and op_name(9) == "FULLY_CONNECTED" and op_name(99999) == "UNKNOWN_99999"
    assert {"CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D"} <= set(info.op_versions)
    (inp,) = info.input_tensors()
    assert inp.dtype == "int8" and inp.shape == (1, 8, 8, 1) and inp.zero_point == -128
    conv_weights = [t for t in info.weight_tensors() if t.dtype == "int8" and len(t.shape) == 4]
    assert all(len(t.scales) == t.shape[0] for t in conv_weights)  # per output channel
    assert info.precision() == "int8" and info.min_runtime_version


@pytest.mark.parametrize("damage, message", [
    (lambda m: setattr(m.subgraphs[0].tensors[1], "buffer", 10_000), "refers to buffer"),
    (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 99), "op code 99"),
    (lambda m: m.subgraphs[0].operators[0].inputs.__setitem__(0, 500), "tensor that does not exist"),
    (lambda m: setattr(m.operatorCodes[0], "version", 0), "op version 0"),
])
def test_inconsistent_models_are_refused_before_litert(digits_variants: dict, damage, message) -> None:
    """Out-of-range buffer, op-code, tensor indices and op versions raise ModelError in the
    structural check that load_interpreter runs before LiteRT sees the bytes."""
    data = _repack(digits_variants["paths"]["float32"].read_bytes(), damage)
    with pytest.raises(ModelError, match=message):
        parse_model(data)
    with pytest.raises(ModelError, match="truncated or corrupted"):
        load_interpreter(data)


def test_bad_quantization_is_refused(digits_variants: dict) -> None:
    """A negative scale or an out-of-range int8 zero point is refused."""
    def negative_scale(m):
        tensors = m.subgraphs[0].tensors
        t = next(t for t in tensors if t.quantization is not None and t.quantization.scale is not None)
        t.quantization.scale[0] = -1.0

    def bad_zero_point(m):
        m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]].quantization.zeroPoint[0] = 1000

    data = digits_variants["paths"]["int8"].read_bytes()
    with pytest.raises(ModelError, match="not a positive number"):
        parse_model(_repack(data, negative_scale))
    with pytest.raises(ModelError, match="zero point outside"):
        parse_model(_repack(data, bad_zero_point))
