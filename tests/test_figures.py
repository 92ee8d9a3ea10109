"""edgelab.figures: each picture draws edgelab's own numbers, shows itself as a PNG, refuses bad input."""

from __future__ import annotations

import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

from edgelab import (
    budget,
    devices,
    drift,
    figures,
    micro,
    network,
    prune,
    quantize,
    synthetic,
    tiers,
    zoo,
)
from edgelab.convert import ConvertedModel
from edgelab.stats import ModelStats

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ModelStats("tiny_int8", macs=5_000_000, params=40_000, weight_bytes=40_000, precision="int8",
                  activation_bytes=60_000)


def png_size(data: bytes) -> tuple:
    """Width and height in pixels from a PNG's IHDR chunk."""
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def widths(container) -> list:
    return [bar.get_width() for bar in container]


def container(ax, label: str):
    """The bar container drawn with ``label``."""
    found = [c for c in ax.containers if c.get_label() == label]
    assert len(found) == 1, [c.get_label() for c in ax.containers]
    return found[0]


def texts(ax) -> list:
    return [t.get_text() for t in ax.texts]


# ------------------------------------------------------------------------------ the plumbing

def test_png_is_a_png_of_the_figure_size_at_96_dpi() -> None:
    """png() of a figure and of a Drawing is a PNG whose pixel size is the figure's inches x 96."""
    drawing = figures.latency_histogram([1.0, 2.0, 2.5, 3.0])
    width, height = drawing.figure.get_size_inches()
    for data in (figures.png(drawing.figure), figures.png(drawing), drawing.png()):
        assert png_size(data) == (round(width * 96), round(height * 96))


def test_png_refuses_what_is_not_a_figure() -> None:
    """png() of anything but a Figure or a Drawing is a ValueError naming fig."""
    with pytest.raises(ValueError, match="fig must be a matplotlib Figure"):
        figures.png("a picture")


def test_ipython_displays_a_drawing_as_png(tmp_path) -> None:
    """IPython's display formatter gives a Drawing an image/png (what a cell shows); save() writes it."""
    drawing = figures.tier_map()
    data, _metadata = DisplayFormatter().format(drawing)
    assert "image/png" in data and data["image/png"][:8] == PNG_MAGIC
    assert "Where can the model run" in data["text/plain"]
    drawing.save(str(tmp_path / "tiers.png"))
    assert (tmp_path / "tiers.png").read_bytes()[:8] == PNG_MAGIC


def test_figures_are_made_without_pyplot() -> None:
    """Every figure is a plain matplotlib Figure with no pyplot figure manager (no global state)."""
    drawing = figures.bytes_per_day({"events": 1e4})
    assert isinstance(drawing.figure, Figure)
    assert drawing.figure.canvas.manager is None


