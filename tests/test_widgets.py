"""edgelab.widgets: each explorer's numbers are its engine's, and its plot follows its controls."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import pytest

from edgelab import widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UNEVEN = np.random.default_rng(0).normal(size=(32, 4)) * np.array([0.01, 0.1, 1.0, 10.0])


def _tree(widget: w.Widget) -> list[w.Widget]:
    """A widget and every widget nested in its children."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _tree(child)
    return found


def _redrawn(box: w.Widget, name: str, value: object) -> bytes:
    """Set control ``name`` to ``value``; check the plot is a new PNG; return it."""
    before = bytes(box.plot.value)
    box.controls[name].value = value
    after = bytes(box.plot.value)
    assert after.startswith(PNG_MAGIC) and after != before, name
    return after


def _conv_model() -> bytes:
    from edgelab import synthetic

    return synthetic.conv_stack(input_size=16, channels=8, layers=2, seed=0)


# --------------------------------------------------------------------------- numbers directly

def test_tier_numbers_are_the_placement() -> None:
    """tier_numbers names the tier and reasons tiers.place gives for the same workload."""
    from edgelab import tiers

    found = widgets.tier_numbers(5, connectivity="intermittent", power="battery", uplink_mbps=1)
    placement = tiers.place(latency_budget_ms=5, connectivity="intermittent", power="battery",
                            uplink_mbps=1, raw_data_mbps=0.0)
    assert found["tier"] == placement.tier.name and found["reasons"] == list(placement.reasons)


def test_latency_numbers_are_the_simulator_and_the_budget_crossover() -> None:
    """The table is network.compare's summary; the crossover is budget.crossover_payload_bytes."""
    from edgelab import budget, network

    found = widgets.latency_numbers("ethernet-lan", 20, 5, 200, 100, n=2_000)
    direct = network.compare(20_000, link="ethernet-lan", server_ms=5, edge_ms=200, n=2_000, seed=0,
                             deadline_ms=100)
    assert found["table"] == direct.summary(show=False)
    assert np.array_equal(found["cloud_ms"], direct.cloud.latency_ms)
    assert found["crossover_bytes"] == budget.crossover_payload_bytes("ethernet-lan", 200, server_ms=5)
    assert 0 < found["crossover_bytes"] < float("inf")


def test_data_plan_numbers_are_the_budget_plans() -> None:
    """Each mode's fleet bytes per day is budget.data_plan's for the same camera and fleet."""
    from edgelab import budget

    found = widgets.data_plan_numbers("1280x720", 15, 4, 100, 500, 30)
    for mode in budget.MODES:
        plan = budget.data_plan(mode, 30, width=1280, height=720, fps=15, compressed_mbps=4,
                                events_per_hour=100, event_bytes=500)
        assert found["fleet"][mode] == plan.fleet_bytes_per_day
        assert found["per_device"][mode] == plan.bytes_per_device_per_day
    with pytest.raises(ValueError, match="resolution must be one of"):
        widgets.data_plan_numbers("1x1", 15, 4, 100, 500, 30)


def test_device_numbers_are_the_budget_choice() -> None:
    """The pick and every candidate's estimate are budget.choose_device's."""
    from edgelab import budget
    from edgelab.stats import ModelStats

    found = widgets.device_numbers(300, 3.4, "int8", 50, 10, 150)
    model = ModelStats("your model", macs=300_000_000, params=3_400_000, weight_bytes=3_400_000,
                       precision="int8")
    choice = budget.choose_device(model, max_latency_ms=50, max_power_w=10, max_cost_usd=150)
    assert found["pick"] == choice.pick
    assert [c["estimate_ms"] for c in found["candidates"]] == [c.estimate_ms for c in choice.candidates]
    with pytest.raises(ValueError, match="precision must be one of"):
        widgets.device_numbers(300, 3.4, "int4", 50, 10, 150)


def test_drift_numbers_are_the_sensor_drift() -> None:
    """The PSI is drift.sensor_drift's, and the two histograms' values give it back."""
    from edgelab import drift

    found = widgets.drift_numbers(1.3, 0.1, n=600)
    assert found["psi"] == drift.sensor_drift(1.3, 0.1, n=600)["psi"]
    assert drift.psi(found["reference"], found["current"]) == pytest.approx(found["psi"])


