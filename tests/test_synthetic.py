"""Synthetic TFLite models built without TensorFlow (edgelab.synthetic)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgelab import devices, synthetic
from edgelab.convert import ConvertedModel
from edgelab.runtime import load_interpreter


def test_conv_stack_has_the_work_its_docstring_promises() -> None:
    """The file's MACs and parameters are the closed-form counts, and it is float32."""
    data = synthetic.conv_stack(input_size=32, channels=8, layers=3, seed=0)
    model = ConvertedModel.from_bytes(data, name="conv_stack", variant="float32")
    assert model.macs == 32 * 32 * 9 * 8 * (3 + 2 * 8)
    assert model.params == (8 * 9 * 3 + 8) + 2 * (8 * 9 * 8 + 8)
    assert model.stats().precision == "fp32"
    assert model.ops == {"CONV_2D": 1}


def test_conv_stack_runs_in_litert_and_is_seeded() -> None:
    """LiteRT runs the model to a finite output of the right shape; the same seed gives the same bytes."""
    data = synthetic.conv_stack(input_size=16, channels=4, layers=2, seed=3)
    assert data == synthetic.conv_stack(input_size=16, channels=4, layers=2, seed=3)
    assert data != synthetic.conv_stack(input_size=16, channels=4, layers=2, seed=4)
    loaded = load_interpreter(data)
    x = np.random.default_rng(0).normal(size=(1, 16, 16, 3)).astype(np.float32)
    loaded.interpreter.set_tensor(loaded.input_details[0]["index"], x)
    loaded.interpreter.invoke()
    y = loaded.interpreter.get_tensor(loaded.output_details[0]["index"])
    assert y.shape == (1, 16, 16, 4) and np.all(np.isfinite(y)) and np.all(y >= 0)  # ReLU
    latencies = devices.measure_latency(data, runs=5, warmup=1, num_threads=1)
    assert latencies.shape == (5,) and np.all(latencies > 0)


def test_conv_stack_needs_no_tensorflow() -> None:
    """Writing and running the model in a fresh interpreter never imports TensorFlow."""
    code = ("import sys; from edgelab import synthetic, devices; "
            "devices.measure_latency(synthetic.conv_stack(input_size=16, channels=4, layers=2), runs=2); "
            "print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("kwargs", [{"input_size": 2}, {"channels": 0}, {"layers": 100},
                                    {"in_channels": 1.5}])
def test_bad_sizes_raise_value_error(kwargs: dict) -> None:
    """Out-of-range sizes raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        synthetic.conv_stack(**kwargs)
