"""edgelab.widgets: each explorer reacts to its controls."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import pytest

from edgelab import widgets
from edgelab.widgets import tier_explorer


def controls(box: w.Widget) -> dict[str, w.Widget]:
    """All value widgets inside a box, by description."""
    found = {}
    stack = [box]
    while stack:
        widget = stack.pop()
        if isinstance(widget, w.Box):
            stack.extend(widget.children)
        elif getattr(widget, "description", ""):
            found[widget.description] = widget
    return found


def test_tier_explorer_follows_its_controls() -> None:
    """Changing the network to 'none' moves the suggestion from cloud to far edge."""
    box = tier_explorer()
    assert "Cloud data centre" in box.result.value
    controls(box)["network"].value = "none"
    assert "Far edge" in box.result.value
    controls(box)["network"].value = "always"
    controls(box)["deadline (ms)"].value = 5
    assert "Near edge" in box.result.value


def test_latency_explorer_follows_its_controls() -> None:
    """A geostationary link misses a 100 ms deadline every time; a LAN to a slow edge shows a crossover."""
    from edgelab.widgets import latency_explorer

    box = latency_explorer(n=2_000)
    assert "4g-lte" in box.result.value and "p99" in box.result.value
    found = controls(box)
    found["link"].value = "geo-satellite"
    assert "geo-satellite" in box.result.value and "100.00%" in box.result.value
    found["link"].value = "ethernet-lan"
    found["edge inference (ms)"].value = 200
    assert "the edge wins (median) from a payload of" in box.result.value


def test_data_plan_explorer_follows_its_controls() -> None:
    """More cameras mean a bigger fleet total; the three modes are all shown."""
    from edgelab.widgets import data_plan_explorer

    box = data_plan_explorer()
    for mode in ("raw:", "compressed:", "events:"):
        assert mode in box.result.value
    controls(box)["cameras"].value = 1
    assert "fleet of 1:" in box.result.value
    controls(box)["cameras"].value = 5000
    assert "fleet of 5,000:" in box.result.value


def test_device_explorer_follows_its_controls() -> None:
    """A generous budget picks a device; a 20-dollar, 0.1 ms limit picks none."""
    from edgelab.widgets import device_explorer

    box = device_explorer()
    assert "pick: raspberry-pi-5" in box.result.value
    controls(box)["max cost ($)"].value = 20
    assert "pick: none" in box.result.value


def test_report_explorer_follows_its_controls(tiny_model) -> None:
    """A report of the model passes a generous budget and fails a floor above its accuracy."""
    from edgelab import bench
    from edgelab.runtime import load_interpreter
    from edgelab.widgets import report_explorer

    path = tiny_model["path"]
    report = bench.run_benchmark(load_interpreter(path).interpreter, model_name=path.name,
                                 model_bytes=path.read_bytes(), warmup_runs=1, runs=10, accuracy=0.92)
    # the tiny model runs in about a microsecond: as if it were 1000x slower, so the budget
    # slider (1 us .. 1 s) can sit below its p50 whatever this machine's speed
    report["latency_ms"] = {k: v * 1000 for k, v in report["latency_ms"].items()}
    box = report_explorer(report, path)
    assert box.result.value.startswith("<pre") and "PASS" in box.result.value and box.check.ok
    controls(box)["min accuracy"].value = 0.95
    assert "FAIL" in box.result.value and "below the required 0.950" in box.result.value
    controls(box)["min accuracy"].value = 0.9
    controls(box)["max p50 (ms)"].value = 0.001
    assert "above the budget" in box.result.value and not box.check.ok


def test_drift_explorer_follows_its_controls() -> None:
    """An unchanged sensor is stable; raising its gain to 1.3 shows drift."""
    from edgelab.widgets import drift_explorer

    box = drift_explorer(n=600)
    assert ": stable" in box.result.value
    controls(box)["sensor gain"].value = 1.3
    assert ": drift" in box.result.value and box.found["psi"] > 0.25


def test_tflite_explorer_follows_its_controls() -> None:
    """Picking a weight tensor of a real .tflite model shows it as a constant read by CONV_2D."""
    from edgelab import synthetic
    from edgelab.convert import ConvertedModel
    from edgelab.widgets import tflite_explorer

    data = synthetic.conv_stack(input_size=16, channels=8, layers=2, seed=0)
    model = ConvertedModel.from_bytes(data)
    box = tflite_explorer(data)
    assert "model input" in box.result.value or "activation" in box.result.value
    weight = next(t for t in model.info.tensors if t.is_constant and len(t.shape) == 4)
    controls(box)["tensor"].value = weight.index
    assert "constant" in box.result.value and "CONV_2D" in box.result.value
    assert box.row["bytes"] == len(weight.data)


def test_quantization_explorer_follows_its_controls() -> None:
    """Fewer bits make a larger error; per-channel scales lower the error of uneven channels."""
    import numpy as np

    from edgelab.widgets import quantization_explorer

    w8 = np.random.default_rng(0).normal(size=(32, 4)) * np.array([0.01, 0.1, 1.0, 10.0])
    box = quantization_explorer(w8, name="kernel")
    err8 = box.error.mse
    assert "1 scale(s)" in box.result.value and "SQNR" in box.result.value
    controls(box)["per channel (last axis)"].value = True
    assert "4 scale(s)" in box.result.value and box.error.mse < err8
    controls(box)["bits"].value = 4
    assert box.error.sqnr_db < 40


def test_pruning_explorer_follows_its_controls() -> None:
    """Raising the sparsity zeroes more weights and shrinks the compressed size."""
    import numpy as np

    from edgelab.widgets import pruning_explorer

    box = pruning_explorer(np.random.default_rng(0).normal(size=(50, 40)), name="dense")
    before = box.stats
    assert before["sparsity"] == 0.5 and "1,000 kept" in box.result.value
    controls(box)["sparsity"].value = 0.9
    assert box.stats["kept"] == 200 and box.stats["float32_compressed"] < before["float32_compressed"]


def _sliders(widget: w.Widget) -> list[w.Widget]:
    """The numeric sliders in a widget tree."""
    found = [widget] if widgets.declared_range(widget) is not None else []
    for child in getattr(widget, "children", ()):
        found += _sliders(child)
    return found


@pytest.mark.parametrize("build", [widgets.tier_explorer, widgets.latency_explorer,
                                   widgets.data_plan_explorer, widgets.device_explorer,
                                   widgets.drift_explorer,
                                   lambda: widgets.pruning_explorer(np.arange(100.0))])
def test_browser_state_is_clamped_to_each_controls_declared_range(build) -> None:
    """A front-end update (what Voila forwards from a page) that widens a slider's range and
    sets a value far outside it leaves the range as made and clamps the value into it; a
    value that is not a finite number is ignored."""
    box = build()
    sliders = _sliders(box)
    assert sliders
    for slider in sliders:
        made = (slider.min, slider.max)
        low, high = widgets.declared_range(slider)
        slider.set_state({"min": -1e12, "max": 1e12, "value": 1e12, "description": "hacked"})
        assert (slider.min, slider.max) == made and slider.description != "hacked"
        assert slider.value == pytest.approx(high)
        slider.set_state({"value": -1e12})
        assert slider.value == pytest.approx(low)
        slider.set_state({"value": "1e12"})
        assert slider.value == pytest.approx(low)
