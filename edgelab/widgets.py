"""Interactive explorers for the lessons and demos (ipywidgets).

Each explorer is made by :func:`edgelab.ui.explorer`: controls, a plain ``*_numbers`` function
of their values (function first, widget second, as in the ipywidgets Lorenz example: tested
with pytest without widgets), a figure of :mod:`edgelab.figures` drawn from those numbers and a
short text. Tests set a control's ``.value`` and read ``box.numbers`` and ``box.plot``.
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping

import ipywidgets as w
import numpy as np

from edgelab import tiers
from edgelab.ui import BROWSER_SETTABLE, WIDE, declared_range, explorer, guard, guard_all, pre

__all__ = ["BROWSER_SETTABLE", "WIDE", "declared_range", "guard", "guard_all", "tier_explorer",
           "latency_explorer", "data_plan_explorer", "device_explorer", "report_explorer",
           "drift_explorer", "tflite_explorer", "quantization_explorer", "pruning_explorer"]


def _items(lines: Any) -> str:
    return "".join(f"<li>{html.escape(str(line))}</li>" for line in lines)


# ------------------------------------------------------------------------------------ tiers

def tier_numbers(latency_budget_ms: float, connectivity: str = "always", power: str = "mains",
                 private_data: bool = False, heavy_model: bool = False, raw_data_mbps: float = 0.0,
                 uplink_mbps: float = 10.0) -> dict:
    """The placement :func:`edgelab.tiers.place` suggests for the workload, as plain values."""
    placement = tiers.place(latency_budget_ms=latency_budget_ms, connectivity=connectivity, power=power,
                            private_data=private_data, raw_data_mbps=raw_data_mbps, uplink_mbps=uplink_mbps,
                            heavy_model=heavy_model)
    workload = (f"deadline {latency_budget_ms:,.0f} ms · network {connectivity} · power {power} · "
                f"{'private data' if private_data else 'data may leave'} · "
                f"{'server-sized model' if heavy_model else 'small model'} · "
                f"{raw_data_mbps:g} Mbit/s sensed, {uplink_mbps:g} Mbit/s uplink")
    return {"tier": placement.tier.name, "tier_id": placement.tier.id, "reasons": list(placement.reasons),
            "description": placement.tier.description, "latency_budget_ms": float(latency_budget_ms),
            "workload": workload}


def tier_explorer() -> w.VBox:
    """Controls for :func:`edgelab.tiers.place` and the placement it suggests, drawn on the
    tiers' typical round trips (:func:`edgelab.figures.tier_choice`)."""
    from edgelab import figures

    controls = {
        "latency_budget_ms": w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                                              description="deadline (ms)", readout_format=".0f", style=WIDE),
        "connectivity": w.Dropdown(options=tiers.CONNECTIVITY, value="always", description="network",
                                   style=WIDE),
        "power": w.Dropdown(options=tiers.POWER, value="mains", description="power", style=WIDE),
        "private_data": w.Checkbox(value=False, description="raw data must stay on site"),
        "heavy_model": w.Checkbox(value=False, description="model needs a server"),
        "raw_data_mbps": w.FloatSlider(value=0.1, min=0, max=50, step=0.1, description="sensor Mbit/s",
                                       style=WIDE),
        "uplink_mbps": w.FloatSlider(value=10, min=0.1, max=100, step=0.1, description="uplink Mbit/s",
                                     style=WIDE),
    }

    def draw(n: dict) -> Any:
        return figures.tier_choice(n["latency_budget_ms"], n["tier"], n["workload"])

    def summary(n: dict) -> str:
        return (f"<b>Suggested tier: {html.escape(n['tier'])}</b><ul>{_items(n['reasons'])}</ul>"
                f"<i>{html.escape(n['description'])}</i>")

    return explorer(controls, tier_numbers, draw, summary)


# ---------------------------------------------------------------------------------- latency

