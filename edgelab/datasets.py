"""The course's data, all offline and deterministic under a seed.

* Handwritten digits: scikit-learn's copy of the UCI 8x8 digits (1,797 images, shipped
  inside scikit-learn, so nothing is downloaded).
* Vibration windows: synthetic 3-axis accelerometer windows of a motor, normal or with a
  bearing fault, generated here: the far-edge / TinyML case.

Each task has one ``preprocess_*`` function. Training, the representative dataset for
int8 conversion and inference all call it, so the model sees the same numbers everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGITS_SHAPE = (8, 8, 1)
DIGITS_MAX = 16.0  # scikit-learn's digits are counts of set pixels in 4x4 blocks: 0..16
VIBRATION_SAMPLE_RATE_HZ = 400
VIBRATION_AXES = 3
VIBRATION_CLASSES = ("normal", "fault")
VIBRATION_FULL_SCALE_G = 4.0  # a common accelerometer range setting (+-4 g)


@dataclass(frozen=True)
class Split:
    """A train/test split of one task: inputs already preprocessed, integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])


def _check_fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0.05 <= value <= 0.5:
        raise ValueError(f"{name} must be a fraction from 0.05 to 0.5; got {value!r}")
    return float(value)


def _check_seed(seed: int) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    return seed


def preprocess_digits(images: np.ndarray) -> np.ndarray:
    """Raw digits (values 0..16, shape (n, 64), (n, 8, 8) or (n, 8, 8, 1)) to the model's input:
    float32 in [0, 1], shape (n, 8, 8, 1)."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[1] == 64:
        arr = arr.reshape(-1, 8, 8)
    if arr.ndim == 3 and arr.shape[1:] == (8, 8):
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[1:] != DIGITS_SHAPE:
        raise ValueError(f"images must have shape (n, 64), (n, 8, 8) or (n, 8, 8, 1); got {arr.shape}")
    return np.clip(arr / DIGITS_MAX, 0.0, 1.0)


def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Split:
    """scikit-learn's digits, preprocessed, split stratified by class (deterministic in ``seed``)."""
    _check_seed(seed)
    _check_fraction("test_fraction", test_fraction)
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    bunch = _load()
    x = preprocess_digits(bunch.images)
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Split(x_train, y_train, x_test, y_test, tuple(str(d) for d in range(10)))


def vibration_windows(n: int = 1000, window: int = 128, fault_fraction: float = 0.5,
                      seed: int = 0) -> tuple:
    """Generate ``n`` raw accelerometer windows (in g, shape (n, window, 3)) and labels (1 = fault).

    Normal: the shaft's rotation (20-30 Hz) and its second harmonic, gravity on the z axis,
    sensor noise. Fault: the same plus a bearing-defect tone (90-140 Hz), amplitude-modulated
    at the shaft rate, and periodic impacts that ring down. Amplitudes vary per window, so
    the task is not trivially separable by energy alone.
    """
    if not isinstance(n, int) or not 2 <= n <= 1_000_000:
        raise ValueError(f"n must be an integer from 2 to 1000000; got {n!r}")
    if not isinstance(window, int) or not 16 <= window <= 4096:
        raise ValueError(f"window must be an integer from 16 to 4096 samples; got {window!r}")
    if not isinstance(fault_fraction, (int, float)) or not 0.0 < fault_fraction < 1.0:
        raise ValueError(f"fault_fraction must be between 0 and 1 (exclusive); got {fault_fraction!r}")
    rng = np.random.default_rng(_check_seed(seed))
    t = np.arange(window) / VIBRATION_SAMPLE_RATE_HZ
    labels = np.zeros(n, dtype=np.int64)
    labels[: int(round(n * fault_fraction))] = 1
    rng.shuffle(labels)

    shaft = rng.uniform(20, 30, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, VIBRATION_AXES))
    amp = rng.uniform(0.2, 0.6, size=(n, 1, VIBRATION_AXES))
    tt = t[None, :, None]
    x = amp * np.sin(2 * np.pi * shaft * tt + phase)
    x += 0.3 * amp * np.sin(4 * np.pi * shaft * tt + 2 * phase)
    x += rng.normal(0, 0.1, size=x.shape)
    x[:, :, 2] += 1.0  # gravity

    faults = labels == 1
    k = int(faults.sum())
    if k:
        defect = rng.uniform(90, 140, size=(k, 1, 1))
        famp = rng.uniform(0.05, 0.25, size=(k, 1, VIBRATION_AXES))
        modulation = 0.5 * (1 + np.sin(2 * np.pi * shaft[faults] * tt))
        x[faults] += famp * modulation * np.sin(2 * np.pi * defect * tt)
        period = np.maximum(1, (VIBRATION_SAMPLE_RATE_HZ / shaft[faults, 0, 0]).astype(int))
        ring = np.exp(-np.arange(window) / 4.0) * np.cos(np.arange(window) * 1.3)
        for i, p in enumerate(period):
            impulses = np.zeros(window)
            impulses[int(rng.integers(0, p))::p] = rng.uniform(0.5, 1.0)
            x[np.flatnonzero(faults)[i], :, :] += np.convolve(impulses, ring)[:window, None] * famp[i]
    return x.astype(np.float32), labels


def preprocess_vibration(windows: np.ndarray) -> np.ndarray:
    """Raw windows in g to the model's input: gravity (per-window mean) removed, divided by
    the sensor's full scale, float32, shape (n, window, 3)."""
    arr = np.asarray(windows, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != VIBRATION_AXES:
        raise ValueError(f"windows must have shape (n, window, {VIBRATION_AXES}); got {arr.shape}")
    return (arr - arr.mean(axis=1, keepdims=True)) / VIBRATION_FULL_SCALE_G


def load_vibration(n: int = 1200, window: int = 128, seed: int = 0, test_fraction: float = 0.25) -> Split:
    """Synthetic vibration windows, preprocessed and split (deterministic in ``seed``)."""
    _check_fraction("test_fraction", test_fraction)
    x, y = vibration_windows(n, window, 0.5, seed)
    x = preprocess_vibration(x)
    cut = int(round(n * (1 - test_fraction)))
    return Split(x[:cut], y[:cut], x[cut:], y[cut:], VIBRATION_CLASSES)


def representative_samples(x: np.ndarray, count: int = 100, seed: int = 0) -> np.ndarray:
    """Pick ``count`` preprocessed training inputs for int8 calibration (deterministic)."""
    arr = np.asarray(x)
    if arr.ndim < 2 or len(arr) == 0:
        raise ValueError(f"x must hold at least one sample (shape (n, ...)); got shape {arr.shape}")
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an integer >= 1; got {count!r}")
    idx = np.random.default_rng(_check_seed(seed)).permutation(len(arr))[: min(count, len(arr))]
    return arr[np.sort(idx)]