def test_importing_figures_stays_light() -> None:
    """`import edgelab.figures` imports neither matplotlib (pyplot included) nor TensorFlow."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import edgelab.figures"],
                          capture_output=True, text=True, check=True, timeout=120)
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "edgelab.figures" in imported
    heavy = {m for m in imported if m.split(".")[0] in ("matplotlib", "tensorflow", "keras")}
    assert heavy == set()


# ------------------------------------------------------------------------- 00 · model sizes

def test_model_sizes_draws_the_zoo_weights_against_device_memory() -> None:
    """Bars are the zoo's weight bytes by precision; lines each device's RAM (and flash for flash weights)."""
    drawing = figures.model_sizes()
    ax = drawing.axes[0]
    fp32 = [zoo.reference_model(n).weight_bytes for n in zoo.names() if n.endswith("fp32")]
    int8 = [zoo.reference_model(n).weight_bytes for n in zoo.names() if n.endswith("int8")]
    assert widths(container(ax, "fp32 weights")) == fp32
    assert widths(container(ax, "int8 weights")) == int8
    expected = set()
    for name in figures.DEFAULT_SIZE_DEVICES:
        dev = devices.device(name)
        expected.add(dev.ram_mb * 1e6)
        if dev.weights_in == "flash":
            expected.add(dev.flash_mb * 1e6)
    assert {line.get_xdata()[0] for line in ax.get_lines()} == expected
    assert ax.get_xscale() == "log" and "bytes" in ax.get_xlabel()
    assert budget.human_bytes(fp32[0]) in texts(ax)


def test_model_sizes_takes_model_stats_and_refuses_bad_input() -> None:
    """A ModelStats is drawn as given; an empty list, a number or a bare device name are ValueErrors."""
    ax = figures.model_sizes([TINY], devices=["arduino-nano-33-ble-sense"]).axes[0]
    assert widths(container(ax, "int8 weights")) == [40_000]
    with pytest.raises(ValueError, match="models must name at least one"):
        figures.model_sizes([])
    with pytest.raises(ValueError, match="models must hold zoo names or ModelStats"):
        figures.model_sizes([3])
    with pytest.raises(ValueError, match="devices must be a sequence"):
        figures.model_sizes(devices="raspberry-pi-5")


# ---------------------------------------------------------------------------- 01 · tier map

def test_tier_map_has_one_box_per_tier_with_its_round_trip_and_examples() -> None:
    """Each tier of edgelab.tiers gets a box, its name, its typical round trip and its first example."""
    ax = figures.tier_map().axes[0]
    shown = " ".join(t.replace("\n", " ") for t in texts(ax))
    for tier in tiers.tiers():
        assert tier.name in shown
        low, high = tier.typical_rtt_ms
        if high > 0:
            assert f"{low:g}–{high:g} ms" in shown
        assert tier.examples[0].split()[0] in shown
    boxes = [p for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    assert len(boxes) == len(tiers.tiers())


# -------------------------------------------------------------------- 02 · round trip, slow start

def test_waterfall_stacks_every_part_of_each_round_trip_in_order() -> None:
    """Each *_ms part but total_ms is one stacked segment, in the dict's order; the total at the end."""
    trips = {name: network.round_trip(name, 150_000, 200, server_ms=5) for name in ("5g", "geo-satellite")}
    ax = figures.round_trip_waterfall(trips).axes[0]
    keys = [k for k in trips["5g"] if k.endswith("_ms") and k != "total_ms"]
    assert [c.get_label() for c in ax.containers] == [k[:-3].replace("_", " ") for k in keys]
    left = np.zeros(2)
    for c, key in zip(ax.containers, keys):
        assert widths(c) == pytest.approx([trips[n][key] for n in trips])
        assert [bar.get_x() for bar in c] == pytest.approx(left)
        left += widths(c)
    assert left == pytest.approx([trips[n]["total_ms"] for n in trips])
    assert f"{trips['geo-satellite']['total_ms']:,.1f} ms" in texts(ax)
    assert ax.get_xlabel() == "time (ms)"


def test_waterfall_draws_a_new_part_without_a_code_change() -> None:
    """A key the round trip did not have before (e.g. slow_start_ms) becomes its own segment."""
    trips = [("a", {"upload_ms": 3.0, "slow_start_ms": 7.0, "total_ms": 10.0}),
             ("b", {"upload_ms": 1.0, "propagation_ms": 2.0})]
    ax = figures.round_trip_waterfall(trips).axes[0]
    assert [c.get_label() for c in ax.containers] == ["upload", "slow start", "propagation"]
    assert widths(container(ax, "slow start")) == [7.0, 0.0]