def test_tflite_numbers_are_the_tensor_rows() -> None:
    """The row is convert.tensor_rows'; a weight tensor is read by the op that uses it."""
    from edgelab.convert import ConvertedModel, tensor_rows

    data = _conv_model()
    model = ConvertedModel.from_bytes(data)
    weight = next(t for t in model.info.tensors if t.is_constant and len(t.shape) == 4)
    found = widgets.tflite_numbers(data, weight.index)
    assert found["row"] == tensor_rows(model)[weight.index] and found["kind"].startswith("constant")
    assert [found["op_names"][k] for k in found["readers"]] == ["CONV_2D"] and found["writers"] == []
    with pytest.raises(ValueError, match="tensor must be a tensor index 0 .. 6"):
        widgets.tflite_numbers(data, 7)


def test_quantization_numbers_are_the_quantizer() -> None:
    """Scales and error are quantize's, per tensor and per channel."""
    from edgelab import quantize

    for per_channel, axis in ((False, None), (True, -1)):
        found = widgets.quantization_numbers(UNEVEN, 4, False, per_channel)
        scale, zero = quantize.quantization_params(UNEVEN, 4, False, axis)
        assert found["scales"] == np.atleast_1d(scale).tolist()
        assert found["zero_points"] == np.atleast_1d(zero).tolist()
        assert found["mse"] == quantize.quantization_error(UNEVEN, 4, False, axis).mse
    assert found["shown"] == 0  # the channel with the finest grid


def test_pruning_numbers_are_the_pruning_stats() -> None:
    """pruning_numbers is prune.pruning_stats of the same weights."""
    from edgelab import prune

    weights = np.random.default_rng(1).normal(size=(20, 30))
    assert widgets.pruning_numbers(weights, 0.7) == prune.pruning_stats(weights.astype(np.float32), 0.7)


# ------------------------------------------------------------------------ explorers follow

def test_tier_explorer_follows_its_controls() -> None:
    """No network moves the suggestion from the cloud to the far edge; a 5 ms deadline to the
    near edge; the plot is redrawn for each control."""
    box = widgets.tier_explorer()
    assert box.numbers["tier"] == "Cloud data centre" and "Cloud data centre" in box.text.value
    _redrawn(box, "connectivity", "none")
    assert box.numbers["tier"] == "Far edge" and "Far edge" in box.text.value
    box.controls["connectivity"].value = "always"
    _redrawn(box, "latency_budget_ms", 5)
    assert box.numbers["tier"] == "Near edge"
    for name, value in (("power", "battery"), ("private_data", True), ("heavy_model", True),
                        ("raw_data_mbps", 20.0), ("uplink_mbps", 1.0)):
        _redrawn(box, name, value)
    assert box.numbers == widgets.tier_numbers(**{k: c.value for k, c in box.controls.items()})


def test_latency_explorer_follows_its_controls() -> None:
    """A geostationary link misses a 100 ms deadline every time; a LAN to a slow edge device
    shows the budget's crossover; every control redraws the CDFs."""
    from edgelab import budget

    box = widgets.latency_explorer(n=2_000)
    assert "4g-lte" in box.text.value and "p99" in box.text.value
    _redrawn(box, "link", "geo-satellite")
    assert box.numbers["table"]["cloud"]["deadline_miss_rate"] == 1.0 and "100.00%" in box.text.value
    box.controls["link"].value = "ethernet-lan"
    _redrawn(box, "edge_ms", 200)
    cross = budget.crossover_payload_bytes("ethernet-lan", 200, server_ms=5)
    assert box.numbers["crossover_bytes"] == cross and f"{cross / 1000:,.1f} KB" in box.text.value
    for name, value in (("payload_kb", 500.0), ("server_ms", 50.0), ("deadline_ms", 20.0)):
        _redrawn(box, name, value)
    assert box.numbers["table"] == widgets.latency_numbers(
        **{k: c.value for k, c in box.controls.items()}, n=2_000)["table"]


