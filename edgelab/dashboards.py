"""Full-page dashboards for the Voila demos (``demos/``): each wraps plain edgelab functions.

A dashboard is made by :func:`edgelab.ui.explorer`, as the notebook explorers are: controls, a
``*_numbers`` function of their values, a figure of :mod:`edgelab.figures` and an HTML summary.
The same object serves the browser (Voila) and the tests (set a control's ``.value`` in
``box.controls``, read ``box.numbers`` and ``box.plot``).
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping, Optional

import ipywidgets as w

from edgelab import devices, network, zoo
from edgelab.ui import WIDE, explorer

SIM_REQUESTS = 20_000  # enough for a stable p99, fast enough to redraw on every change
RESPONSE_BYTES = 200


def _cloud_names() -> list[str]:
    return [d for d in devices.devices() if d.startswith("cloud")]


def _edge_names() -> list[str]:
    return [d for d in devices.devices() if not d.startswith("cloud")]


def _fmt_ms(value: float) -> str:
    return "failed" if not math.isfinite(value) else f"{value:,.1f} ms"


# ---------------------------------------------------------------------------------- latency

def latency_numbers(*, link: str, payload_kb: float, request_rate: float, deadline_ms: float,
                    cloud: str, edge: str, model: str, seed: int = 0) -> dict[str, Any]:
    """Everything the latency dashboard shows, as plain numbers: :func:`edgelab.network.compare`'s
    summary table and latency samples (ms; inf = failed), and the crossover payload (bytes) from
    which the edge's simulated median beats the cloud's median round trip
    (:func:`edgelab.budget.crossover_payload_bytes`; None when the edge cannot run the model)."""
    from edgelab import budget

    stats = zoo.reference_model(model)
    result = network.compare(payload_bytes=payload_kb * 1000, response_bytes=RESPONSE_BYTES, link=link,
                             cloud=cloud, edge=edge, model=stats, n=SIM_REQUESTS, seed=seed,
                             deadline_ms=deadline_ms, request_rate=request_rate)
    table = result.summary(show=False)
    server_ms = devices.estimate_latency(cloud, stats).ms
    edge_p50 = table["edge"]["p50_ms"]
    crossover = (budget.crossover_payload_bytes(link, edge_p50, server_ms=server_ms,
                                                response_bytes=RESPONSE_BYTES)
                 if math.isfinite(edge_p50) else None)
    return {"table": table, "cloud_ms": result.cloud.latency_ms, "edge_ms": result.edge.latency_ms,
            "deadline_ms": float(deadline_ms), "server_ms": server_ms, "crossover_bytes": crossover,
            "link": link, "edge_note": result.edge.note or ""}


def _crossover_text(numbers: Mapping[str, Any]) -> str:
    cross = numbers["crossover_bytes"]
    if cross is None:
        return "the edge device cannot run this model"
    if cross == 0:
        return "the cloud is slower even for an empty request"
    if math.isinf(cross):
        return "the cloud stays faster for every payload up to 1 GB"
    return f"the edge wins for payloads from {cross / 1000:,.1f} kB"


def _latency_summary(numbers: Mapping[str, Any]) -> str:
    t = numbers["table"]
    rows = "".join(
        f"<tr><td>{title}</td><td>{_fmt_ms(t['cloud'][key])}</td><td>{_fmt_ms(t['edge'][key])}</td></tr>"
        for key, title in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")))
    rows += (f"<tr><td>missed deadline</td><td>{t['cloud']['deadline_miss_rate']:.1%}</td>"
             f"<td>{t['edge']['deadline_miss_rate']:.1%}</td></tr>"
             f"<tr><td>failed (link down)</td><td>{t['cloud']['failure_rate']:.1%}</td>"
             f"<td>{t['edge']['failure_rate']:.1%}</td></tr>"
             f"<tr><td>bytes sent / request</td><td>{t['cloud']['bytes_sent']:,.0f}</td>"
             f"<td>{t['edge']['bytes_sent']:,.0f}</td></tr>"
             f"<tr><td>energy / request</td>"
             f"<td>{t['cloud']['energy_mj_per_request']:,.1f} mJ radio</td>"
             f"<td>{t['edge']['energy_mj_per_request']:,.1f} mJ compute</td></tr>")
    note = numbers["edge_note"]
    return (f"<style>.edgelab-table td, .edgelab-table th {{white-space: nowrap; "
            f"padding: 2px 10px; text-align: right}}</style><table class='edgelab-table'>"
            f"<tr><th></th><th>cloud</th><th>edge</th></tr>{rows}"
            f"</table><p><b>Crossover (medians):</b> <span class='edgelab-crossover'>"
            f"{_crossover_text(numbers)}</span></p><p><i>Simulated ({SIM_REQUESTS:,} requests, seed 0); "
            f"latencies on devices are estimates.{' ' + html.escape(note) if note else ''}</i></p>")


def _draw_latency(numbers: Mapping[str, Any]) -> Any:
    from edgelab import figures

    return figures.latency_cdf({f"cloud over {numbers['link']}": numbers["cloud_ms"],
                                "edge (on the device)": numbers["edge_ms"]}, numbers["deadline_ms"])


def _side_by_side(split: int, text_width: str) -> Any:
    """A layout: the first ``split`` controls in one column, the rest in another, then the text
    (at least ``text_width`` wide) beside the plot."""

    def layout(controls: Mapping[str, w.Widget], text: w.HTML, plot: w.Image) -> list:
        shown = list(controls.values())
        text.layout.min_width = text_width
        return [w.HBox([w.VBox(shown[:split]), w.VBox(shown[split:])]), w.HBox([text, plot])]

    return layout


def latency_dashboard() -> w.VBox:
    """Cloud vs edge: latency CDFs, percentiles, deadline misses, bytes and energy per request."""
    controls = {
        "link": w.Dropdown(options=network.links(), value="4g-lte", description="link", style=WIDE),
        # on the slider's grid (10 ** 2): a value off it is snapped by the page, which sends it back
        "payload_kb": w.FloatLogSlider(value=100, base=10, min=-1, max=4, step=0.1,
                                       description="payload (kB)", readout_format=",.1f", style=WIDE),
        "request_rate": w.FloatSlider(value=5, min=0.5, max=50, step=0.5, description="requests / s",
                                      style=WIDE),
        "deadline_ms": w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                                        description="deadline (ms)", readout_format=",.0f", style=WIDE),
        "cloud": w.Dropdown(options=_cloud_names(), value="cloud-gpu-t4", description="cloud server",
                            style=WIDE),
        "edge": w.Dropdown(options=_edge_names(), value="raspberry-pi-5", description="edge device",
                           style=WIDE),
        "model": w.Dropdown(options=zoo.names(), value="mobilenet-v1-224-int8", description="model",
                            style=WIDE),
    }
    return explorer(controls, latency_numbers, _draw_latency, _latency_summary, _side_by_side(4, "440px"))


# ------------------------------------------------------------------------------------ fleet

_STATE_COLOURS = {"new": "#2e7d32", "rolled_back": "#c62828", "untouched": "#9e9e9e"}


def rollout_html(sim: Any) -> str:
    """Devices as coloured squares by stage: green = new model, red = failed and rolled back,
    grey = untouched (still on the old model)."""
    rows = []
    for stage in range(sim.planned_stages):
        ran = stage < len(sim.stages)
        chosen = sim.stages[stage].devices if ran else ()
        label = "canary" if stage == 0 else f"stage {stage}"
        if ran:
            verdict = "passed" if sim.stages[stage].passed else "FAILED → rolled back, rollout stopped"
        else:
            verdict = "not started"
        squares = "".join(
            f"<span title='device {d}' style='display:inline-block;width:14px;height:14px;margin:1px;"
            f"background:{_STATE_COLOURS[sim.states[d]]}'></span>" for d in chosen)
        rows.append(f"<tr><td>{label}</td><td>{squares or '…'}</td><td>{verdict}</td></tr>")
    counts = ", ".join(f"{sim.count(s)} {s.replace('_', ' ')}" for s in _STATE_COLOURS)
    return (f"<table class='edgelab-rollout'>{''.join(rows)}</table>"
            f"<p class='edgelab-rollout-counts'><b>{counts}</b></p>")


def fleet_numbers(*, devices: int, failure_rate: float, canary: int, stage_size: int, seed: int,
                  outage_hours: int, readings_per_hour: int, forward_per_hour: int) -> dict[str, Any]:
    """A staged rollout on ``devices`` devices (:func:`edgelab.fleetsim.simulate_rollout`; the
    canary at most the fleet) and a far-edge outbox through an outage from hour 6 of 72
    (:func:`edgelab.fleetsim.simulate_outbox`): both simulations and their headline numbers."""
    from edgelab import fleetsim

    sim = fleetsim.simulate_rollout(devices, failure_rate, canary=min(canary, devices), stage_size=stage_size,
                                    seed=seed)
    queue = fleetsim.simulate_outbox(readings_per_hour=readings_per_hour, forward_per_hour=forward_per_hour,
                                     outage_start_h=6, outage_hours=outage_hours, total_hours=72)
    return {"rollout": sim, "outbox": queue, "counts": {s: sim.count(s) for s in _STATE_COLOURS},
            "peak_queued": int(queue.queued.max()), "drained_at_hour": queue.drained_at_hour,
            "lost": queue.lost}


def _outbox_text(numbers: Mapping[str, Any]) -> str:
    drained = numbers["drained_at_hour"]
    drain = (f"drained by hour {drained}" if drained is not None
             else "never drains: forwarding is slower than sensing")
    return f"Peak outbox {numbers['peak_queued']:,} readings; {drain}; lost: {numbers['lost']}"


def _fleet_summary(numbers: Mapping[str, Any]) -> str:
    return rollout_html(numbers["rollout"])


def _draw_fleet(numbers: Mapping[str, Any]) -> Any:
    from edgelab import figures

    queue = numbers["outbox"]
    return figures.outbox_timeline(queue.hours, queue.queued, queue.delivered, queue.link_up,
                                   title=_outbox_text(numbers) + "\n(every reading stays on the device "
                                                                 "until the collector acknowledges it)")


def _fleet_layout(controls: Mapping[str, w.Widget], text: w.HTML, plot: w.Image) -> list:
    shown = list(controls.values())
    return [w.HTML("<h3>Staged rollout with a health gate</h3>"), w.HBox([w.VBox(shown[:5]), text]),
            w.HTML("<h3>Far edge: store and forward through an outage</h3>"),
            w.HBox([w.VBox(shown[5:]), plot])]


def fleet_dashboard() -> w.VBox:
    """A staged rollout with a health gate, and a far-edge outbox draining after an outage."""
    controls = {
        "devices": w.IntSlider(value=40, min=1, max=200, description="devices", style=WIDE),
        "failure_rate": w.FloatSlider(value=0.05, min=0, max=1, step=0.01, description="failure rate",
                                      readout_format=".0%", style=WIDE),
        "canary": w.IntSlider(value=1, min=1, max=10, description="canary devices", style=WIDE),
        "stage_size": w.IntSlider(value=10, min=1, max=100, description="stage size", style=WIDE),
        "seed": w.IntSlider(value=0, min=0, max=99, description="random seed", style=WIDE),
        "outage_hours": w.IntSlider(value=12, min=0, max=36, description="outage (hours)", style=WIDE),
        "readings_per_hour": w.IntSlider(value=60, min=1, max=600, description="readings / hour", style=WIDE),
        "forward_per_hour": w.IntSlider(value=180, min=1, max=2000, description="forwarded / hour",
                                        style=WIDE),
    }

    def cap_canary(change: dict) -> None:  # the canary slider offers no more devices than the fleet
        controls["canary"].max = max(1, min(10, change["new"]))

    controls["devices"].observe(cap_canary, names="value")
    return explorer(controls, fleet_numbers, _draw_fleet, _fleet_summary, _fleet_layout)


# ----------------------------------------------------------------------------- quantization

def quantization_numbers(model: Any, variant: str, device: str,
                         rows: Optional[list] = None) -> dict[str, Any]:
    """Size, accuracy, measured latency here and estimated latency on ``device`` for one variant
    of a prebuilt model (:class:`edgelab.artifacts.ModelArtifacts`; ``rows``: a precomputed
    :func:`edgelab.report.compare_variants` of it)."""
    from edgelab import report

    if variant not in model.variants:
        raise ValueError(f"variant must be one of {', '.join(model.variants)}; got {variant!r}")
    rows = rows or report.compare_variants(model.variants, model.x_test, model.y_test,
                                           runs=100, warmup_runs=10)
    row = next(r for r in rows if r["variant"] == variant)
    stats = model.variants[variant].stats()
    return {"row": row, "rows": rows, "estimate": devices.estimate_latency(device, stats),
            "fit": devices.check_fit(device, stats)}


def _quantization_summary(numbers: Mapping[str, Any]) -> str:
    chosen = " style='font-weight:bold;background:#e3f2fd'"
    variant = numbers["row"]["variant"]
    lines = "".join(
        f"<tr{chosen if r['variant'] == variant else ''}>"
        f"<td>{r['variant']}</td><td>{r['size_bytes'] / 1000:,.1f} kB</td><td>{r['size_ratio']:.2f}x</td>"
        f"<td>{r['accuracy']:.1%}</td><td>{r['p50_ms'] * 1000:,.1f} µs</td></tr>"
        for r in numbers["rows"])
    est = numbers["estimate"]
    there = (f"≈ {est.ms:,.3g} ms ({est.bound}-bound)" if est.fits and est.runs
             else f"cannot run: {est.reason}")
    return (
        "<style>.edgelab-quant td, .edgelab-quant th {white-space: nowrap; padding: 2px 10px; "
        "text-align: right}</style>"
        f"<p class='edgelab-model'>{html.escape(numbers['description'])}</p>"
        "<table class='edgelab-quant'><tr><th>variant</th><th>size</th>"
        "<th>vs float32</th><th>accuracy</th><th>p50 here (measured)</th></tr>"
        f"{lines}</table><p class='edgelab-estimate'><b>{variant} on {numbers['device']}:</b> "
        f"{html.escape(there)} <i>(estimate from the device profile)</i></p>"
        "<p><i>Measured with LiteRT on this server, one thread, 100 runs, on the model's test "
        f"split ({numbers['n_test']} examples). On a desktop CPU int8 is not always faster: "
        "measure. Dynamic-range quantization leaves small weight tensors (under 1,024 values) in "
        "float32, so a tiny model barely shrinks.</i></p>")


def _draw_quantization(numbers: Mapping[str, Any]) -> Any:
    from edgelab import figures

    name = numbers["weight_name"]
    return figures.weights_before_after(numbers["reference"], numbers["values"], numbers["row"]["variant"],
                                        name.split("/")[-2] if "/" in name else name)


def quantization_dashboard(artifacts_dir: Optional[str] = None) -> w.VBox:
    """Pick a model, a variant (fp32, dynamic, fp16, int8) and a device: size, accuracy, latency
    measured here and estimated there, and the weights before and after quantization.

    The models are read from ``artifacts_dir``, default :func:`edgelab.artifacts.find`; when
    they are missing (or from an older edgelab) the dashboard is one line saying how to build
    them, and its ``result`` is None."""
    from edgelab import EdgelabError, artifacts
    from edgelab.convert import VARIANTS
    from edgelab.quantize import largest_weights

    try:
        folder = artifacts_dir or artifacts.find()
        saved = artifacts.available(folder)
    except EdgelabError as exc:
        box = w.VBox([w.HTML(f"<p class='edgelab-missing'><b>{html.escape(str(exc))}</b></p>")])
        box.numbers = box.result = None
        return box
    models: dict[str, Any] = {}  # loaded when first shown, with its float32 weights for the histogram
    rows: dict[str, list] = {}  # measured once per model

    def numbers(model: str, variant: str, device: str) -> dict[str, Any]:
        if model not in models:
            loaded = artifacts.load(folder, names=[model])[model]
            models[model] = (loaded, largest_weights(loaded.variants["float32"])[1])
        chosen, reference = models[model]
        found = quantization_numbers(chosen, variant, device, rows.get(model))
        rows[model] = found["rows"]
        name, values = largest_weights(chosen.variants[variant])
        return dict(found, device=device, description=chosen.description, n_test=len(chosen.y_test),
                    reference=reference, values=values, weight_name=name)

    controls = {
        "model": w.Dropdown(options=[(text.split(":")[0], name) for name, text in saved.items()],
                            value=next(iter(saved)), description="model", style=WIDE),
        "variant": w.Dropdown(options=list(VARIANTS), value="int8", description="variant", style=WIDE),
        "device": w.Dropdown(options=_edge_names(), value="raspberry-pi-5", description="device", style=WIDE),
    }

    def layout(found: Mapping[str, w.Widget], text: w.HTML, plot: w.Image) -> list:
        text.layout.min_width = "520px"
        return [w.HBox(list(found.values())), w.HBox([text, plot])]

    return explorer(controls, numbers, _draw_quantization, _quantization_summary, layout)