def test_waterfall_refuses_bad_breakdowns() -> None:
    """No round trip, a non-dict, a negative part or no *_ms part are ValueErrors naming the place."""
    with pytest.raises(ValueError, match="breakdowns must hold at least one"):
        figures.round_trip_waterfall({})
    with pytest.raises(ValueError, match=r"breakdowns\['x'\] must be a dict"):
        figures.round_trip_waterfall({"x": 5})
    with pytest.raises(ValueError, match=r"breakdowns\['x'\]\['upload_ms'\] must be a finite number ≥ 0"):
        figures.round_trip_waterfall({"x": {"upload_ms": -1}})
    with pytest.raises(ValueError, match=r"breakdowns\['x'\] has no \*_ms part"):
        figures.round_trip_waterfall({"x": {"total_ms": 4}})


def test_slow_start_draws_network_flights_and_transfer_time() -> None:
    """Bars are network.flights; the BDP line is RTT / segment time; the timeline sends for the
    serialization time and ends at network.transfer_ms."""
    lte = network.link("4g-lte")
    payload = 150_000
    drawing = figures.slow_start(lte.rtt_median_ms, lte.uplink_mbps, payload)
    top, bottom = drawing.axes[:2]
    flights = network.flights(payload)
    assert [bar.get_height() for bar in top.containers[0]] == flights
    segment_ms = (network.MSS_BYTES + network.HEADER_BYTES) * 8 / (lte.uplink_mbps * 1e3)
    assert top.get_lines()[0].get_ydata()[0] == pytest.approx(lte.rtt_median_ms / segment_ms)
    sending, idle = bottom.collections[:2]
    spans = [p.get_extents().bounds for p in sending.get_paths()]
    assert len(spans) == len(flights)
    sending_ms = network.serialization_ms(payload, lte.uplink_mbps)
    assert sum(w for _x, _y, w, _h in spans) == pytest.approx(sending_ms)
    last = max(x + w for x, _y, w, _h in spans)
    assert last == pytest.approx(network.transfer_ms(payload, lte.uplink_mbps, lte.rtt_median_ms))
    gaps = sum(p.get_extents().bounds[2] for p in idle.get_paths())
    assert gaps == pytest.approx(last - network.serialization_ms(payload, lte.uplink_mbps))
    assert f"{len(flights)} flights" in top.get_title()


def test_slow_start_of_one_flight_never_idles() -> None:
    """A payload inside the initial window is one flight: one span on the timeline, no idle gap."""
    drawing = figures.slow_start(50, 10, 14_480)
    assert [bar.get_height() for bar in drawing.axes[0].containers[0]] == [10]
    assert len(drawing.axes[1].collections) == 1


def test_slow_start_refuses_bad_numbers() -> None:
    """A zero RTT, a negative bandwidth or a zero initial window are ValueErrors naming the parameter."""
    with pytest.raises(ValueError, match="rtt_ms must be"):
        figures.slow_start(0, 10, 1000)
    with pytest.raises(ValueError, match="bandwidth_mbps must be"):
        figures.slow_start(50, -1, 1000)
    with pytest.raises(ValueError, match="initial_window must be"):
        figures.slow_start(50, 10, 1000, initial_window=0)


# --------------------------------------------------------------------- 03 · bytes and batteries

def test_bytes_per_day_bars_are_the_data_plans_with_readable_labels() -> None:
    """Bars are the bytes per day given (budget.data_plan's), log scale, each labelled with human_bytes."""
    rows = {mode: budget.data_plan(mode).bytes_per_device_per_day for mode in budget.MODES}
    ax = figures.bytes_per_day(rows).axes[0]
    assert widths(ax.containers[0]) == pytest.approx(list(rows.values()))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(rows)
    for value in rows.values():
        assert f"{budget.human_bytes(value)} per day" in texts(ax)
    assert ax.get_xscale() == "log"
    assert {t.get_text() for t in ax.get_xticklabels()} >= {"1 MB", "1 GB", "1 TB"}


