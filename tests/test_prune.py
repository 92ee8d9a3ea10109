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
