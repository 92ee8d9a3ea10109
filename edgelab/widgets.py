"""Interactive explorers for the lessons and demos (ipywidgets).

Each explorer wraps a plain edgelab function (function first, widget second, as in
the ipywidgets Lorenz example): the function is tested with pytest, the widget by
setting its controls' ``.value``.
"""

from __future__ import annotations

import math
from typing import Iterable

import ipywidgets as w

from edgelab import tiers

# Long descriptions ("deadline (ms)") are shown whole instead of cut to "deadline (...".
WIDE = {"description_width": "initial"}
# What a browser may set on a control: its value (a selection widget sends its index).
BROWSER_SETTABLE = ("value", "index")


def declared_range(control: w.Widget) -> tuple[float, float] | None:
    """The (lowest, highest) value a numeric slider accepts as made now, or None for a
    control without a numeric range (a dropdown, a checkbox)."""
    if isinstance(control, w.FloatLogSlider):
        return control.base ** control.min, control.base ** control.max
    if isinstance(control, (w.IntSlider, w.FloatSlider, w.BoundedIntText, w.BoundedFloatText)):
        return control.min, control.max
    return None


def guard(control: w.Widget, settable: Iterable[str] = BROWSER_SETTABLE) -> w.Widget:
    """Let a browser set only ``settable`` state on ``control`` (its value or selected index),
    the value clamped to the range the control was made with.

    Voila forwards a page's widget messages to the kernel, so a visitor can send any state
    (a slider's ``max`` and ``value`` far beyond its range). Checked here, in the kernel: other
    keys are ignored and a value outside the declared range is clamped into it, so a forged
    message runs the dashboard's code only with values its controls offer. The kernel itself
    may still change the control (e.g. lower a slider's ``max``)."""
    allowed = tuple(settable)
    bounds = declared_range(control)
    accept = control.set_state  # what a front-end update message calls (Widget._handle_msg)

    def set_state(sync_data: dict) -> None:
        state = {key: value for key, value in sync_data.items() if key in allowed}
        if "value" in state and bounds is not None:
            value = state["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                del state["value"]
            else:
                state["value"] = type(control.value)(min(max(value, bounds[0]), bounds[1]))
        if state:
            accept(state)

    control.set_state = set_state
    return control


def guard_all(controls: Iterable[w.Widget], outputs: Iterable[w.Widget] = ()) -> None:
    """:func:`guard` each of ``controls``; ``outputs`` accept nothing from a browser."""
    for control in controls:
        guard(control)
    for output in outputs:
        guard(output, settable=())


def _wire(box: w.Box, controls: tuple, update: object, result: w.Widget) -> w.Box:
    """Redraw on every change of ``controls``, draw once now, and expose ``result`` as
    ``box.result`` for tests and callers that read the outcome. What a browser can set on
    the controls is checked in the kernel (:func:`guard_all`)."""
    guard_all(controls, [result])
    for control in controls:
        control.observe(update, names="value")
    update()
    box.result = result
    return box


def _two_columns(controls: tuple, result: w.Widget) -> w.VBox:
    """The controls in two columns (three on the left), the result below."""
    return w.VBox([w.HBox([w.VBox(list(controls[:3])), w.VBox(list(controls[3:]))]), result])


def tier_explorer() -> w.VBox:
    """Controls for :func:`edgelab.tiers.place` and the placement it suggests."""
    budget = w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                              description="deadline (ms)", readout_format=".0f", style=WIDE)
    connectivity = w.Dropdown(options=tiers.CONNECTIVITY, value="always", description="network", style=WIDE)
    power = w.Dropdown(options=tiers.POWER, value="mains", description="power", style=WIDE)
    private = w.Checkbox(value=False, description="raw data must stay on site")
    heavy = w.Checkbox(value=False, description="model needs a server")
    raw = w.FloatSlider(value=0.1, min=0, max=50, step=0.1, description="sensor Mbit/s", style=WIDE)
    uplink = w.FloatSlider(value=10, min=0.1, max=100, step=0.1, description="uplink Mbit/s", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        placement = tiers.place(latency_budget_ms=budget.value, connectivity=connectivity.value,
                                power=power.value, private_data=private.value,
                                raw_data_mbps=raw.value, uplink_mbps=uplink.value,
                                heavy_model=heavy.value)
        items = "".join(f"<li>{reason}</li>" for reason in placement.reasons)
        result.value = (f"<b>Suggested tier: {placement.tier.name}</b>"
                        f"<ul>{items}</ul><i>{placement.tier.description}</i>")

    controls = (budget, connectivity, power, private, heavy, raw, uplink)
    return _wire(_two_columns(controls, result), controls, update, result)


def _pre(text: str) -> str:
    import html

    return f"<pre style='line-height:1.3'>{html.escape(text)}</pre>"


def latency_explorer(n: int = 20_000) -> w.VBox:
    """Controls for :func:`edgelab.network.compare` (cloud over a link vs inference on the
    device) and :func:`edgelab.budget.crossover_payload_bytes`, with ``n`` seeded requests."""
    from edgelab import budget, network

    link = w.Dropdown(options=network.links(), value="4g-lte", description="link", style=WIDE)
    payload = w.FloatLogSlider(value=50, base=10, min=-1, max=4, step=0.05, description="payload (KB)",
                               readout_format=".1f", style=WIDE)
    server = w.FloatSlider(value=5, min=0, max=200, step=0.5, description="cloud inference (ms)", style=WIDE)
    edge = w.FloatSlider(value=30, min=0.5, max=500, step=0.5, description="edge inference (ms)", style=WIDE)
    deadline = w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05, description="deadline (ms)",
                                readout_format=".0f", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        payload_bytes = payload.value * 1000.0
        comparison = network.compare(payload_bytes, link=link.value, server_ms=server.value,
                                     edge_ms=edge.value, n=n, seed=0, deadline_ms=deadline.value)
        crossover = budget.crossover_payload_bytes(link.value, edge.value, server_ms=server.value)
        if crossover == 0:
            verdict = "the edge answers faster than the cloud's median round trip for any payload"
        elif crossover == float("inf"):
            verdict = "the cloud's median round trip stays faster for payloads up to 1 GB"
        else:
            verdict = f"the edge wins (median) from a payload of {crossover / 1000:,.1f} KB"
        result.value = _pre(comparison.format_table() + f"\ncrossover on {link.value}: {verdict}")

    controls = (link, payload, server, edge, deadline)
    return _wire(_two_columns(controls, result), controls, update, result)


RESOLUTIONS = {"640x480": (640, 480), "1280x720": (1280, 720), "1920x1080": (1920, 1080),
               "3840x2160": (3840, 2160)}


def data_plan_explorer() -> w.VBox:
    """Controls for :func:`edgelab.budget.data_plan`: bytes per day per camera and for a fleet,
    streaming raw video, streaming compressed video, or sending events."""
    from edgelab import budget

    resolution = w.Dropdown(options=list(RESOLUTIONS), value="1920x1080", description="resolution",
                            style=WIDE)
    fps = w.FloatSlider(value=30, min=1, max=60, step=1, description="frames/s", style=WIDE)
    mbps = w.FloatSlider(value=8, min=0.5, max=25, step=0.5, description="compressed Mbit/s", style=WIDE)
    events = w.FloatLogSlider(value=10, base=10, min=-1, max=4, step=0.1, description="events per hour",
                              readout_format=".1f", style=WIDE)
    event_bytes = w.IntSlider(value=200, min=10, max=100_000, step=10, description="bytes per event",
                              style=WIDE)
    fleet = w.IntSlider(value=1000, min=1, max=100_000, step=1, description="cameras", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        width, height = RESOLUTIONS[resolution.value]
        plans = [budget.data_plan(mode, fleet.value, width=width, height=height, fps=fps.value,
                                  compressed_mbps=mbps.value, events_per_hour=events.value,
                                  event_bytes=event_bytes.value) for mode in budget.MODES]
        lines = [plan.describe() for plan in plans]
        ratio = plans[0].bytes_per_device_per_day / plans[2].bytes_per_device_per_day
        lines.append(f"raw video sends {ratio:,.0f}x the bytes of the events")
        result.value = _pre("\n".join(lines))

    controls = (resolution, fps, mbps, events, event_bytes, fleet)
    return _wire(_two_columns(controls, result), controls, update, result)


BYTES_PER_WEIGHT = {"fp32": 4, "fp16": 2, "int8": 1}


def device_explorer() -> w.VBox:
    """Controls for :func:`edgelab.budget.choose_device`: describe a model and the limits, read
    which devices meet them (latencies are roofline estimates)."""
    from edgelab import budget
    from edgelab.stats import ModelStats

    macs = w.FloatLogSlider(value=300, base=10, min=-1, max=4, step=0.05, description="M MACs",
                            readout_format=".1f", style=WIDE)
    params = w.FloatLogSlider(value=3.4, base=10, min=-2, max=2.5, step=0.05, description="M parameters",
                              readout_format=".2f", style=WIDE)
    precision = w.Dropdown(options=list(BYTES_PER_WEIGHT), value="int8", description="precision", style=WIDE)
    latency = w.FloatLogSlider(value=50, base=10, min=0, max=4, step=0.05, description="max latency (ms)",
                               readout_format=".0f", style=WIDE)
    power = w.FloatSlider(value=10, min=0.01, max=20, step=0.01, description="max power (W)", style=WIDE)
    cost = w.FloatSlider(value=150, min=10, max=700, step=5, description="max cost ($)", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        n_params = int(params.value * 1e6)
        model = ModelStats("your model", macs=int(macs.value * 1e6), params=n_params,
                           weight_bytes=n_params * BYTES_PER_WEIGHT[precision.value],
                           precision=precision.value)
        choice = budget.choose_device(model, max_latency_ms=latency.value, max_power_w=power.value,
                                      max_cost_usd=cost.value)
        pick = choice.pick or "none: relax a limit or shrink the model"
        result.value = _pre(f"pick: {pick}\n\n{choice.table()}")

    controls = (macs, params, precision, latency, power, cost)
    return _wire(_two_columns(controls, result), controls, update, result)


def report_explorer(report: object, model: object) -> w.VBox:
    """Controls for :func:`edgelab.device_report.check_report`: move the accuracy floor and the
    latency budget, read whether the saved device report passes and why."""
    from edgelab import device_report

    accuracy = w.FloatSlider(value=0.9, min=0.5, max=1.0, step=0.01, description="min accuracy", style=WIDE)
    budget = w.FloatLogSlider(value=10, base=10, min=-3, max=3, step=0.05, description="max p50 (ms)",
                              readout_format=".3g", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        check = device_report.check_report(report, model, min_accuracy=accuracy.value,
                                           max_p50_ms=budget.value)
        result.value = _pre(str(check))
        box.check = check

    box = w.VBox([w.HBox([accuracy, budget]), result])
    return _wire(box, (accuracy, budget), update, result)


def drift_explorer(n: int = 1000) -> w.VBox:
    """Controls for :func:`edgelab.drift.sensor_drift`: change the sensor in the field (gain,
    extra noise) and read the PSI of the window RMS against the training data."""
    from edgelab import drift

    gain = w.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.01, description="sensor gain", style=WIDE)
    noise = w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="extra noise (g)", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        found = drift.sensor_drift(gain.value, noise.value, n=n)
        result.value = _pre(f"PSI {found['psi']:.3f}: {found['level']}\n"
                            f"median window RMS: training {found['reference_rms']:.4f}, "
                            f"field {found['current_rms']:.4f}\n"
                            f"(stable < {drift.STABLE_BELOW}, drift > {drift.DRIFT_ABOVE}: a rule of thumb)")
        box.found = found

    box = w.VBox([w.HBox([gain, noise]), result])
    return _wire(box, (gain, noise), update, result)


def tflite_explorer(model: object) -> w.VBox:
    """Pick a tensor of a ``.tflite`` model (bytes or a ConvertedModel) and read it:
    :func:`edgelab.lessonkit.tensor_rows`, plus the ops that read or write it."""
    from edgelab import lessonkit
    from edgelab.convert import ConvertedModel

    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(bytes(model))
    rows = lessonkit.tensor_rows(converted)
    options = [(f"{r['index']}: {r['name'][:60]}", r["index"]) for r in rows]
    tensor = w.Dropdown(options=options, value=rows[0]["index"], description="tensor", style=WIDE,
                        layout=w.Layout(width="90%"))
    result = w.HTML()

    def update(*_: object) -> None:
        row = rows[tensor.value]
        readers = [op.name for op in converted.info.operators if row["index"] in op.inputs]
        writers = [op.name for op in converted.info.operators if row["index"] in op.outputs]
        kind = ("model input" if row["index"] in converted.info.inputs else
                "model output" if row["index"] in converted.info.outputs else
                "constant (weights stored in the file)" if row["constant"] else
                "activation (computed at run time)")
        quant = (f"{row['scales']} scale(s), first {row['scale']:.6g}, zero point {row['zero_point']}"
                 if row["scales"] else "none (a float tensor)")
        result.value = _pre(f"{row['name']}\n  kind: {kind}\n  dtype {row['dtype']}, "
                            f"shape {list(row['shape'])}, {row['bytes']:,} bytes in the file\n"
                            f"  quantization: {quant}\n  written by: {', '.join(writers) or '-'}; "
                            f"read by: {', '.join(readers) or '-'}")
        box.row = row

    box = w.VBox([tensor, result])
    return _wire(box, (tensor,), update, result)


def quantization_explorer(values: object, name: str = "weights") -> w.VBox:
    """Quantize an array with :func:`edgelab.quantize.quantization_params` (bits, symmetric or
    not, per-tensor or per-channel along the last axis) and read the error it makes."""
    import numpy as np

    from edgelab import quantize

    arr = np.asarray(values, dtype=np.float64)
    bits = w.Dropdown(options=list(quantize.BIT_WIDTHS), value=8, description="bits", style=WIDE)
    symmetric = w.Checkbox(value=True, description="symmetric (zero point 0)")
    per_channel = w.Checkbox(value=False, description="per channel (last axis)", disabled=arr.ndim < 2)
    result = w.HTML()

    def update(*_: object) -> None:
        axis = -1 if per_channel.value and arr.ndim >= 2 else None
        scale, zero = quantize.quantization_params(arr, bits.value, symmetric.value, axis)
        err = quantize.quantization_error(arr, bits.value, symmetric.value, axis)
        scales = np.atleast_1d(scale)
        result.value = _pre(f"{name}: {arr.size:,} values in [{arr.min():.4g}, {arr.max():.4g}]\n"
                            f"{len(scales)} scale(s): {scales.min():.4g} .. {scales.max():.4g}; "
                            f"zero point(s) {sorted(set(np.atleast_1d(zero).tolist()))[:4]}\n"
                            f"max |error| {err.max_abs:.4g}, mean |error| {err.mean_abs:.4g}, "
                            f"SQNR {err.sqnr_db:.1f} dB\n"
                            f"size: {arr.size * 4:,} bytes as float32 -> "
                            f"{arr.size * bits.value / 8:,.0f} bytes at {bits.value} bits")
        box.error = err

    box = w.VBox([w.HBox([bits, symmetric, per_channel]), result])
    return _wire(box, (bits, symmetric, per_channel), update, result)


def pruning_explorer(weights: object, name: str = "weights") -> w.VBox:
    """Prune an array by magnitude with :func:`edgelab.lessonkit.pruning_stats`: move the
    sparsity, read the threshold, the error and the compressed sizes."""
    import numpy as np

    from edgelab import lessonkit

    arr = np.asarray(weights, dtype=np.float32)
    sparsity = w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="sparsity", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        stats = lessonkit.pruning_stats(arr, sparsity.value)
        result.value = _pre(f"{name}: {arr.size:,} weights, {stats['kept']:,} kept "
                            f"({stats['sparsity']:.1%} zero; threshold |w| <= {stats['threshold']:.4g})\n"
                            f"relative error (removed / all, L2): {stats['relative_error']:.3f}\n"
                            f"float32: {stats['float32_bytes']:,} bytes, "
                            f"zlib {stats['float32_compressed']:,}; int8 + zlib {stats['int8_compressed']:,} "
                            f"({stats['float32_bytes'] / stats['int8_compressed']:.1f}x smaller)")
        box.stats = stats

    box = w.VBox([sparsity, result])
    return _wire(box, (sparsity,), update, result)