def test_bytes_per_day_refuses_bad_rows() -> None:
    """No rows, zero bytes (no place on a log scale) or a word are ValueErrors naming rows."""
    with pytest.raises(ValueError, match="rows must hold at least one"):
        figures.bytes_per_day({})
    with pytest.raises(ValueError, match="rows must hold byte counts > 0"):
        figures.bytes_per_day({"events": 0})
    with pytest.raises(ValueError, match=r"rows\['events'\] must be a finite number"):
        figures.bytes_per_day([("events", "many")])


def test_battery_life_lines_are_devices_battery_life_hours() -> None:
    """Each line's y is devices.battery_life_hours at its x, for each option's energy; both axes log."""
    options = {"infer only": 2.0, "infer and send": 12_000.0}
    ax = figures.battery_life(options, battery_wh=3.7, sleep_mw=0.01).axes[0]
    lines = [line for line in ax.get_lines() if "per wake-up" in line.get_label()]
    assert len(lines) == 2
    for line, energy in zip(lines, options.values()):
        expected = [devices.battery_life_hours(3.7, energy, r, 0.01) for r in line.get_xdata()]
        assert list(line.get_ydata()) == pytest.approx(expected)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "12 J per wake-up" in lines[1].get_label()


def test_battery_life_refuses_bad_input() -> None:
    """No option, an empty battery, a reversed range or an option that draws nothing are ValueErrors."""
    with pytest.raises(ValueError, match="options must hold at least one"):
        figures.battery_life({})
    with pytest.raises(ValueError, match="battery_wh must be"):
        figures.battery_life({"a": 1.0}, battery_wh=0)
    with pytest.raises(ValueError, match="wakes_per_hour must be"):
        figures.battery_life({"a": 1.0}, wakes_per_hour=(10, 1))
    with pytest.raises(ValueError, match=r"options\['a'\] draws no energy"):
        figures.battery_life({"a": 0.0}, sleep_mw=0.0)


# ------------------------------------------------------------------------------ 04 · roofline

def test_roofline_points_are_the_latency_estimators_throughput() -> None:
    """Each model's point on a device's roof is 2 x MACs / the roofline time of devices.estimate_latency."""
    model = zoo.reference_model("mobilenet-v2-224-int8")
    names = ["raspberry-pi-4", "coral-usb-pi5", "arduino-nano-33-ble-sense"]
    ax = figures.roofline(names, [model]).axes[0]
    intensity = 2 * model.macs / (model.weight_bytes + model.activation_bytes)
    assert figures.arithmetic_intensity(model) == pytest.approx(intensity)
    for name in names:
        estimate = devices.estimate_latency(name, model)
        gops = 2 * model.macs / (max(estimate.compute_ms, estimate.memory_ms) / 1000) / 1e9
        roof = next(line for line in ax.get_lines() if line.get_label().startswith(name))
        point = [line for line in ax.get_lines() if line.get_color() == roof.get_color()
                 and line.get_marker() == "o" and line.get_linestyle() == "None"]
        assert point[0].get_xdata()[0] == pytest.approx(intensity)
        assert point[0].get_ydata()[0] == pytest.approx(gops)
        dev = devices.device(name)
        x = np.asarray(roof.get_xdata())
        expected = np.minimum(dev.peak_gops["int8"] * dev.efficiency["int8"], x * dev.mem_bw_gbs)
        assert np.allclose(roof.get_ydata(), expected)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "operations per byte" in ax.get_xlabel() and "G operations/s" in ax.get_ylabel()


def test_roofline_defaults_and_refusals() -> None:
    """By default every device that runs int8 and the zoo's int8 models; mixed precisions, bad
    precision and no models are ValueErrors."""
    ax = figures.roofline().axes[0]
    roofs = [line for line in ax.get_lines() if "GOP/s" in line.get_label()]
    assert len(roofs) == len([d for d in devices.devices() if devices.device(d).peak_gops.get("int8")])
    with pytest.raises(ValueError, match="models mix precisions"):
        figures.roofline(models=["mobilenet-v2-224-int8", "mobilenet-v2-224-fp32"])
    with pytest.raises(ValueError, match="precision must be one of"):
        figures.roofline(models=[TINY], precision="int4")
    with pytest.raises(ValueError, match="models must hold at least one"):
        figures.roofline(models=[])
    with pytest.raises(ValueError, match="model must be an edgelab.stats.ModelStats"):
        figures.arithmetic_intensity("mobilenet")


