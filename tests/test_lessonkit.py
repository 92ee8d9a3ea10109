"""edgelab.lessonkit: magnitude pruning of an array, tensor rows, the digits model loader."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgelab import lessonkit, synthetic
from edgelab.convert import ConvertedModel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_magnitude_prune_zeros_the_smallest_magnitudes() -> None:
    """Exactly round(s * n) weights become zero, all smaller in magnitude than every kept one."""
    w = np.random.default_rng(0).normal(size=(6, 7)).astype(np.float32)
    for s in (0.0, 0.3, 0.5, 0.9):
        pruned = lessonkit.magnitude_prune(w, s)
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
        lessonkit.magnitude_prune(np.ones(4), bad)


def test_magnitude_prune_rejects_empty_or_nan_weights() -> None:
    """Empty or NaN weights are a ValueError naming weights."""
    with pytest.raises(ValueError, match="weights"):
        lessonkit.magnitude_prune([], 0.5)
    with pytest.raises(ValueError, match="weights"):
        lessonkit.magnitude_prune([1.0, float("nan")], 0.5)


def test_pruning_stats_trade_error_for_compressed_size() -> None:
    """More sparsity: more error, smaller compressed files; int8 compresses below float32."""
    w = np.random.default_rng(1).normal(size=(64, 128))
    low, high = lessonkit.pruning_stats(w, 0.5), lessonkit.pruning_stats(w, 0.9)
    assert low["sparsity"] == pytest.approx(0.5) and high["sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert 0 < low["relative_error"] < high["relative_error"] < 1
    assert high["float32_compressed"] < low["float32_compressed"] < low["float32_bytes"] == w.size * 4
    assert high["int8_compressed"] < high["float32_compressed"]
    assert high["kept"] == w.size - round(0.9 * w.size)
    assert high["threshold"] <= np.sort(np.abs(w), axis=None)[round(0.9 * w.size)]
    none = lessonkit.pruning_stats(w, 0.0)
    assert none["relative_error"] < 1e-6 and none["threshold"] == 0


def test_tensor_rows_describe_a_real_model() -> None:
    """The rows of a synthetic conv model list its constants with their bytes, and its input."""
    data = synthetic.conv_stack(input_size=16, channels=8, layers=2, seed=0)
    rows = lessonkit.tensor_rows(data)
    model = ConvertedModel.from_bytes(data)
    assert len(rows) == len(model.info.tensors)
    assert sum(r["bytes"] for r in rows if r["constant"]) >= model.info.weight_bytes() > 0
    assert rows[model.info.inputs[0]]["shape"] == (1, 16, 16, 3)
    assert all(r["dtype"] == "float32" for r in rows if not r["constant"])


@pytest.mark.slow
def test_digits_model_loads_a_saved_model(digits_variants: dict, tmp_path) -> None:
    """A saved digits model is loaded (missing files skipped) with the same test accuracy."""
    script = textwrap.dedent(f"""
        import json
        from edgelab import lessonkit
        t = lessonkit.digits_model(search=[{str(tmp_path / 'missing.keras')!r},
                                           {str(digits_variants['keras'])!r}])
        print(json.dumps({{"source": t.history["source"], "accuracy": t.test_accuracy,
                          "seconds": t.train_seconds, "n_test": len(t.data.y_test)}}))
    """)
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["source"] == str(digits_variants["keras"]) and found["seconds"] == 0
    assert found["accuracy"] == pytest.approx(digits_variants["keras_accuracy"], abs=1e-9)
    assert found["n_test"] == len(digits_variants["y_test"])


def test_digits_model_rejects_a_single_path() -> None:
    """search must be a sequence of paths, not one path string."""
    with pytest.raises(ValueError, match="search"):
        lessonkit.digits_model(search="digits.keras")
