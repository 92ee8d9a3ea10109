"""Full-page dashboards for the Voila demos (``demos/``): each wraps plain edgelab functions.

A dashboard is a widget tree with a ``result`` attribute holding its latest numbers, so the
same object serves the browser (Voila) and the tests (set a control's ``.value``, read
``result``).
"""

from __future__ import annotations

import html
import io
import math
from typing import Any, Optional

import ipywidgets as w
import numpy as np

from edgelab import devices, network, zoo
from edgelab.widgets import guard_all

WIDE = {"description_width": "initial"}
SIM_REQUESTS = 20_000  # enough for a stable p99, fast enough to redraw on every change


def _cloud_names() -> list[str]:
    return [d for d in devices.devices() if d.startswith("cloud")]


def _edge_names() -> list[str]:
    return [d for d in devices.devices() if not d.startswith("cloud")]


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A matplotlib figure and axes outside pyplot: no global state, no display machinery."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="tight")
    return fig, fig.subplots()


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes, for an ``ipywidgets.Image``.

    Plots are shown as images rather than printed into an ``Output`` widget: while Voila
    executes a notebook, output captured by an ``Output`` widget is synced back to the kernel
    on the shell socket that Voila is polling for the execute reply, and now and then the reply
    was never noticed and the page hung (Voila issue #1428; seen here about once in 20 visits).
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return buffer.getvalue()


def _wire(box: w.VBox, controls: tuple, update: Any, plot: w.Image) -> w.VBox:
    """Redraw on every change of ``controls`` and draw once now; ``box.controls`` (by
    description) and ``box.plot`` let tests and callers drive the dashboard. What a browser can
    set on the controls is checked in the kernel (:func:`edgelab.widgets.guard_all`)."""
    guard_all(controls, [plot])
    for control in controls:
        control.observe(update, names="value")
    box.controls = {c.description: c for c in controls}
    box.plot = plot
    update()
    return box


def _fmt_ms(value: float) -> str:
    return "failed" if not math.isfinite(value) else f"{value:,.1f} ms"


def latency_numbers(*, link: str, payload_kb: float, request_rate: float, deadline_ms: float,
                    cloud: str, edge: str, model: str, seed: int = 0) -> dict[str, Any]:
    """Everything the latency dashboard shows, as plain numbers (and the comparison itself)."""
    stats = zoo.reference_model(model)
    result = network.compare(payload_bytes=payload_kb * 1000, response_bytes=200, link=link,
                             cloud=cloud, edge=edge, model=stats, n=SIM_REQUESTS, seed=seed,
                             deadline_ms=deadline_ms, request_rate=request_rate)
    table = result.summary(show=False)
    edge_p50 = table["edge"]["p50_ms"]
    crossover_kb = None
    if math.isfinite(edge_p50):
        for kb in np.geomspace(0.1, 100_000, 61):  # smallest payload whose cloud median is slower
            parts = network.round_trip(link, payload_bytes=kb * 1000, response_bytes=200,
                                       server_ms=devices.estimate_latency(cloud, stats).ms)
            if parts["total_ms"] > edge_p50:
                crossover_kb = float(kb)
                break
    return {"comparison": result, "table": table, "crossover_kb": crossover_kb}


def latency_dashboard() -> w.VBox:
    """Cloud vs edge: latency CDFs, percentiles, deadline misses, bytes and energy per request."""
    link = w.Dropdown(options=network.links(), value="4g-lte", description="link", style=WIDE)
    payload = w.FloatLogSlider(value=150, base=10, min=-1, max=4, step=0.1,
                               description="payload (kB)", readout_format=",.1f", style=WIDE)
    rate = w.FloatSlider(value=5, min=0.5, max=50, step=0.5, description="requests / s", style=WIDE)
    deadline = w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                                description="deadline (ms)", readout_format=",.0f", style=WIDE)
    cloud = w.Dropdown(options=_cloud_names(), value="cloud-gpu-t4", description="cloud server",
                       style=WIDE)
    edge = w.Dropdown(options=_edge_names(), value="raspberry-pi-5", description="edge device",
                      style=WIDE)
    model = w.Dropdown(options=zoo.names(), value="mobilenet-v1-224-int8", description="model",
                       style=WIDE)
    table = w.HTML(layout=w.Layout(min_width="440px"))
    plot = w.Image(format="png")
    box = w.VBox()

    def update(*_: object) -> None:
        try:
            numbers = latency_numbers(link=link.value, payload_kb=payload.value, request_rate=rate.value,
                                      deadline_ms=deadline.value, cloud=cloud.value, edge=edge.value,
                                      model=model.value)
        except ValueError as exc:  # e.g. a request rate the server cannot keep up with
            table.value = f"<b>Cannot simulate this:</b> {exc}"
            box.result = None
            return
        box.result = numbers
        t = numbers["table"]
        rows = "".join(
            f"<tr><td>{title}</td><td>{_fmt_ms(t['cloud'][key])}</td>"
            f"<td>{_fmt_ms(t['edge'][key])}</td></tr>"
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
        cross = numbers["crossover_kb"]
        if not math.isfinite(t["edge"]["p50_ms"]):
            crossover = "the edge device cannot run this model"
        elif cross is None:
            crossover = "the cloud stays faster for every payload up to 100 MB"
        elif cross <= 0.1:
            crossover = "the cloud is slower even for the smallest payload"
        else:
            crossover = f"the edge wins for payloads above ≈ {cross:,.1f} kB"
        note = numbers["comparison"].edge.note
        table.value = (f"<style>.edgelab-table td, .edgelab-table th {{white-space: nowrap; "
                       f"padding: 2px 10px; text-align: right}}</style><table class='edgelab-table'>"
                       f"<tr><th></th><th>cloud</th><th>edge</th></tr>{rows}"
                       f"</table><p><b>Crossover (medians):</b> <span class='edgelab-crossover'>"
                       f"{crossover}</span></p><p><i>Simulated ({SIM_REQUESTS:,} requests, seed 0); "
                       f"latencies on devices are estimates.{' ' + note if note else ''}</i></p>")
        fig, ax = _figure(7, 3.6)
        numbers["comparison"].plot(ax=ax)
        plot.value = _png(fig)

    controls = (link, payload, rate, deadline, cloud, edge, model)
    box.children = [w.HBox([w.VBox(list(controls[:4])), w.VBox(list(controls[4:]))]),
                    w.HBox([table, plot])]
    return _wire(box, controls, update, plot)


_STATE_COLOURS = {"new": "#2e7d32", "rolled_back": "#c62828", "untouched": "#9e9e9e"}


def rollout_html(sim: Any) -> str:
    """Devices as coloured squares by stage: green = new model, red = failed and rolled back,
    grey = untouched (still on the old model)."""
    rows = []
    for stage in range(sim.planned_stages):
        ran = stage < len(sim.stages)
        devices = sim.stages[stage].devices if ran else ()
        label = "canary" if stage == 0 else f"stage {stage}"
        if ran:
            verdict = "passed" if sim.stages[stage].passed else "FAILED → rolled back, rollout stopped"
        else:
            verdict = "not started"
        squares = "".join(
            f"<span title='device {d}' style='display:inline-block;width:14px;height:14px;margin:1px;"
            f"background:{_STATE_COLOURS[sim.states[d]]}'></span>" for d in devices)
        rows.append(f"<tr><td>{label}</td><td>{squares or '…'}</td><td>{verdict}</td></tr>")
    counts = ", ".join(f"{sim.count(s)} {s.replace('_', ' ')}" for s in _STATE_COLOURS)
    return (f"<table class='edgelab-rollout'>{''.join(rows)}</table>"
            f"<p class='edgelab-rollout-counts'><b>{counts}</b></p>")


def fleet_dashboard() -> w.VBox:
    """A staged rollout with a health gate, and a far-edge outbox draining after an outage."""
    from edgelab import fleetsim

    n = w.IntSlider(value=40, min=1, max=200, description="devices", style=WIDE)
    failure = w.FloatSlider(value=0.05, min=0, max=1, step=0.01, description="failure rate",
                            readout_format=".0%", style=WIDE)
    canary = w.IntSlider(value=1, min=1, max=10, description="canary devices", style=WIDE)
    stage = w.IntSlider(value=10, min=1, max=100, description="stage size", style=WIDE)
    seed = w.IntSlider(value=0, min=0, max=99, description="random seed", style=WIDE)
    outage = w.IntSlider(value=12, min=0, max=36, description="outage (hours)", style=WIDE)
    readings = w.IntSlider(value=60, min=1, max=600, description="readings / hour", style=WIDE)
    forward = w.IntSlider(value=180, min=1, max=2000, description="forwarded / hour", style=WIDE)
    rollout_view = w.HTML()
    outbox_view = w.HTML()
    plot = w.Image(format="png")
    box = w.VBox()

    def update(*_: object) -> None:
        canary.max = n.value
        sim = fleetsim.simulate_rollout(n.value, failure.value, canary=min(canary.value, n.value),
                                        stage_size=stage.value, seed=seed.value)
        queue = fleetsim.simulate_outbox(readings_per_hour=readings.value,
                                         forward_per_hour=forward.value, outage_start_h=6,
                                         outage_hours=outage.value, total_hours=72)
        box.result = {"rollout": sim, "outbox": queue}
        rollout_view.value = rollout_html(sim)
        drained = queue.drained_at_hour
        drain = (f"drained by hour {drained}" if drained is not None
                 else "never drains: forwarding is slower than sensing")
        outbox_view.value = (
            f"<p class='edgelab-outbox'>Peak outbox: <b>{int(queue.queued.max()):,}</b> readings; "
            f"{drain}; lost: <b>{queue.lost}</b> (every reading stays on the device until "
            "acknowledged).</p>")
        fig, ax = _figure(7, 3)
        ax.fill_between(queue.hours, 0, queue.queued.max() * 1.05 + 1, where=~queue.link_up,
                        color="#ffcdd2", label="link down", step="post")
        ax.step(queue.hours, queue.queued, where="post", label="waiting in the outbox")
        ax.step(queue.hours, queue.delivered, where="post", label="delivered (cumulative)")
        ax.set_xlabel("hour")
        ax.set_ylabel("readings")
        ax.legend(loc="upper left")
        plot.value = _png(fig)

    controls = (n, failure, canary, stage, seed, outage, readings, forward)
    box.children = [w.HTML("<h3>Staged rollout with a health gate</h3>"),
                    w.HBox([w.VBox([n, failure, canary, stage, seed]), rollout_view]),
                    w.HTML("<h3>Far edge: store and forward through an outage</h3>"),
                    w.HBox([w.VBox([outage, readings, forward]), w.VBox([outbox_view, plot])])]
    return _wire(box, controls, update, plot)


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
        box.result = None
        return box
    models: dict[str, Any] = {}  # loaded when first shown, with its float32 weights for the histogram
    rows: dict[str, list] = {}  # measured once per model
    model = w.Dropdown(options=[(text.split(":")[0], name) for name, text in saved.items()],
                       value=next(iter(saved)), description="model", style=WIDE)
    variant = w.Dropdown(options=list(VARIANTS), value="int8", description="variant", style=WIDE)
    device = w.Dropdown(options=_edge_names(), value="raspberry-pi-5", description="device", style=WIDE)
    table = w.HTML(layout=w.Layout(min_width="520px"))
    plot = w.Image(format="png")
    box = w.VBox()

    def update(*_: object) -> None:
        if model.value not in models:
            loaded = artifacts.load(folder, names=[model.value])[model.value]
            models[model.value] = (loaded, largest_weights(loaded.variants["float32"])[1])
        chosen_model, reference = models[model.value]
        numbers = quantization_numbers(chosen_model, variant.value, device.value, rows.get(model.value))
        rows[model.value] = numbers["rows"]
        box.result = numbers
        chosen = " style='font-weight:bold;background:#e3f2fd'"
        lines = "".join(
            f"<tr{chosen if r['variant'] == variant.value else ''}>"
            f"<td>{r['variant']}</td><td>{r['size_bytes'] / 1000:,.1f} kB</td><td>{r['size_ratio']:.2f}x</td>"
            f"<td>{r['accuracy']:.1%}</td><td>{r['p50_ms'] * 1000:,.1f} µs</td></tr>"
            for r in numbers["rows"])
        est = numbers["estimate"]
        there = (f"≈ {est.ms:,.3g} ms ({est.bound}-bound)" if est.fits and est.runs
                 else f"cannot run: {est.reason}")
        table.value = (
            "<style>.edgelab-quant td, .edgelab-quant th {white-space: nowrap; padding: 2px 10px; "
            "text-align: right}</style>"
            f"<p class='edgelab-model'>{chosen_model.description}</p>"
            "<table class='edgelab-quant'><tr><th>variant</th><th>size</th>"
            "<th>vs float32</th><th>accuracy</th><th>p50 here (measured)</th></tr>"
            f"{lines}</table><p class='edgelab-estimate'><b>{variant.value} on {device.value}:</b> "
            f"{there} <i>(estimate from the device profile)</i></p>"
            "<p><i>Measured with LiteRT on this server, one thread, 100 runs, on the model's test "
            f"split ({len(chosen_model.y_test)} examples). On a desktop CPU int8 is not always faster: "
            "measure. Dynamic-range quantization leaves small weight tensors (under 1,024 values) in "
            "float32, so a tiny model barely shrinks.</i></p>")
        name, values = largest_weights(chosen_model.variants[variant.value])
        fig, ax = _figure(6, 3)
        bins = np.linspace(float(reference.min()), float(reference.max()), 120)
        ax.hist(reference.ravel(), bins=bins, alpha=0.5, label="float32")
        ax.hist(values.ravel(), bins=bins, histtype="step", linewidth=1.2,
                label=f"{variant.value} (as the runtime reads it)")
        ax.set_xlabel(f"weight value ({name.split('/')[-2] if '/' in name else name})")
        ax.set_ylabel("count")
        ax.legend(loc="upper right")
        plot.value = _png(fig)

    controls = (model, variant, device)
    box.children = [w.HBox(list(controls)), w.HBox([table, plot])]
    return _wire(box, controls, update, plot)