def latency_numbers(link: str, payload_kb: float, server_ms: float, edge_ms: float, deadline_ms: float,
                    n: int = 20_000) -> dict:
    """Cloud over ``link`` against inference on the device (:func:`edgelab.network.compare`, ``n``
    requests, seed 0): the summary table, both latency samples (ms; inf = failed) and the
    crossover payload (bytes, :func:`edgelab.budget.crossover_payload_bytes`)."""
    from edgelab import budget, network

    comparison = network.compare(payload_kb * 1000.0, link=link, server_ms=server_ms, edge_ms=edge_ms,
                                 n=n, seed=0, deadline_ms=deadline_ms)
    return {"link": link, "table": comparison.summary(show=False), "text": comparison.format_table(),
            "cloud_ms": comparison.cloud.latency_ms, "edge_ms": comparison.edge.latency_ms,
            "deadline_ms": float(deadline_ms),
            "crossover_bytes": budget.crossover_payload_bytes(link, edge_ms, server_ms=server_ms)}


def crossover_text(crossover_bytes: float, link: str) -> str:
    """The crossover payload (bytes, 0 or inf as :func:`edgelab.budget.crossover_payload_bytes`
    returns them) as a sentence."""
    if crossover_bytes == 0:
        return f"on {link} the edge answers faster than the cloud's median round trip for any payload"
    if math.isinf(crossover_bytes):
        return f"on {link} the cloud's median round trip stays faster for payloads up to 1 GB"
    return f"on {link} the edge wins (median) from a payload of {crossover_bytes / 1000:,.1f} KB"


def latency_explorer(n: int = 20_000) -> w.VBox:
    """Controls for :func:`edgelab.network.compare` (cloud over a link vs inference on the
    device) and :func:`edgelab.budget.crossover_payload_bytes`, with ``n`` seeded requests;
    the latency CDFs drawn by :func:`edgelab.figures.latency_cdf`."""
    from edgelab import figures, network

    controls = {
        "link": w.Dropdown(options=network.links(), value="4g-lte", description="link", style=WIDE),
        "payload_kb": w.FloatLogSlider(value=50, base=10, min=-1, max=4, step=0.05,
                                       description="payload (KB)", readout_format=".1f", style=WIDE),
        "server_ms": w.FloatSlider(value=5, min=0, max=200, step=0.5, description="cloud inference (ms)",
                                   style=WIDE),
        "edge_ms": w.FloatSlider(value=30, min=0.5, max=500, step=0.5, description="edge inference (ms)",
                                 style=WIDE),
        "deadline_ms": w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                                        description="deadline (ms)", readout_format=".0f", style=WIDE),
    }

    def numbers(**values: Any) -> dict:
        return latency_numbers(**values, n=n)

    def draw(found: dict) -> Any:
        return figures.latency_cdf({f"cloud over {found['link']}": found["cloud_ms"],
                                    "edge (on the device)": found["edge_ms"]}, found["deadline_ms"])

    def summary(found: dict) -> str:
        return pre(found["text"] + "\ncrossover " + crossover_text(found["crossover_bytes"], found["link"]))

    return explorer(controls, numbers, draw, summary)


# -------------------------------------------------------------------------------- data plan

RESOLUTIONS = {"640x480": (640, 480), "1280x720": (1280, 720), "1920x1080": (1920, 1080),
               "3840x2160": (3840, 2160)}
MODE_LABELS = {"raw": "raw video", "compressed": "compressed video", "events": "events only"}


def data_plan_numbers(resolution: str, fps: float, compressed_mbps: float, events_per_hour: float,
                      event_bytes: int, fleet: int) -> dict:
    """:func:`edgelab.budget.data_plan` in each of its modes: bytes per day per device and for
    the fleet, and how many times more raw video sends than the events."""
    from edgelab import budget

    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}; got {resolution!r}")
    width, height = RESOLUTIONS[resolution]
    plans = [budget.data_plan(mode, fleet, width=width, height=height, fps=fps,
                              compressed_mbps=compressed_mbps, events_per_hour=events_per_hour,
                              event_bytes=event_bytes) for mode in budget.MODES]
    return {"per_device": {p.mode: p.bytes_per_device_per_day for p in plans},
            "fleet": {p.mode: p.fleet_bytes_per_day for p in plans}, "n_devices": int(fleet),
            "lines": [p.describe() for p in plans],
            "raw_over_events": plans[0].bytes_per_device_per_day / plans[2].bytes_per_device_per_day}


