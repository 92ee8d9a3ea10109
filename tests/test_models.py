"""edgelab.models: the digits CNN (shared session model) and its loader, the vibration net and MobileNetV2."""

from __future__ import annotations

import pytest

from edgelab import models


def test_digits_cnn_is_accurate(digits_variants: dict) -> None:
    """The session's digits CNN (seed 0) reached >= 95 % test accuracy (its training time is a
    goal checked by bench/bench_pipeline.py, not a unit test)."""
    assert digits_variants["keras_accuracy"] >= 0.95
    assert digits_variants["train_seconds"] > 0


@pytest.mark.slow
def test_training_is_deterministic_and_vibration_model_learns() -> None:
    """Same seed, same weights (1 epoch trained twice, no cache); the vibration net separates
    faults (> 90 %)."""
    import numpy as np

    from edgelab import models

    a = models.train_digits_cnn(seed=3, epochs=1, cache=False)
    b = models.train_digits_cnn(seed=3, epochs=1, cache=False)
    assert all(np.array_equal(x, y) for x, y in zip(a.model.get_weights(), b.model.get_weights()))
    assert a.test_accuracy == b.test_accuracy
    vib = models.train_vibration_model(seed=0, epochs=8, cache=False)
    assert vib.test_accuracy > 0.9
    assert vib.model.count_params() < 5000  # TinyML-sized


@pytest.mark.slow
def test_mobilenet_v2_builds_at_course_sizes() -> None:
    """MobileNetV2 builds with random weights at 96-160 px; other sizes are refused."""
    from edgelab import models

    m = models.build_mobilenet_v2(96, alpha=0.35, classes=10)
    assert tuple(m.input_shape) == (None, 96, 96, 3) and "random_weights" in m.name
    assert "predictions mean nothing" in models.MOBILENET_NOTE
    with pytest.raises(ValueError, match=r"input_size must be one of \(96, 128, 160\)"):
        models.build_mobilenet_v2(224)
    with pytest.raises(ValueError, match="epochs must be an integer from 1"):
        models.train_digits_cnn(epochs=0)


@pytest.mark.slow
def test_digits_model_loads_a_saved_model(digits_variants: dict, tmp_path) -> None:
    """A saved digits model is loaded (missing files skipped) with the same test accuracy."""
    found = models.digits_model(search=[tmp_path / "missing.keras", digits_variants["keras"]])
    assert found.history["source"] == str(digits_variants["keras"]) and found.train_seconds == 0
    assert found.test_accuracy == pytest.approx(digits_variants["keras_accuracy"], abs=1e-9)
    assert len(found.data.y_test) == len(digits_variants["y_test"])


def test_digits_model_rejects_a_single_path() -> None:
    """search must be a sequence of paths, not one path string."""
    with pytest.raises(ValueError, match="search"):
        models.digits_model(search="digits.keras")
