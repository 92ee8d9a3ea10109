"""edgelab.convert, edgelab.evaluate and edgelab.flatbuffer on the shared digits model's four variants."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from edgelab import ModelError, load_interpreter, synthetic
from edgelab.convert import VARIANTS, ConvertedModel, tensor_rows
from edgelab.stats import ModelStats


@pytest.fixture(scope="module")
def variants(digits_variants: dict) -> dict:
    return {v: ConvertedModel.load(p) for v, p in digits_variants["paths"].items()}


def test_all_four_variants_exist_and_shrink(variants: dict, digits_variants: dict) -> None:
    """float32 > float16 > dynamic/int8 in size; int8 is at most 0.30x float32."""
    assert set(variants) == set(VARIANTS)
    size = {v: m.size_bytes for v, m in variants.items()}
    assert size["float32"] > size["float16"] > size["int8"]
    assert size["dynamic"] < 0.35 * size["float32"]
    assert size["int8"] <= 0.30 * size["float32"]
    assert set(digits_variants["converter_paths"].values()) == {"from_keras_model"}


def test_accuracy_through_litert(variants: dict, digits_variants: dict) -> None:
    """Every variant keeps >= 95 % test accuracy; int8 loses at most 1 point against float32."""
    x, y = digits_variants["x_test"], digits_variants["y_test"]
    acc = {v: m.evaluate(x, y) for v, m in variants.items()}
    assert acc["float32"] == pytest.approx(digits_variants["keras_accuracy"], abs=0.003)
    assert min(acc.values()) >= 0.95
    assert acc["float32"] - acc["int8"] <= 0.01


def test_int8_io_is_quantized_and_handled(variants: dict, digits_variants: dict) -> None:
    """The int8 model has int8 I/O with TFLite's scale/zero point, and predict() dequantizes it."""
    q, f = variants["int8"], variants["float32"]
    (inp,), (out,) = q.inputs, q.outputs
    assert inp.dtype == "int8" and out.dtype == "int8"
    assert inp.scale == pytest.approx(1 / 255, rel=1e-6) and inp.zero_point == -128  # inputs in [0, 1]
    assert f.inputs[0].dtype == "float32" and not f.inputs[0].quantized
    loaded = load_interpreter(q.data)
    detail = loaded.input_details[0]
    assert detail["quantization"] == pytest.approx((inp.scale, inp.zero_point))
    x = digits_variants["x_test"][:20]
    np.testing.assert_allclose(q.predict(x), f.predict(x), atol=4 * out.scale)


def test_ops_with_versions_params_and_macs(variants: dict) -> None:
    """Op versions come from the file; params and MACs are the same for all variants."""
    f32, dyn, q = variants["float32"], variants["dynamic"], variants["int8"]
    assert f32.ops["CONV_2D"] == 1 and dyn.ops["FULLY_CONNECTED"] == 12 and q.ops["CONV_2D"] == 3
    # conv1 16*(9+1), conv2 32*(144+1), dense 288*128+128, logits 128*10+10
    params = 160 + 4640 + 36992 + 1290
    macs = 8 * 8 * 16 * 9 + 6 * 6 * 32 * 144 + 288 * 128 + 128 * 10
    for m in variants.values():
        assert m.params == params and m.macs == macs


def test_stats_for_the_latency_estimator(variants: dict) -> None:
    """stats() gives a ModelStats with the right precision and byte counts."""
    stats = {v: m.stats() for v, m in variants.items()}
    assert all(isinstance(s, ModelStats) for s in stats.values())
    assert [stats[v].precision for v in VARIANTS] == ["fp32", "fp32", "fp16", "int8"]
    assert stats["float32"].weight_bytes > 3.9 * stats["int8"].weight_bytes
    assert stats["float16"].weight_bytes == pytest.approx(stats["float32"].weight_bytes / 2, rel=0.01)
    assert stats["int8"].activation_bytes * 4 == stats["float32"].activation_bytes
    assert stats["int8"].file_bytes == variants["int8"].size_bytes


def test_save_load_roundtrip_and_hash(variants: dict, tmp_path: Path) -> None:
    """save() then load() keeps the bytes; a wrong expected sha256 is refused."""
    m = variants["int8"]
    path = m.save(tmp_path)
    assert path.name == "digits_int8.tflite"
    again = ConvertedModel.load(path, sha256=m.sha256)
    assert again.data == m.data and again.variant == "int8"
    assert m.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ModelError, match="sha256"):
        ConvertedModel.load(path, sha256="0" * 64)
    assert "int8 [1, 8, 8, 1], scale 0.00392157, zero point -128" in m.summary()


