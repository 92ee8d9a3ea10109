"""edgelab.drift: the population stability index of input features, and simulated sensor drift."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelab import drift


def test_psi_from_fractions_follows_the_formula() -> None:
    """Two bins (0.5, 0.5) vs (0.25, 0.75): sum of (q - p) ln(q / p)."""
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert drift.psi_from_fractions([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert drift.psi_from_fractions([0.5, 0.5], [0.5, 0.5]) == 0.0
    # an empty bin is clipped to eps instead of making the logarithm infinite
    assert math.isfinite(drift.psi_from_fractions([0.5, 0.5], [0.0, 1.0]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12), st.integers(0, 1000))
def test_psi_is_never_negative(weights: list, seed: int) -> None:
    """PSI of any two fraction vectors is >= 0 (each term's two factors share a sign)."""
    p = np.asarray(weights) / np.sum(weights)
    q = np.random.default_rng(seed).dirichlet(np.ones(len(p)))
    assert drift.psi_from_fractions(p, q) >= 0


def test_bin_fractions_split_the_reference_into_deciles() -> None:
    """The reference falls 10 % into each decile bin; both vectors sum to 1."""
    rng = np.random.default_rng(0)
    reference = rng.normal(size=10_000)
    p, q = drift.bin_fractions(reference, rng.normal(2.0, 1.0, size=3_000))
    assert len(p) == len(q) == 10
    assert np.allclose(p, 0.1, atol=1e-3) and q.sum() == pytest.approx(1.0)
    assert q[-1] > 0.5  # shifted up: most current values land in the top bin


def test_psi_grows_with_the_shift_and_levels_follow() -> None:
    """Same distribution: stable; half a sigma: a clear rise; one sigma: drift."""
    rng = np.random.default_rng(1)
    reference = rng.normal(size=5_000)
    values = [drift.psi(reference, rng.normal(shift, 1.0, size=5_000)) for shift in (0.0, 0.25, 0.5, 1.0)]
    assert values == sorted(values)
    assert drift.level(values[0]) == "stable" and drift.level(values[-1]) == "drift"
    assert [drift.level(v) for v in (0.0, 0.099, 0.1, 0.25, 0.26)] == \
        ["stable", "stable", "watch", "watch", "drift"]


def test_bad_inputs_name_the_parameter() -> None:
    """Bad bins, NaN values, mismatched fractions and a bad eps are ValueErrors naming the parameter."""
    with pytest.raises(ValueError, match="bins must be an integer from 2 to 1000"):
        drift.psi([1, 2, 3], [1, 2, 3], bins=1)
    with pytest.raises(ValueError, match="current must hold finite numbers"):
        drift.psi([1, 2, 3], [1, float("nan")])
    with pytest.raises(ValueError, match="reference must hold at least 2 values"):
        drift.psi([1], [1, 2])
    with pytest.raises(ValueError, match="same length"):
        drift.psi_from_fractions([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="summing to 1"):
        drift.psi_from_fractions([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="eps must be"):
        drift.psi_from_fractions([0.5, 0.5], [0.5, 0.5], eps=0)
    with pytest.raises(ValueError, match="a PSI value must be"):
        drift.level(-1)
    with pytest.raises(ValueError, match="gain must be"):
        drift.degraded_windows(gain=0)


def test_sensor_drift_sees_gain_and_noise() -> None:
    """Vibration windows: an unchanged sensor is stable, a 30 % gain change drifts, noise raises PSI."""
    same = drift.sensor_drift(1.0, 0.0, n=600)
    assert same["level"] == "stable"
    loose = drift.sensor_drift(1.3, 0.0, n=600)
    assert loose["level"] == "drift" and loose["current_rms"] > 1.2 * loose["reference_rms"]
    assert drift.sensor_drift(1.0, 0.2, n=600)["psi"] > same["psi"]
    assert drift.window_rms(np.ones((2, 4, 3))).tolist() == [1.0, 1.0]