# --------------------------------------------------------------------- 05 · the model's bytes

def test_layer_bytes_counts_every_constant_once_and_each_output() -> None:
    """Per operator: constants read (summing to the file's constant bytes) and output activation bytes."""
    model = ConvertedModel.from_bytes(synthetic.conv_stack(input_size=16, channels=8, layers=2), name="stack",
                                      variant="float32")
    rows = figures.layer_bytes(model)
    assert [r["op"] for r in rows] == [op.name for op in model.info.operators]
    constants = sum(len(t.data) for t in model.info.tensors if t.is_constant)
    assert sum(r["constant_bytes"] for r in rows) == constants == model.info.weight_bytes()
    for row, op in zip(rows, model.info.operators):
        assert row["activation_bytes"] == sum(model.info.tensors[i].nbytes for i in op.outputs)
    assert figures.layer_bytes(model.data) == rows


def test_model_layers_bars_are_the_layer_bytes() -> None:
    """Bars are each operator's constant and activation bytes; log scale; the file size in the title."""
    model = ConvertedModel.from_bytes(synthetic.conv_stack(input_size=16, channels=8, layers=3), name="stack",
                                      variant="float32")
    rows = figures.layer_bytes(model)
    ax = figures.model_layers(model).axes[0]
    assert widths(ax.containers[0]) == [r["constant_bytes"] for r in rows]
    assert widths(ax.containers[1]) == [r["activation_bytes"] for r in rows]
    assert ax.get_xscale() == "log"
    assert f"{model.size_bytes:,}-byte file" in ax.get_title()
    with pytest.raises(ValueError, match="model must be an edgelab ConvertedModel or .tflite bytes"):
        figures.model_layers("model.tflite")


# -------------------------------------------------------------------------- 06 · quantization

def test_quantization_grid_draws_quantizes_levels_and_counts() -> None:
    """Levels are (q - zero point) x scale of quantization_params; the zoom counts what quantize() stores."""
    values = np.random.default_rng(0).normal(0, 0.05, size=5000)
    drawing = figures.quantization_grid(values, bits=4, symmetric=True)
    ax, zoom, counts = drawing.axes
    scale, zero = quantize.quantization_params(values, 4, symmetric=True)
    levels = [segment[0][0] for segment in ax.collections[0].get_segments()]
    assert levels == pytest.approx(list((np.arange(-7, 8) - int(zero)) * float(scale)))
    stored = quantize.quantize(values, scale, zero, 4, narrow_range=True)
    stems = counts.collections[0].get_segments()
    for segment in stems:
        q = int(round(segment[0][0] / float(scale))) + int(zero)
        assert segment[1][1] == np.count_nonzero(stored == q)
    assert f"scale {float(scale):.4g}" in ax.get_title()
    assert "clipped" not in ax.get_title()  # the grid covers every value


def test_quantization_grid_shows_a_miscalibrated_range_clipping() -> None:
    """A scale 4x too small: the title gives the share of values outside the grid; zoom=False: one panel."""
    values = np.linspace(-1, 1, 2001)
    scale = 1 / 127 / 4
    ax = figures.quantization_grid(values, scale=scale, zero_point=0).axes[0]
    low, high = -128 * scale, 127 * scale
    share = np.mean((values < low - scale / 2) | (values > high + scale / 2))
    assert f"{share:.1%} of the values clipped" in ax.get_title()
    assert "every 6th of the 256 grid levels" in ax.get_legend().get_texts()[1].get_text()
    assert len(figures.quantization_grid(values, scale=scale, zero_point=0, zoom=False).axes) == 1