def data_plan_explorer() -> w.VBox:
    """Controls for :func:`edgelab.budget.data_plan`: bytes per day per camera and for a fleet,
    streaming raw video, streaming compressed video, or sending events; the fleet's bytes per
    day drawn by :func:`edgelab.figures.bytes_per_day`."""
    from edgelab import figures

    controls = {
        "resolution": w.Dropdown(options=list(RESOLUTIONS), value="1920x1080", description="resolution",
                                 style=WIDE),
        "fps": w.FloatSlider(value=30, min=1, max=60, step=1, description="frames/s", style=WIDE),
        "compressed_mbps": w.FloatSlider(value=8, min=0.5, max=25, step=0.5, description="compressed Mbit/s",
                                         style=WIDE),
        "events_per_hour": w.FloatLogSlider(value=10, base=10, min=-1, max=4, step=0.1,
                                            description="events per hour", readout_format=".1f", style=WIDE),
        "event_bytes": w.IntSlider(value=200, min=10, max=100_000, step=10, description="bytes per event",
                                   style=WIDE),
        "fleet": w.IntSlider(value=1000, min=1, max=100_000, step=1, description="cameras", style=WIDE),
    }

    def draw(n: dict) -> Any:
        rows = {MODE_LABELS[mode]: value for mode, value in n["fleet"].items()}
        title = f"What a fleet of {n['n_devices']:,} cameras sends in one day"
        return figures.bytes_per_day(rows, title=title)

    def summary(n: dict) -> str:
        ratio = f"raw video sends {n['raw_over_events']:,.0f}x the bytes of the events"
        return pre("\n".join(n["lines"] + [ratio]))

    return explorer(controls, data_plan_numbers, draw, summary)


# ---------------------------------------------------------------------------------- devices

BYTES_PER_WEIGHT = {"fp32": 4, "fp16": 2, "int8": 1}


def device_numbers(macs_m: float, params_m: float, precision: str, max_latency_ms: float,
                   max_power_w: float, max_cost_usd: float) -> dict:
    """:func:`edgelab.budget.choose_device` for a model of ``macs_m`` million MACs and
    ``params_m`` million parameters stored at ``precision``: every candidate and the pick."""
    from edgelab import budget
    from edgelab.stats import ModelStats

    if precision not in BYTES_PER_WEIGHT:
        raise ValueError(f"precision must be one of {', '.join(BYTES_PER_WEIGHT)}; got {precision!r}")
    n_params = int(params_m * 1e6)
    model = ModelStats("your model", macs=int(macs_m * 1e6), params=n_params,
                       weight_bytes=n_params * BYTES_PER_WEIGHT[precision], precision=precision)
    choice = budget.choose_device(model, max_latency_ms=max_latency_ms, max_power_w=max_power_w,
                                  max_cost_usd=max_cost_usd)
    limits = (f"{macs_m:,.3g} M MACs, {params_m:,.3g} M parameters at {precision}; "
              f"at most {max_latency_ms:,.3g} ms, {max_power_w:g} W, ${max_cost_usd:,.0f}")
    return {"pick": choice.pick, "table": choice.table(), "max_latency_ms": float(max_latency_ms),
            "limits": limits,
            "candidates": [{"device": c.device, "estimate_ms": c.estimate_ms, "power_w": c.power_w,
                            "cost_usd": c.cost_usd, "ok": c.ok, "problems": list(c.problems)}
                           for c in choice.candidates]}


def device_explorer() -> w.VBox:
    """Controls for :func:`edgelab.budget.choose_device`: describe a model and the limits, read
    which devices meet them (latencies are roofline estimates, drawn by
    :func:`edgelab.figures.device_latencies`)."""
    from edgelab import figures

    controls = {
        "macs_m": w.FloatLogSlider(value=300, base=10, min=-1, max=4, step=0.05, description="M MACs",
                                   readout_format=".1f", style=WIDE),
        "params_m": w.FloatLogSlider(value=3.4, base=10, min=-2, max=2.5, step=0.05,
                                     description="M parameters", readout_format=".2f", style=WIDE),
        "precision": w.Dropdown(options=list(BYTES_PER_WEIGHT), value="int8", description="precision",
                                style=WIDE),
        "max_latency_ms": w.FloatLogSlider(value=50, base=10, min=0, max=4, step=0.05,
                                           description="max latency (ms)", readout_format=".0f", style=WIDE),
        "max_power_w": w.FloatSlider(value=10, min=0.01, max=20, step=0.01, description="max power (W)",
                                     style=WIDE),
        "max_cost_usd": w.FloatSlider(value=150, min=10, max=700, step=5, description="max cost ($)",
                                      style=WIDE),
    }

    def draw(n: dict) -> Any:
        return figures.device_latencies(n["candidates"], n["max_latency_ms"], n["pick"], n["limits"])

    def summary(n: dict) -> str:
        return pre(f"pick: {n['pick'] or 'none: relax a limit or shrink the model'}\n\n{n['table']}")

    return explorer(controls, device_numbers, draw, summary)


