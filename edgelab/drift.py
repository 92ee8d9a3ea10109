"""Input drift: has what a device sees moved away from what the model was trained on?

The statistic is the **population stability index** (PSI) of one input feature: bin the
reference values (training data) at their deciles, count which fraction of the reference
(``p``) and of the current values (``q``) falls in each bin, and sum
``(q - p) * ln(q / p)``. Empty bins are clipped to ``eps`` so the logarithm stays finite.
PSI is 0 for identical distributions and grows as they part. The usual reading (a rule of
thumb from credit scoring, not a law): below 0.1 stable, 0.1-0.25 worth watching, above
0.25 drifted. Only inputs are needed, so a device can compute it without labels.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> reference = rng.normal(0, 1, 5000)
>>> psi(reference, rng.normal(0, 1, 5000)) < 0.01
True
>>> level(psi(reference, rng.normal(1.0, 1, 5000)))
'drift'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

STABLE_BELOW = 0.1
DRIFT_ABOVE = 0.25
DEFAULT_EPS = 1e-4


def _values(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size < 2:
        raise ValueError(f"{name} must hold at least 2 values; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers (no NaN or inf)")
    return arr


def _check_bins(bins: object) -> int:
    if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 1000:
        raise ValueError(f"bins must be an integer from 2 to 1000; got {bins!r}")
    return bins


def bin_edges(reference: object, bins: int = 10) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (duplicates dropped): ``bins - 1`` at most."""
    ref = _values("reference", reference)
    _check_bins(bins)
    return np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_fractions(reference: object, current: object, bins: int = 10) -> Tuple[np.ndarray, np.ndarray]:
    """Fractions ``(p, q)`` of the reference and current values per bin (each sums to 1)."""
    edges = bin_edges(reference, bins)
    ref, cur = _values("reference", reference), _values("current", current)
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / ref.size
    q = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / cur.size
    return p, q


def psi_from_fractions(p: object, q: object, eps: float = DEFAULT_EPS) -> float:
    """PSI of two bin-fraction vectors: ``sum((q - p) * ln(q / p))``, fractions clipped to ``eps``."""
    if not isinstance(eps, (int, float)) or not 0 < eps < 0.5:
        raise ValueError(f"eps must be a number between 0 and 0.5; got {eps!r}")
    pa, qa = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if pa.shape != qa.shape or pa.ndim != 1 or pa.size < 2:
        raise ValueError(f"p and q must be 1-D fraction vectors of the same length >= 2; got {pa.shape}, "
                         f"{qa.shape}")
    if np.any(pa < 0) or np.any(qa < 0) or not np.isclose(pa.sum(), 1) or not np.isclose(qa.sum(), 1):
        raise ValueError("p and q must be fractions: each >= 0, each vector summing to 1")
    pa, qa = np.clip(pa, eps, None), np.clip(qa, eps, None)
    return float(np.sum((qa - pa) * np.log(qa / pa)))


def psi(reference: object, current: object, bins: int = 10, eps: float = DEFAULT_EPS) -> float:
    """Population stability index of ``current`` values against ``reference`` values."""
    p, q = bin_fractions(reference, current, bins)
    return psi_from_fractions(p, q, eps)


def level(value: float) -> str:
    """``"stable"`` (< 0.1), ``"watch"`` (0.1-0.25) or ``"drift"`` (> 0.25)."""
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ValueError(f"a PSI value must be a finite number >= 0; got {value!r}")
    return "stable" if value < STABLE_BELOW else "drift" if value > DRIFT_ABOVE else "watch"


def window_rms(windows: object) -> np.ndarray:
    """One number per window: the RMS over its samples and axes (the feature drift is watched on)."""
    arr = np.asarray(windows, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[0] < 1:
        raise ValueError(f"windows must have shape (n, samples, ...); got {arr.shape}")
    return np.sqrt(np.mean(arr.reshape(arr.shape[0], -1) ** 2, axis=1))


def degraded_windows(n: int = 1000, gain: float = 1.0, noise_g: float = 0.0, seed: int = 1) -> np.ndarray:
    """Preprocessed vibration windows as a device would see them after a change in the field:
    the sensor's ``gain`` (1.0: as in training; e.g. 1.3 after a loose mount) and extra
    Gaussian noise of ``noise_g`` (in g, e.g. a failing cable)."""
    from edgelab import datasets

    if not isinstance(gain, (int, float)) or not 0 < gain <= 10:
        raise ValueError(f"gain must be a number from 0 (exclusive) to 10; got {gain!r}")
    if not isinstance(noise_g, (int, float)) or not 0 <= noise_g <= 10:
        raise ValueError(f"noise_g must be a number of g from 0 to 10; got {noise_g!r}")
    raw, _labels = datasets.vibration_windows(n, seed=seed)
    raw = raw * np.float32(gain)
    if noise_g:
        raw = raw + np.random.default_rng(seed + 10_000).normal(0, noise_g, raw.shape).astype(np.float32)
    return datasets.preprocess_vibration(raw)


def sensor_drift(gain: float = 1.0, noise_g: float = 0.0, n: int = 1000, seed: int = 1) -> dict:
    """PSI of the window RMS of degraded field data against the training data (seed 0)."""
    reference = _training_rms(n)
    current = window_rms(degraded_windows(n, gain, noise_g, seed=seed))
    value = psi(reference, current)
    return {"psi": value, "level": level(value), "reference_rms": float(np.median(reference)),
            "current_rms": float(np.median(current))}


@lru_cache(maxsize=4)
def _training_rms(n: int) -> np.ndarray:
    """The reference feature (training data, seed 0), computed once per ``n``."""
    values = window_rms(degraded_windows(n, 1.0, 0.0, seed=0))
    values.setflags(write=False)
    return values