def test_quantization_grid_refuses_bad_input() -> None:
    """A bit width edgelab.quantize does not know, half a grid, no values or NaN are ValueErrors."""
    with pytest.raises(ValueError, match="bits must be one of"):
        figures.quantization_grid([0.1, 0.2], bits=9)
    with pytest.raises(ValueError, match="scale and zero_point must be given together"):
        figures.quantization_grid([0.1, 0.2], scale=0.01)
    with pytest.raises(ValueError, match="values must hold at least 2 values"):
        figures.quantization_grid([])
    with pytest.raises(ValueError, match="values must hold finite numbers"):
        figures.quantization_grid([0.1, float("nan")])
    with pytest.raises(ValueError, match="zoom must be True or False"):
        figures.quantization_grid([0.1, 0.2], zoom="yes")


def test_error_vs_bits_is_quantize_errors_and_halves_per_bit() -> None:
    """Points are sqrt(MSE) of quantize.quantization_error per bit width, log y; one more bit halves it."""
    values = np.random.default_rng(1).normal(size=4000)
    ax = figures.error_vs_bits(values).axes[0]
    measured = ax.get_lines()[0]
    assert list(measured.get_xdata()) == list(quantize.BIT_WIDTHS)
    expected = [math.sqrt(quantize.quantization_error(values, b).mse) for b in quantize.BIT_WIDTHS]
    assert list(measured.get_ydata()) == pytest.approx(expected)
    assert expected[6] / expected[5] == pytest.approx(0.5, rel=0.1)  # 8 bits vs 7 bits
    assert ax.get_yscale() == "log"


# ------------------------------------------------------------------------------ 07 · pruning

def test_pruning_threshold_splits_the_histogram_at_the_magnitude_threshold() -> None:
    """The pruned bars hold round(sparsity x n) weights, the line is pruning_stats' threshold."""
    weights = np.random.default_rng(2).normal(0, 0.05, size=(64, 32))
    ax = figures.pruning_threshold(weights, 0.8).axes[0]
    pruned, kept = ax.containers[:2]
    assert sum(bar.get_height() for bar in pruned) == round(0.8 * weights.size)
    assert sum(bar.get_height() for bar in kept) == weights.size - round(0.8 * weights.size)
    threshold = prune.pruning_stats(weights, 0.8)["threshold"]
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(threshold)
    assert "80% sparsity" in ax.get_title()
    with pytest.raises(ValueError, match="sparsity must be"):
        figures.pruning_threshold(weights, 1.0)


# -------------------------------------------------------------------- 08 · measured latencies

def test_latency_histogram_marks_the_percentiles_bench_reports() -> None:
    """p50, p95, p99 lines sit at numpy's percentiles (p50 and p99 as bench.latency_stats gives them)."""
    from edgelab import bench

    samples_ns = (4e5 * np.random.default_rng(3).lognormal(0, 0.2, 200)).astype(np.int64)
    samples = samples_ns / 1e6  # what a device report's samples_ms holds
    ax = figures.latency_histogram(samples).axes[0]
    marks = {line.get_label().split(":")[0]: line.get_xdata()[0] for line in ax.get_lines()}
    assert marks == pytest.approx(dict(zip(("p50", "p95", "p99"), np.percentile(samples, [50, 95, 99]))))
    stats = bench.latency_stats(samples_ns)
    assert marks["p50"] == pytest.approx(stats["p50"], rel=1e-6)
    assert marks["p99"] == pytest.approx(stats["p99"], rel=1e-6)
    assert sum(bar.get_height() for bar in ax.containers[0]) == 200
    assert ax.get_xlabel() == "latency (ms)"