# ---------------------------------------------------------------------------- device report

def report_numbers(report: object, model: object, min_accuracy: float, max_p50_ms: float) -> dict:
    """:func:`edgelab.device_report.check_report` of a saved report against ``model``: the
    verdict, its problems and the two values checked."""
    from edgelab import device_report

    check = device_report.check_report(report, model, min_accuracy=min_accuracy, max_p50_ms=max_p50_ms)
    return {"ok": check.ok, "problems": list(check.problems), "flags": list(check.flags),
            "accuracy": check.accuracy, "p50_ms": check.p50_ms, "min_accuracy": float(min_accuracy),
            "max_p50_ms": float(max_p50_ms), "text": str(check)}


def report_explorer(report: object, model: object) -> w.VBox:
    """Controls for :func:`edgelab.device_report.check_report`: move the accuracy floor and the
    latency budget, read whether the saved device report passes and why (drawn by
    :func:`edgelab.figures.report_check`)."""
    from edgelab import figures

    controls = {
        "min_accuracy": w.FloatSlider(value=0.9, min=0.5, max=1.0, step=0.01, description="min accuracy",
                                      style=WIDE),
        "max_p50_ms": w.FloatLogSlider(value=10, base=10, min=-3, max=3, step=0.05,
                                       description="max p50 (ms)", readout_format=".3g", style=WIDE),
    }

    def numbers(min_accuracy: float, max_p50_ms: float) -> dict:
        return report_numbers(report, model, min_accuracy, max_p50_ms)

    def draw(n: dict) -> Any:
        return figures.report_check(n["accuracy"], n["min_accuracy"], n["p50_ms"], n["max_p50_ms"])

    return explorer(controls, numbers, draw, lambda n: pre(n["text"]))


# ------------------------------------------------------------------------------------ drift

def drift_numbers(gain: float, noise_g: float, n: int = 1000) -> dict:
    """:func:`edgelab.drift.sensor_drift` (PSI of the window RMS of field data against the
    training data) and both sets of window RMS values it compares."""
    from edgelab import drift

    found = drift.sensor_drift(gain, noise_g, n=n)
    reference = drift.window_rms(drift.degraded_windows(n, 1.0, 0.0, seed=0))
    current = drift.window_rms(drift.degraded_windows(n, gain, noise_g, seed=1))
    return dict(found, reference=reference, current=current)


def drift_explorer(n: int = 1000) -> w.VBox:
    """Controls for :func:`edgelab.drift.sensor_drift`: change the sensor in the field (gain,
    extra noise) and read the PSI of the window RMS against the training data, drawn as the two
    histograms (:func:`edgelab.figures.drift_histograms`)."""
    from edgelab import drift, figures

    controls = {
        "gain": w.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.01, description="sensor gain", style=WIDE),
        "noise_g": w.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.01, description="extra noise (g)",
                                 style=WIDE),
    }

    def numbers(gain: float, noise_g: float) -> dict:
        return drift_numbers(gain, noise_g, n=n)

    def draw(found: dict) -> Any:
        return figures.drift_histograms(found["reference"], found["current"], feature="window RMS (g)")

    def summary(found: dict) -> str:
        return pre(f"PSI {found['psi']:.3f}: {found['level']}\n"
                   f"median window RMS: training {found['reference_rms']:.4f}, "
                   f"field {found['current_rms']:.4f}\n"
                   f"(stable < {drift.STABLE_BELOW}, drift > {drift.DRIFT_ABOVE}: a rule of thumb)")

    return explorer(controls, numbers, draw, summary)


# ----------------------------------------------------------------------------------- tflite

