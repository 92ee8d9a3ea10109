"""edgelab.evaluate: int8 input quantization and output dequantization, and accuracy via LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from edgelab import evaluate


def test_quantize_input_clips_and_rounds() -> None:
    """Float inputs are quantized with round-half-even and clipped to the int8 range."""
    detail = {"dtype": np.int8, "quantization": (0.5, -10)}
    q = evaluate.quantize_input(np.array([0.0, 0.26, 100.0, -100.0]), detail)
    assert q.tolist() == [-10, -9, 127, -128]
    back = evaluate.dequantize_output(np.array([-10, 0], dtype=np.int8), detail)
    assert back.tolist() == [0.0, 5.0]


def test_accuracy_of_each_variant_through_litert(digits_variants: dict) -> None:
    """evaluate.accuracy on a path gives the same number as on the loaded model."""
    from edgelab import load_interpreter

    path = digits_variants["paths"]["int8"]
    x, y = digits_variants["x_test"][:50], digits_variants["y_test"][:50]
    assert evaluate.accuracy(path, x, y) == evaluate.accuracy(load_interpreter(path), x, y) >= 0.9
    with pytest.raises(ValueError, match="y must be a 1-D array"):
        evaluate.accuracy(path, x, y[:10])