def test_latency_histogram_refuses_bad_samples() -> None:
    """One sample, a negative latency or one bin are ValueErrors naming the parameter."""
    with pytest.raises(ValueError, match="samples_ms must hold at least 2 values"):
        figures.latency_histogram([1.0])
    with pytest.raises(ValueError, match="samples_ms must hold latencies >= 0"):
        figures.latency_histogram([1.0, -1.0])
    with pytest.raises(ValueError, match="bins must be an integer"):
        figures.latency_histogram([1.0, 2.0], bins=1)


# -------------------------------------------------------------------------------- 09 · drift

def test_drift_histograms_are_bin_fractions_with_the_psi() -> None:
    """Bars are drift.bin_fractions of reference and current; the title psi_from_fractions and its level."""
    rng = np.random.default_rng(4)
    reference, current = rng.normal(0, 1, 3000), rng.normal(0.8, 1, 2000)
    ax = figures.drift_histograms(reference, current).axes[0]
    p, q = drift.bin_fractions(reference, current)
    assert [bar.get_height() for bar in ax.containers[0]] == pytest.approx(list(p))
    assert [bar.get_height() for bar in ax.containers[1]] == pytest.approx(list(q))
    value = drift.psi_from_fractions(p, q)
    assert ax.get_title().startswith(f"PSI {value:.3f}: {drift.level(value)}")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == len(p) and labels[0].startswith("<") and labels[-1].startswith("≥")
    with pytest.raises(ValueError, match="reference must hold at least 2 values"):
        figures.drift_histograms([1.0], current)


# --------------------------------------------------------------------- 10 · microcontrollers

def test_memory_map_bars_are_the_budget_as_shares_of_the_board() -> None:
    """Flash: model + runtime code, SRAM: arena + runtime RAM, in % of the board; too big says so."""
    plans = [micro.budget(20_000, 9_000, "raspberry-pi-pico"),
             micro.budget(3_600_000, 1_204_224, "esp32-s3-devkitc-1")]
    drawing = figures.memory_map(plans, labels=["vibration", "mobilenet"])
    flash, sram = drawing.axes
    for ax, parts, capacity in ((flash, ("model_bytes", "runtime_flash_bytes"), "flash_bytes"),
                                (sram, ("arena_bytes", "runtime_ram_bytes"), "ram_bytes")):
        for c, key in zip(ax.containers[1:], parts):
            assert widths(c) == pytest.approx([getattr(b, key) / getattr(b, capacity) * 100 for b in plans])
        assert widths(ax.containers[0]) == [100.0, 100.0]
    assert [t.get_text() for t in flash.get_yticklabels()] == ["vibration", "mobilenet"]
    assert not plans[1].fits and any("does not fit" in t for t in texts(sram))
    assert not any("does not fit" in t for t in texts(flash))
    with pytest.raises(ValueError, match="budgets must be an edgelab.micro.Budget"):
        figures.memory_map("raspberry-pi-pico")
    with pytest.raises(ValueError, match="labels must name each of the 2 budgets"):
        figures.memory_map(plans, labels=["one"])


def test_explorer_figures_name_their_bad_input() -> None:
    """The explorers' figures refuse bad input with the parameter's name, before drawing."""
    with pytest.raises(ValueError, match="latency_budget_ms"):
        figures.tier_choice(0, "device")
    with pytest.raises(ValueError, match="samples_ms"):
        figures.latency_cdf({})
    with pytest.raises(ValueError, match="max_latency_ms"):
        figures.device_latencies([{"device": "raspberry-pi-5", "estimate_ms": 10.0, "ok": True}], -1)
    with pytest.raises(ValueError, match="min_accuracy"):
        figures.report_check(0.9, 1.5, 10.0, 100.0)
    with pytest.raises(ValueError, match="layers"):
        figures.tensor_use([], [], [])
    with pytest.raises(ValueError, match="same length"):
        figures.outbox_timeline([0, 1, 2], [0, 1], [0, 0, 1], [True, True, False])
    with pytest.raises(ValueError, match="reference"):
        figures.weights_before_after([], [1.0], "int8")