def test_data_plan_explorer_follows_its_controls() -> None:
    """More cameras mean a bigger fleet total; the three modes are all shown and drawn."""
    box = widgets.data_plan_explorer()
    for mode in ("raw:", "compressed:", "events:"):
        assert mode in box.text.value
    _redrawn(box, "fleet", 1)
    assert "fleet of 1:" in box.text.value and box.numbers["n_devices"] == 1
    _redrawn(box, "fleet", 5000)
    assert "fleet of 5,000:" in box.text.value
    for name, value in (("resolution", "640x480"), ("fps", 10.0), ("compressed_mbps", 2.0),
                        ("events_per_hour", 100.0), ("event_bytes", 5000)):
        _redrawn(box, name, value)
    assert box.numbers["fleet"] == widgets.data_plan_numbers(
        **{k: c.value for k, c in box.controls.items()})["fleet"]


def test_device_explorer_follows_its_controls() -> None:
    """A generous budget picks a device; a 20-dollar limit picks none; each control redraws."""
    box = widgets.device_explorer()
    assert box.numbers["pick"] == "raspberry-pi-4" and "pick: raspberry-pi-4" in box.text.value
    _redrawn(box, "max_cost_usd", 20)
    assert box.numbers["pick"] is None and "pick: none" in box.text.value
    box.controls["max_cost_usd"].value = 700
    for name, value in (("macs_m", 3000.0), ("params_m", 30.0), ("precision", "fp32"),
                        ("max_latency_ms", 5.0), ("max_power_w", 3.0)):
        _redrawn(box, name, value)
    assert box.numbers["pick"] == widgets.device_numbers(
        **{k: c.value for k, c in box.controls.items()})["pick"]


@pytest.fixture(scope="module")
def saved_report(tiny_model) -> tuple:
    """A benchmark report of the tiny model, as if it were 1000x slower (so the budget slider,
    1 us .. 1 s, can sit below its p50 whatever this machine's speed), and the model's path."""
    from edgelab import bench
    from edgelab.runtime import load_interpreter

    path = tiny_model["path"]
    report = bench.run_benchmark(load_interpreter(path).interpreter, model_name=path.name,
                                 model_bytes=path.read_bytes(), warmup_runs=1, runs=10, accuracy=0.92)
    report["latency_ms"] = {k: v * 1000 for k, v in report["latency_ms"].items()}
    return report, path


def test_report_explorer_follows_its_controls(saved_report) -> None:
    """A report of the model passes a generous budget and fails a floor above its accuracy or a
    budget below its p50, as device_report.check_report says; each bar redraws the plot."""
    from edgelab import device_report

    report, path = saved_report
    box = widgets.report_explorer(report, path)
    assert box.text.value.startswith("<pre") and "PASS" in box.text.value and box.numbers["ok"]
    _redrawn(box, "min_accuracy", 0.95)
    assert "FAIL" in box.text.value and "below the required 0.950" in box.text.value
    box.controls["min_accuracy"].value = 0.9
    _redrawn(box, "max_p50_ms", 0.001)
    assert "above the budget" in box.text.value and not box.numbers["ok"]
    direct = device_report.check_report(report, path, min_accuracy=0.9, max_p50_ms=0.001)
    assert box.numbers["problems"] == direct.problems and box.numbers["p50_ms"] == direct.p50_ms


def test_drift_explorer_follows_its_controls() -> None:
    """An unchanged sensor is stable; raising its gain to 1.3 shows drift; noise redraws too."""
    from edgelab import drift

    box = widgets.drift_explorer(n=600)
    assert box.numbers["level"] == "stable" and ": stable" in box.text.value
    _redrawn(box, "gain", 1.3)
    assert ": drift" in box.text.value and box.numbers["psi"] > 0.25
    _redrawn(box, "noise_g", 0.2)
    assert box.numbers["psi"] == drift.sensor_drift(1.3, 0.2, n=600)["psi"]


