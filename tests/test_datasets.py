"""edgelab.datasets: offline digits and synthetic vibration windows, deterministic under a seed."""

from __future__ import annotations

import numpy as np
import pytest

from edgelab import datasets


def test_digits_split_is_preprocessed_and_deterministic() -> None:
    """Digits come as float32 in [0, 1], shape (n, 8, 8, 1), stratified, same under the same seed."""
    a, b, c = datasets.load_digits(0), datasets.load_digits(0), datasets.load_digits(1)
    assert a.x_train.shape == (1437, 8, 8, 1) and a.x_test.shape == (360, 8, 8, 1)
    assert a.x_train.dtype == np.float32 and 0 <= a.x_train.min() and a.x_train.max() == 1.0
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)
    assert np.bincount(a.y_test).min() >= 35  # every digit is in the test set
    assert a.input_shape == (8, 8, 1)


def test_preprocess_digits_accepts_flat_and_image_shapes() -> None:
    """(n, 64), (n, 8, 8) and (n, 8, 8, 1) give the same model input; others are refused."""
    raw = np.arange(128).reshape(2, 64) % 17
    flat = datasets.preprocess_digits(raw)
    assert np.array_equal(flat, datasets.preprocess_digits(raw.reshape(2, 8, 8)))
    assert flat.shape == (2, 8, 8, 1) and flat.max() == 1.0
    with pytest.raises(ValueError, match=r"images must have shape \(n, 64\)"):
        datasets.preprocess_digits(np.zeros((2, 28, 28)))


def test_vibration_windows_are_deterministic_and_balanced() -> None:
    """Windows are (n, window, 3) float32 in g, half faults, identical for the same seed."""
    x, y = datasets.vibration_windows(200, 64, seed=3)
    x2, y2 = datasets.vibration_windows(200, 64, seed=3)
    assert x.shape == (200, 64, 3) and x.dtype == np.float32
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and y.sum() == 100
    assert abs(x[:, :, 2].mean() - 1.0) < 0.1  # gravity on z


def test_faults_carry_energy_in_the_bearing_band() -> None:
    """Fault windows have about twice the power of normal ones in the 90-140 Hz defect band."""
    x, y = datasets.vibration_windows(400, 128, seed=0)
    power = np.abs(np.fft.rfft(datasets.preprocess_vibration(x)[:, :, 0], axis=1)) ** 2
    freqs = np.fft.rfftfreq(128, 1 / datasets.VIBRATION_SAMPLE_RATE_HZ)
    band = power[:, (freqs >= 90) & (freqs <= 140)].sum(axis=1)
    assert np.median(band[y == 1]) > 1.8 * np.median(band[y == 0])


def test_bad_arguments_name_the_parameter() -> None:
    """Out-of-range sizes, fractions and seeds raise ValueError with the accepted range."""
    with pytest.raises(ValueError, match="n must be an integer from 2"):
        datasets.vibration_windows(1)
    with pytest.raises(ValueError, match="window must be an integer from 16"):
        datasets.vibration_windows(10, window=8)
    with pytest.raises(ValueError, match="fault_fraction"):
        datasets.vibration_windows(10, fault_fraction=1.0)
    with pytest.raises(ValueError, match="test_fraction must be a fraction from 0.05 to 0.5"):
        datasets.load_digits(test_fraction=0.9)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        datasets.load_digits(seed=-1)
    with pytest.raises(ValueError, match="x must hold at least one sample"):
        datasets.representative_samples(np.zeros((0, 8, 8, 1)))


def test_representative_samples_are_a_deterministic_subset() -> None:
    """Calibration samples are drawn from the given (preprocessed) data, same for the same seed."""
    split = datasets.load_digits()
    rep = datasets.representative_samples(split.x_train, 50, seed=0)
    assert rep.shape == (50, 8, 8, 1)
    assert np.array_equal(rep, datasets.representative_samples(split.x_train, 50, seed=0))
    assert all(any(np.array_equal(r, x) for x in split.x_train[:]) for r in rep[:3])
