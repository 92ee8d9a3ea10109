"""edgelab.quantize: affine quantization by hand, and the scales TFLite chose."""

from __future__ import annotations

import numpy as np
import pytest

from edgelab import quantize
from edgelab.convert import ConvertedModel


def test_asymmetric_params_map_range_onto_int8() -> None:
    """[min, max] maps onto [-128, 127]; zero is exactly representable."""
    x = np.array([-1.0, 0.0, 3.0])
    scale, zero = quantize.quantization_params(x)
    assert scale == pytest.approx(4.0 / 255) and zero == round(-128 + 1.0 / (4.0 / 255))
    q = quantize.quantize(x, scale, zero)
    assert q.min() == -128 and q.max() == 127
    assert quantize.dequantize(q, scale, zero)[1] == 0.0


def test_symmetric_uses_narrow_range_and_zero_point_zero() -> None:
    """Symmetric: zero point 0, scale max|x|/127 (TFLite's weights)."""
    x = np.array([-2.0, 0.5, 1.0])
    scale, zero = quantize.quantization_params(x, symmetric=True)
    assert zero == 0 and scale == pytest.approx(2.0 / 127)
    assert quantize.quantize(x, scale, zero, narrow_range=True).tolist() == [-127, 32, 64]


def test_per_channel_beats_per_tensor_when_channels_differ() -> None:
    """Channels of very different ranges quantize better with one scale each."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 8, 4)) * np.array([0.01, 0.1, 1.0, 10.0])
    per_tensor = quantize.quantization_error(w, symmetric=True)
    per_channel = quantize.quantization_error(w, symmetric=True, axis=-1)
    scales, _ = quantize.quantization_params(w, symmetric=True, axis=-1)
    assert scales.shape == (4,)
    assert per_channel.mse < per_tensor.mse and per_channel.sqnr_db > per_tensor.sqnr_db
    small = w[..., 0]  # the 0.01-scale channel: one shared scale rounds it almost all to zero
    err_tensor = np.abs(quantize.fake_quantize(w, symmetric=True)[..., 0] - small).mean()
    err_channel = np.abs(quantize.fake_quantize(w, symmetric=True, axis=-1)[..., 0] - small).mean()
    assert err_channel < err_tensor / 100


def test_error_shrinks_about_6_db_per_bit() -> None:
    """SQNR grows by roughly 6 dB for each extra bit on a uniform signal."""
    x = np.random.default_rng(1).uniform(-1, 1, 10_000)
    sqnr = {b: quantize.quantization_error(x, bits=b).sqnr_db for b in (4, 8)}
    assert 22 <= sqnr[8] - sqnr[4] <= 26
    err = quantize.quantization_error(x, bits=8)
    scale, _ = quantize.quantization_params(x)
    assert err.max_abs <= scale / 2 + 1e-12


def test_bad_input_names_the_problem() -> None:
    """Empty tensors, NaN, bad bit widths, axes and scales raise ValueError."""
    with pytest.raises(ValueError, match="empty"):
        quantize.quantization_params([])
    with pytest.raises(ValueError, match="NaN"):
        quantize.quantization_params([1.0, np.nan])
    with pytest.raises(ValueError, match="bits must be one of"):
        quantize.quantization_params([1.0], bits=9)
    with pytest.raises(ValueError, match="axis must be from -1 to 0"):
        quantize.quantization_params([1.0, 2.0], axis=3)
    with pytest.raises(ValueError, match="scale must be positive"):
        quantize.quantize([1.0], 0.0, 0)


@pytest.mark.slow
def test_our_scales_match_the_ones_tflite_chose(digits_variants: dict) -> None:
    """Per-channel weight scales from the Keras kernels, and the input scale from the
    calibration data, equal the scales stored in the int8 .tflite file."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    model = keras.models.load_model(digits_variants["keras"])
    converted = ConvertedModel.load(digits_variants["paths"]["int8"])
    rows = quantize.compare_with_tflite(converted, quantize.keras_kernels(model), digits_variants["rep"])
    assert len(rows) == 5  # conv1, conv2, dense1, logits and the input
    for row in rows:
        assert row.max_relative_difference < 1e-5, row.tensor
        assert row.zero_points_match, row.tensor
    # and the int8 weights themselves: our quantization of the Keras kernel, transposed
    kernel = quantize.keras_kernels(model)["conv1"]
    scale, zero = quantize.quantization_params(kernel, symmetric=True, axis=-1)
    ours = quantize.quantize(kernel, scale, zero, axis=-1, narrow_range=True).transpose(3, 0, 1, 2)
    tensor = next(t for t in converted.info.tensors if t.is_constant and "/conv1_" in t.name
                  and t.dtype == "int8")
    assert np.abs(ours.astype(int) - tensor.values().astype(int)).max() <= 1