def test_tflite_explorer_follows_its_controls() -> None:
    """Picking a weight tensor of a real .tflite model shows it as a constant read by CONV_2D,
    and redraws the operators that use it."""
    from edgelab.convert import ConvertedModel

    data = _conv_model()
    model = ConvertedModel.from_bytes(data)
    box = widgets.tflite_explorer(data)
    assert box.numbers["kind"] == "model input" and "model input" in box.text.value
    weight = next(t for t in model.info.tensors if t.is_constant and len(t.shape) == 4)
    _redrawn(box, "tensor", weight.index)
    assert "constant" in box.text.value and "CONV_2D" in box.text.value
    assert box.numbers["row"]["bytes"] == len(weight.data)


def test_quantization_explorer_follows_its_controls() -> None:
    """Per-channel scales lower the error of uneven channels; fewer bits raise it; symmetric
    changes the zero points; each redraws the grid."""
    box = widgets.quantization_explorer(UNEVEN, name="kernel")
    err8 = box.numbers["mse"]
    assert "1 scale(s)" in box.text.value and "SQNR" in box.text.value
    _redrawn(box, "per_channel", True)
    assert "4 scale(s)" in box.text.value and box.numbers["mse"] < err8
    _redrawn(box, "bits", 4)
    assert box.numbers["sqnr_db"] < 40
    _redrawn(box, "symmetric", False)
    assert box.numbers["mse"] == widgets.quantization_numbers(UNEVEN, 4, False, True)["mse"]


def test_pruning_explorer_follows_its_controls() -> None:
    """Raising the sparsity zeroes more weights, shrinks the compressed size, moves the threshold."""
    box = widgets.pruning_explorer(np.random.default_rng(0).normal(size=(50, 40)), name="dense")
    before = box.numbers
    assert before["sparsity"] == 0.5 and "1,000 kept" in box.text.value
    _redrawn(box, "sparsity", 0.9)
    assert box.numbers["kept"] == 200 and box.numbers["float32_compressed"] < before["float32_compressed"]
    assert box.numbers["threshold"] > before["threshold"]


# --------------------------------------------------------------------------- every explorer

EXPLORERS = {
    "tier": widgets.tier_explorer,
    "latency": lambda: widgets.latency_explorer(n=2_000),
    "data_plan": widgets.data_plan_explorer,
    "device": widgets.device_explorer,
    "drift": lambda: widgets.drift_explorer(n=600),
    "tflite": lambda: widgets.tflite_explorer(_conv_model()),
    "quantization": lambda: widgets.quantization_explorer(UNEVEN),
    "pruning": lambda: widgets.pruning_explorer(np.arange(100.0)),
}


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_every_explorer_draws_a_png_and_no_output_widget(name: str) -> None:
    """Each explorer shows its plot as a PNG image in its tree (no Output widget, which can hang
    a Voila page) and its text before the plot."""
    box = EXPLORERS[name]()
    tree = _tree(box)
    assert not any(isinstance(x, w.Output) for x in tree)
    assert box.plot in tree and bytes(box.plot.value).startswith(PNG_MAGIC)
    assert tree.index(box.text) < tree.index(box.plot)


def _sliders(widget: w.Widget) -> list[w.Widget]:
    """The numeric sliders in a widget tree."""
    return [x for x in _tree(widget) if widgets.declared_range(x) is not None]


@pytest.mark.parametrize("name", [n for n in EXPLORERS if n != "tflite" and n != "quantization"])
def test_browser_state_is_clamped_to_each_controls_declared_range(name: str) -> None:
    """A front-end update (what Voila forwards from a page) that widens a slider's range and
    sets a value far outside it leaves the range as made and clamps the value into it, and the
    numbers are recomputed with the clamped value; a value that is not a number is ignored."""
    box = EXPLORERS[name]()
    sliders = _sliders(box)
    assert sliders
    for slider in sliders:
        made = (slider.min, slider.max)
        low, high = widgets.declared_range(slider)
        slider.set_state({"min": -1e12, "max": 1e12, "value": 1e12, "description": "hacked"})
        assert (slider.min, slider.max) == made and slider.description != "hacked"
        assert slider.value == pytest.approx(high)
        key = next(k for k, c in box.controls.items() if c is slider)
        assert box.numbers is not None, key
        slider.set_state({"value": -1e12})
        assert slider.value == pytest.approx(low)
        slider.set_state({"value": "1e12"})
        assert slider.value == pytest.approx(low)