def tflite_numbers(model: object, tensor: int) -> dict:
    """Tensor ``tensor`` of a ``.tflite`` model (bytes or a ConvertedModel): its row of
    :func:`edgelab.convert.tensor_rows`, what kind it is, the operators (positions in execution
    order) that write and read it, and every operator's bytes (:func:`edgelab.figures.layer_bytes`)."""
    from edgelab import figures
    from edgelab.convert import ConvertedModel, tensor_rows

    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(bytes(model))
    rows = tensor_rows(converted)
    if isinstance(tensor, bool) or not isinstance(tensor, int) or not 0 <= tensor < len(rows):
        raise ValueError(f"tensor must be a tensor index 0 .. {len(rows) - 1}; got {tensor!r}")
    row = rows[tensor]
    ops = converted.info.operators
    kind = ("model input" if tensor in converted.info.inputs else
            "model output" if tensor in converted.info.outputs else
            "constant (weights stored in the file)" if row["constant"] else
            "activation (computed at run time)")
    return {"row": row, "kind": kind, "layers": figures.layer_bytes(converted),
            "readers": [k for k, op in enumerate(ops) if tensor in op.inputs],
            "writers": [k for k, op in enumerate(ops) if tensor in op.outputs],
            "op_names": [op.name for op in ops]}


def tflite_explorer(model: object) -> w.VBox:
    """Pick a tensor of a ``.tflite`` model (bytes or a ConvertedModel) and read it:
    :func:`edgelab.convert.tensor_rows`, plus the ops that read or write it, drawn among the
    model's operators (:func:`edgelab.figures.tensor_use`)."""
    from edgelab import figures
    from edgelab.convert import ConvertedModel, tensor_rows

    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(bytes(model))
    rows = tensor_rows(converted)
    options = [(f"{r['index']}: {r['name'][:60]}", r["index"]) for r in rows]
    controls = {"tensor": w.Dropdown(options=options, value=rows[0]["index"], description="tensor",
                                     style=WIDE, layout=w.Layout(width="90%"))}

    def numbers(tensor: int) -> dict:
        return tflite_numbers(converted, tensor)

    def draw(n: dict) -> Any:
        return figures.tensor_use(n["layers"], n["readers"], n["writers"], n["row"]["name"])

    def summary(n: dict) -> str:
        row = n["row"]
        quant = (f"{row['scales']} scale(s), first {row['scale']:.6g}, zero point {row['zero_point']}"
                 if row["scales"] else "none (a float tensor)")
        writers = ", ".join(n["op_names"][k] for k in n["writers"]) or "-"
        readers = ", ".join(n["op_names"][k] for k in n["readers"]) or "-"
        return pre(f"{row['name']}\n  kind: {n['kind']}\n  dtype {row['dtype']}, shape {list(row['shape'])}, "
                   f"{row['bytes']:,} bytes in the file\n  quantization: {quant}\n"
                   f"  written by: {writers}; read by: {readers}")

    return explorer(controls, numbers, draw, summary)


# ----------------------------------------------------------------------------- quantization

def quantization_numbers(values: object, bits: int, symmetric: bool, per_channel: bool) -> dict:
    """Quantize ``values`` with :func:`edgelab.quantize.quantization_params` (per tensor, or per
    channel along the last axis when ``per_channel`` and the array has two or more axes): the
    scales, zero points, the error (:func:`edgelab.quantize.quantization_error`) and the sizes.
    ``shown`` is the channel drawn: the one with the finest grid (all values per tensor)."""
    from edgelab import quantize

    arr = np.asarray(values, dtype=np.float64)
    axis = -1 if per_channel and arr.ndim >= 2 else None
    scale, zero = quantize.quantization_params(arr, bits, symmetric, axis)
    err = quantize.quantization_error(arr, bits, symmetric, axis)
    scales = np.atleast_1d(scale).astype(float)
    zeros = np.atleast_1d(zero).astype(int)
    shown = int(np.argmin(scales)) if axis is not None else None
    return {"bits": int(bits), "symmetric": bool(symmetric), "per_channel": axis is not None,
            "size": int(arr.size), "min": float(arr.min()), "max": float(arr.max()),
            "scales": scales.tolist(), "zero_points": zeros.tolist(), "mse": float(err.mse),
            "max_abs": float(err.max_abs), "mean_abs": float(err.mean_abs), "sqnr_db": float(err.sqnr_db),
            "float32_bytes": int(arr.size * 4), "quantized_bytes": arr.size * bits / 8, "shown": shown}


