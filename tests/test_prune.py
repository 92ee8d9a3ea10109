"""edgelab.prune: magnitude pruning of a copy of the shared digits model, and compression."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from edgelab import prune


def test_compressed_size_is_zlib() -> None:
    """compressed_size is zlib's length; zeros compress far better than noise."""
    noise = np.random.default_rng(0).bytes(10_000)
    assert prune.compressed_size(noise) == len(zlib.compress(noise, 9))
    assert prune.compressed_size(bytes(10_000)) < 100 < prune.compressed_size(noise) / 50
    with pytest.raises(ValueError, match="level must be an integer from 0 to 9"):
        prune.compressed_size(b"x", level=10)


@pytest.mark.slow
def test_pruning_a_copy_keeps_accuracy_and_compresses(digits_variants: dict) -> None:
    """80 % sparsity after fine-tuning keeps >= 93 % accuracy, leaves the baseline untouched,
    and the pruned int8 model compresses to well under the unpruned one."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from edgelab import datasets

    model = keras.models.load_model(digits_variants["keras"])
    before = [w.copy() for w in model.get_weights()]
    data = datasets.load_digits(seed=0)
    with pytest.raises(ValueError, match="sparsity must be a fraction"):
        prune.prune(model, data, 1.0)
    rows = prune.sparsity_curve(model, data, (0.0, 0.8), fine_tune_epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    dense, sparse = rows
    assert dense["sparsity"] < 0.01 and sparse["sparsity"] == pytest.approx(0.8, abs=0.01)
    assert sparse["keras_accuracy"] >= 0.93 and sparse["int8_accuracy"] >= 0.93
    assert sparse["float32_bytes"] == dense["float32_bytes"]  # zeros are stored like any number
    assert sparse["float32_compressed"] < 0.5 * dense["float32_compressed"]
    assert sparse["int8_compressed"] < 0.6 * dense["int8_compressed"]


def test_magnitude_prune_zeros_the_smallest_magnitudes() -> None:
    """Exactly round(s * n) weights become zero, all smaller in magnitude than every kept one."""
    w = np.random.default_rng(0).normal(size=(6, 7)).astype(np.float32)
    for s in (0.0, 0.3, 0.5, 0.9):
        pruned = prune.magnitude_prune(w, s)
        assert pruned.shape == w.shape and pruned.dtype == np.float32
        zeros = pruned == 0
        assert zeros.sum() == round(s * w.size)
        if 0 < zeros.sum() < w.size:
            assert np.abs(w[zeros]).max() <= np.abs(w[~zeros]).min()
        assert np.array_equal(pruned[~zeros], w[~zeros])
    assert np.array_equal(w, np.random.default_rng(0).normal(size=(6, 7)).astype(np.float32)), "input kept"


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, float("nan"), "half", None])
def test_magnitude_prune_rejects_bad_sparsity(bad: object) -> None:
    """A sparsity outside [0, 1) is a ValueError naming the parameter."""
    with pytest.raises(ValueError, match="sparsity"):
        prune.magnitude_prune(np.ones(4), bad)


def test_magnitude_prune_rejects_empty_or_nan_weights() -> None:
    """Empty or NaN weights are a ValueError naming weights."""
    with pytest.raises(ValueError, match="weights"):
        prune.magnitude_prune([], 0.5)
    with pytest.raises(ValueError, match="weights"):
        prune.magnitude_prune([1.0, float("nan")], 0.5)


def test_pruning_stats_trade_error_for_compressed_size() -> None:
    """More sparsity: more error, smaller compressed files; int8 compresses below float32."""
    w = np.random.default_rng(1).normal(size=(64, 128))
    low, high = prune.pruning_stats(w, 0.5), prune.pruning_stats(w, 0.9)
    assert low["sparsity"] == pytest.approx(0.5) and high["sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert 0 < low["relative_error"] < high["relative_error"] < 1
    assert high["float32_compressed"] < low["float32_compressed"] < low["float32_bytes"] == w.size * 4
    assert high["int8_compressed"] < high["float32_compressed"]
    assert high["kept"] == w.size - round(0.9 * w.size)
    assert high["threshold"] <= np.sort(np.abs(w), axis=None)[round(0.9 * w.size)]
    none = prune.pruning_stats(w, 0.0)
    assert none["relative_error"] < 1e-6 and none["threshold"] == 0


@pytest.mark.slow
def test_magnitude_masks_of_a_model_follow_the_array_rule(digits_variants: dict) -> None:
    """Each kernel's mask is magnitude_mask of that kernel: one rule for models and arrays."""
    from edgelab import models

    model = models.import_keras().models.load_model(digits_variants["keras"])
    masks = prune.magnitude_masks(model, 0.7)
    assert masks, "the digits CNN has prunable kernels"
    for layer in model.layers:
        if layer.name in masks:
            kernel = layer.kernel.numpy()
            assert np.array_equal(masks[layer.name], prune.magnitude_mask(kernel, 0.7))
            assert np.array_equal(prune.magnitude_prune(kernel, 0.7), np.where(masks[layer.name], kernel, 0))