def test_predict_rejects_bad_input(variants: dict) -> None:
    """Wrong shapes, empty batches, non-numbers and mismatched labels name the parameter."""
    m = variants["float32"]
    with pytest.raises(ValueError, match=r"x must have shape \(n, 8, 8, 1\)"):
        m.predict(np.zeros((3, 64), "float32"))
    with pytest.raises(ValueError, match="x must have shape"):
        m.predict(np.zeros((0, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="x must hold numbers"):
        m.predict(np.full((1, 8, 8, 1), "a"))
    with pytest.raises(ValueError, match="y must be a 1-D array"):
        m.evaluate(np.zeros((2, 8, 8, 1), "float32"), np.zeros(3))


def test_corrupt_bytes_raise_model_error(variants: dict) -> None:
    """ConvertedModel refuses bytes that are not a consistent TFLite model."""
    data = bytearray(variants["int8"].data)
    with pytest.raises(ModelError):
        ConvertedModel.from_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="truncated"):
        ConvertedModel.from_bytes(bytes(data[: len(data) // 2]))


def _without_inputs(data: bytes) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    model.subgraphs[0].inputs = []
    model.signatureDefs = []
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_model_with_no_inputs_is_refused_clearly(variants: dict) -> None:
    """A .tflite model with no inputs: predict() raises ModelError and the benchmark a ValueError."""
    from edgelab import bench

    data = _without_inputs(variants["float32"].data)
    model = ConvertedModel.from_bytes(data, name="no_inputs")
    assert model.inputs == []
    with pytest.raises(ModelError, match="has 0 inputs"):
        model.predict(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="the model has no inputs"):
        bench.run_benchmark(model.interpreter().interpreter, model_name="x", model_bytes=data)


@pytest.mark.slow
def test_bad_representative_data_and_models_give_clear_errors(digits_variants: dict) -> None:
    """Empty, wrongly shaped, integer or ragged calibration data, a model with no inputs and a
    bad variant each raise a ValueError naming the problem; the saved_model path also converts."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from edgelab import convert

    model = keras.models.load_model(digits_variants["keras"])
    cases = [(np.zeros((0, 8, 8, 1), "float32"), "representative_data is empty"),
             (np.zeros((5, 8, 8), "float32"), r"must have shape \(n, 8, 8, 1\); got \(5, 8, 8\)"),
             (np.zeros((5, 8, 8, 1), "uint8"), "must hold floats preprocessed as at inference"),
             ([[1.0, 2.0], [3.0]], "must be an array of shape"),
             (np.full((2, 8, 8, 1), np.nan, "float32"), "NaN"),
             (None, "representative_data is required for the int8 variant")]
    for data, message in cases:
        with pytest.raises(ValueError, match=message):
            convert.convert(model, "int8", data)
    with pytest.raises(ValueError, match="model has no inputs"):
        convert.convert(keras.Sequential(), "float32")
    with pytest.raises(ValueError, match="variant must be one of float32, dynamic, float16, int8"):
        convert.convert(model, "int4")
    with pytest.raises(ValueError, match="only used by the int8 variant"):
        convert.convert(model, "float16", digits_variants["rep"])
    via_export = convert.convert(model, "float32", path="saved_model")
    assert via_export.converter_path == "export+from_saved_model"
    assert via_export.macs == ConvertedModel.load(digits_variants["paths"]["float32"]).macs


@pytest.mark.slow
def test_a_failing_conversion_raises_clearly_and_writes_nothing_to_fd2(
        capfd: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model with an op TFLite lacks (Erfinv) raises ConversionError naming the model, the
    variant and the op; the converter's C++ lines go with the error (a note), not to fd 2;
    nothing is cached."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from edgelab import convert, models
    from edgelab.errors import ConversionError

    keras = models.import_keras()
    import tensorflow as tf

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(tf.math.erfinv)(inputs), name="has_erfinv")
    capfd.readouterr()
    expected = r"could not convert 'has_erfinv' to the float32 variant.*Erfinv"
    with pytest.raises(ConversionError, match=expected) as info:
        convert.convert(model, "float32")
    assert capfd.readouterr().err == ""
    assert any("Erfinv" in note for note in getattr(info.value, "__notes__", []))
    assert not list(tmp_path.rglob("*.bin"))


def test_tensor_rows_describe_a_real_model() -> None:
    """The rows of a synthetic conv model list its constants with their bytes, and its input."""
    data = synthetic.conv_stack(input_size=16, channels=8, layers=2, seed=0)
    rows = tensor_rows(data)
    model = ConvertedModel.from_bytes(data)
    assert len(rows) == len(model.info.tensors)
    assert sum(r["bytes"] for r in rows if r["constant"]) >= model.info.weight_bytes() > 0
    assert rows[model.info.inputs[0]]["shape"] == (1, 16, 16, 3)
    assert all(r["dtype"] == "float32" for r in rows if not r["constant"])