def quantization_explorer(values: object, name: str = "weights") -> w.VBox:
    """Quantize an array with :func:`edgelab.quantize.quantization_params` (bits, symmetric or
    not, per-tensor or per-channel along the last axis) and read the error it makes; the grid is
    drawn over the values' histogram (:func:`edgelab.figures.quantization_grid`; per channel, the
    channel with the finest grid)."""
    from edgelab import figures, quantize

    arr = np.asarray(values, dtype=np.float64)
    controls = {
        "bits": w.Dropdown(options=list(quantize.BIT_WIDTHS), value=8, description="bits", style=WIDE),
        "symmetric": w.Checkbox(value=True, description="symmetric (zero point 0)"),
        "per_channel": w.Checkbox(value=False, description="per channel (last axis)", disabled=arr.ndim < 2),
    }

    def numbers(bits: int, symmetric: bool, per_channel: bool) -> dict:
        return quantization_numbers(arr, bits, symmetric, per_channel)

    def draw(n: dict) -> Any:
        if n["shown"] is None:
            return figures.quantization_grid(arr, n["bits"], n["symmetric"], name=name)
        k = n["shown"]
        return figures.quantization_grid(arr[..., k], n["bits"], n["symmetric"], scale=n["scales"][k],
                                         zero_point=n["zero_points"][k],
                                         name=f"{name}, channel {k} of {len(n['scales'])}")

    def summary(n: dict) -> str:
        zeros = sorted(set(n["zero_points"]))[:4]
        return pre(f"{name}: {n['size']:,} values in [{n['min']:.4g}, {n['max']:.4g}]\n"
                   f"{len(n['scales'])} scale(s): {min(n['scales']):.4g} .. {max(n['scales']):.4g}; "
                   f"zero point(s) {zeros}\n"
                   f"max |error| {n['max_abs']:.4g}, mean |error| {n['mean_abs']:.4g}, "
                   f"SQNR {n['sqnr_db']:.1f} dB\n"
                   f"size: {n['float32_bytes']:,} bytes as float32 -> "
                   f"{n['quantized_bytes']:,.0f} bytes at {n['bits']} bits")

    def layout(found: Mapping[str, w.Widget], text: w.HTML, plot: w.Image) -> list:
        return [w.HBox(list(found.values())), text, plot]

    return explorer(controls, numbers, draw, summary, layout)


# ---------------------------------------------------------------------------------- pruning

def pruning_numbers(weights: object, sparsity: float) -> dict:
    """:func:`edgelab.prune.pruning_stats` of ``weights`` pruned by magnitude to ``sparsity``."""
    from edgelab import prune

    return dict(prune.pruning_stats(np.asarray(weights, dtype=np.float32), sparsity))


def pruning_explorer(weights: object, name: str = "weights") -> w.VBox:
    """Prune an array by magnitude with :func:`edgelab.prune.pruning_stats`: move the
    sparsity, read the threshold, the error and the compressed sizes, and see the threshold on
    the weights' histogram (:func:`edgelab.figures.pruning_threshold`)."""
    from edgelab import figures

    arr = np.asarray(weights, dtype=np.float32)
    controls = {"sparsity": w.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="sparsity",
                                          style=WIDE)}

    def numbers(sparsity: float) -> dict:
        return dict(pruning_numbers(arr, sparsity), requested=float(sparsity))

    def draw(n: dict) -> Any:
        return figures.pruning_threshold(arr, n["requested"], name=name)

    def summary(stats: dict) -> str:
        return pre(f"{name}: {arr.size:,} weights, {stats['kept']:,} kept "
                   f"({stats['sparsity']:.1%} zero; threshold |w| <= {stats['threshold']:.4g})\n"
                   f"relative error (removed / all, L2): {stats['relative_error']:.3f}\n"
                   f"float32: {stats['float32_bytes']:,} bytes, "
                   f"zlib {stats['float32_compressed']:,}; int8 + zlib {stats['int8_compressed']:,} "
                   f"({stats['float32_bytes'] / stats['int8_compressed']:.1f}x smaller)")

    return explorer(controls, numbers, draw, summary)
