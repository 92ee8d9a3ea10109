"""The course's pictures, drawn from edgelab's own numbers: one function per figure.

Each function takes plain numbers or edgelab objects and returns a :class:`Drawing`: a
matplotlib :class:`~matplotlib.figure.Figure` (``drawing.figure``) made without pyplot, which
shows itself as a PNG when a notebook cell ends with it, in JupyterLab and in nbclient or
nbconvert runs alike (it has ``_repr_png_``). :func:`png` turns a figure into PNG bytes for an
``ipywidgets.Image``: explorers and the Voila dashboards draw that way, because Voila stalls
with pyplot and ``Output`` widgets (see :func:`edgelab.ui.explorer`).

No global state: no pyplot, no style sheets, no randomness (every number comes from the
arguments). matplotlib is imported inside the functions, so ``import edgelab.figures`` stays
light. Colours are the Okabe-Ito palette, which readers with a colour-vision deficiency can
tell apart; where two series overlap they differ by hatching or line style as well.

====================  ===========================================================
lesson                figure
====================  ===========================================================
00 welcome            :func:`model_sizes`
01 edge nodes         :func:`tier_map`
02 latency            :func:`round_trip_waterfall`, :func:`slow_start`
03 bandwidth, energy  :func:`bytes_per_day`, :func:`battery_life`
04 hardware           :func:`roofline`
05 cloud to edge      :func:`model_layers`
06 quantization       :func:`quantization_grid`, :func:`error_vs_bits`
07 pruning            :func:`pruning_threshold`
08 deploy to a Pi     :func:`latency_histogram`
09 fleets             :func:`drift_histograms`
10 microcontrollers   :func:`memory_map`
====================  ===========================================================
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from edgelab import _checks

DPI = 96
# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, black, yellow (last: it is faint on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P")
GREY = "#777777"
KB = 1024  # microcontroller memories are counted in KiB, as in their datasheets
DEFAULT_SIZE_DEVICES = ("raspberry-pi-5", "phone-pixel-2", "arduino-nano-33-ble-sense")


# ------------------------------------------------------------------------------ the plumbing

class Drawing:
    """A finished figure: ``figure`` is the matplotlib Figure; a notebook shows it as a PNG.

    A cell that ends in ``figures.tier_map()`` displays the picture through ``_repr_png_``
    (IPython asks every object for it), so the same line works in JupyterLab, in nbclient (the
    grader), nbconvert and Voila, without pyplot."""

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    @property
    def axes(self) -> list:
        """The figure's axes, in the order they were drawn."""
        return list(self.figure.axes)

    def png(self) -> bytes:
        """The picture as PNG bytes at :data:`DPI` dots per inch."""
        return png(self.figure)

    def save(self, path: str) -> None:
        """Write the picture as a PNG file."""
        with open(path, "wb") as out:
            out.write(self.png())

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        titles = [ax.get_title() for ax in self.figure.axes if ax.get_title()]
        title = self.figure.get_suptitle() or (titles[0] if titles else "")
        width, height = self.figure.get_size_inches() * DPI
        return f"<Drawing {title!r}: {width:.0f}x{height:.0f} px>"


def png(fig: Any) -> bytes:
    """A figure (or a :class:`Drawing`) as PNG bytes at :data:`DPI` dots per inch, for an
    ``ipywidgets.Image``: the one place a figure becomes a picture."""
    from matplotlib.figure import Figure

    figure = fig.figure if isinstance(fig, Drawing) else fig
    if not isinstance(figure, Figure):
        raise ValueError(f"fig must be a matplotlib Figure or an edgelab.figures.Drawing; "
                         f"got {type(fig).__name__}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> Tuple[Any, Any]:
    """A figure and its axes outside pyplot (no global state, no display machinery)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=True, **kwargs)


def _tidy(ax: Any, grid: str = "both") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if grid:
        ax.grid(True, axis=grid, which="major", alpha=0.3)
    ax.set_axisbelow(True)


def _values(name: str, values: Any, minimum_size: int = 2) -> np.ndarray:
    """``values`` as a flat float array of finite numbers, else a ValueError naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers; got {type(values).__name__}") from None
    if arr.size < minimum_size:
        raise ValueError(f"{name} must hold at least {minimum_size} values; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers (no NaN or inf)")
    return arr


def _label(key: str) -> str:
    """``"propagation_ms"`` -> ``"propagation"``: a dict key as a legend label."""
    return key[:-3].replace("_", " ") if key.endswith("_ms") else key.replace("_", " ")


def _human(nbytes: float) -> str:
    from edgelab.budget import human_bytes

    return human_bytes(nbytes)


def _num(value: float) -> str:
    """A number a person reads: 3 significant digits, thousands separated, no exponent."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _energy(mj: float) -> str:
    return f"{mj / 1000:,.3g} J" if mj >= 1000 else f"{mj:,.3g} mJ"


def _kb(nbytes: float) -> str:
    return f"{nbytes / KB:,.1f} KB" if nbytes < 10 * KB else f"{nbytes / KB:,.0f} KB"


# ------------------------------------------------------------------------- 00 · model sizes

def _model_stats(models: Sequence[Any]) -> List[Any]:
    """ModelStats of ``models``: zoo names are looked up, ModelStats kept."""
    from edgelab import zoo
    from edgelab.stats import ModelStats

    stats = []
    for model in models:
        if isinstance(model, ModelStats):
            stats.append(model)
        elif isinstance(model, str):
            stats.append(zoo.reference_model(model))
        else:
            raise ValueError(f"models must hold zoo names or ModelStats; got {type(model).__name__}")
    return stats


def model_sizes(models: Optional[Sequence[Any]] = None,
                devices: Sequence[str] = DEFAULT_SIZE_DEVICES) -> Drawing:
    """Weight bytes of models (``edgelab.zoo`` names or :class:`~edgelab.stats.ModelStats`;
    default: every reference model, float32 and int8) against the memory of ``devices``
    (device profile names: their RAM, and their flash where the weights live in flash), on a
    log scale."""
    from edgelab import devices as device_profiles
    from edgelab import zoo

    chosen = list(zoo.names() if models is None else models)
    if not chosen:
        raise ValueError("models must name at least one model (zoo names or ModelStats)")
    stats = _model_stats(chosen)
    if isinstance(devices, str) or not devices:
        raise ValueError("devices must be a sequence of device profile names, e.g. ('raspberry-pi-5',)")
    profiles = [device_profiles.device(name) for name in devices]
    memories = []  # (label, bytes)
    for dev in profiles:
        memories.append((f"{dev.name} RAM", dev.ram_mb * 1e6))
        if dev.weights_in == "flash":
            memories.append((f"{dev.name} flash", dev.flash_mb * 1e6))

    fig, ax = _figure(8, 0.55 * len(stats) + 2.4)
    colours = {"fp32": PALETTE[0], "fp16": PALETTE[5], "int8": PALETTE[1]}
    rows = np.arange(len(stats))
    for precision in ("fp32", "fp16", "int8"):
        picked = [i for i, s in enumerate(stats) if s.precision == precision]
        if picked:
            ax.barh(rows[picked], [stats[i].weight_bytes for i in picked], color=colours[precision],
                    label=f"{precision} weights", height=0.6)
    for i, s in enumerate(stats):
        ax.text(s.weight_bytes * 1.15, i, _human(s.weight_bytes), va="center", fontsize=9)
    ax.set_yticks(rows, [s.name for s in stats])
    ax.invert_yaxis()
    ax.set_xscale("log")
    sizes = [s.weight_bytes for s in stats] + [m for _, m in memories]
    ax.set_xlim(min(sizes) / 4, max(sizes) * 4)
    for k, (label, nbytes) in enumerate(memories):
        style = LINE_STYLES[k % len(LINE_STYLES)]
        ax.axvline(nbytes, color=PALETTE[2 + k % 5], linestyle=style, linewidth=1.6,
                   label=f"{label}: {_human(nbytes)}")
    ax.set_xlabel("bytes (log scale)")
    ax.set_title("Model weights vs the memory of a Pi, a phone and a microcontroller")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=9, frameon=False)
    _tidy(ax, grid="x")
    return Drawing(fig)


# ---------------------------------------------------------------------------- 01 · tier map

def _rtt_text(rtt: Tuple[float, float]) -> str:
    low, high = rtt
    if high <= 0:
        return "no round trip:\non the device"
    return f"round trip\n{low:g}–{high:g} ms"


def tier_map() -> Drawing:
    """The edge tiers of :mod:`edgelab.tiers`, from the cloud out to the far edge: for each, the
    typical network round trip, power, connectivity and examples, as boxes side by side."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from edgelab import tiers

    all_tiers = tiers.tiers()
    n = len(all_tiers)
    fig, ax = _figure(12, 5.6)
    ax.set_xlim(0, n)
    ax.set_ylim(0, 1)
    ax.axis("off")
    wrap = 30
    for i, tier in enumerate(all_tiers):
        colour = PALETTE[i % len(PALETTE)]
        box = FancyBboxPatch((i + 0.04, 0.14), 0.92, 0.76, boxstyle="round,pad=0.0,rounding_size=0.03",
                             facecolor=colour, alpha=0.12, edgecolor=colour, linewidth=2)
        ax.add_patch(box)
        ax.text(i + 0.5, 0.87, textwrap.fill(tier.name, 22), ha="center", va="top", fontsize=12,
                fontweight="bold", color=colour)
        ax.text(i + 0.5, 0.74, _rtt_text(tier.typical_rtt_ms), ha="center", va="top", fontsize=12,
                color="#222222")
        lines = [textwrap.fill(f"power: {tier.power}", wrap),
                 textwrap.fill(f"network: {tier.connectivity}", wrap),
                 "", "for example:"]
        lines += [textwrap.fill(f"• {example}", wrap, subsequent_indent="  ") for example in tier.examples]
        ax.text(i + 0.09, 0.62, "\n".join(lines), ha="left", va="top", fontsize=9, linespacing=1.35)
    arrow = FancyArrowPatch((0.1, 0.07), (n - 0.1, 0.07), arrowstyle="<|-|>", mutation_scale=16,
                            color=GREY, linewidth=1.5)
    ax.add_patch(arrow)
    ax.text(0.12, 0.015, "more compute, far from the data: every request crosses the network",
            ha="left", va="bottom", fontsize=9, color="#333333")
    ax.text(n - 0.12, 0.015, "close to the data: less power, works offline", ha="right",
            va="bottom", fontsize=9, color="#333333")
    ax.set_title("Where can the model run? From the cloud out to the far edge", fontsize=13)
    return Drawing(fig)


# -------------------------------------------------------------------- 02 · round trip, slow start

def _breakdown_parts(breakdowns: Any) -> Tuple[List[str], List[Dict[str, float]], List[str]]:
    if isinstance(breakdowns, Mapping):
        items = list(breakdowns.items())
    else:
        try:
            items = [(str(label), parts) for label, parts in breakdowns]
        except (TypeError, ValueError):
            raise ValueError("breakdowns must map a label (e.g. a link name) to a network.round_trip() "
                             f"dict; got {type(breakdowns).__name__}") from None
    if not items:
        raise ValueError("breakdowns must hold at least one round trip")
    keys: List[str] = []
    rows = []
    for label, parts in items:
        if not isinstance(parts, Mapping):
            raise ValueError(f"breakdowns[{label!r}] must be a dict of *_ms parts (network.round_trip()); "
                             f"got {type(parts).__name__}")
        row = {}
        for key, value in parts.items():
            if not str(key).endswith("_ms") or key == "total_ms":
                continue
            row[key] = _checks.number(f"breakdowns[{label!r}][{key!r}]", value)
            if key not in keys:
                keys.append(key)
        if not row:
            raise ValueError(f"breakdowns[{label!r}] has no *_ms part to draw")
        rows.append(dict(parts, **row))
    return [label for label, _ in items], rows, keys


def round_trip_waterfall(breakdowns: Any, title: str = "") -> Drawing:
    """One horizontal stacked bar per round trip (``{label: network.round_trip(...)}``, or a
    list of ``(label, dict)``): every ``*_ms`` part except ``total_ms``, in the order the dicts
    give them, each part one colour across bars; the total at the end of each bar."""
    labels, rows, keys = _breakdown_parts(breakdowns)
    fig, ax = _figure(9, 0.6 * len(rows) + 1.9)
    positions = np.arange(len(rows))
    left = np.zeros(len(rows))
    hatches = ("", "//", "", "..", "", "\\\\", "", "xx")
    for k, key in enumerate(keys):
        widths = np.array([row.get(key, 0.0) for row in rows])
        ax.barh(positions, widths, left=left, height=0.6, color=PALETTE[k % len(PALETTE)],
                hatch=hatches[k % len(hatches)], edgecolor="white", linewidth=0.5, label=_label(key))
        left += widths
    for i, row in enumerate(rows):
        total = float(row.get("total_ms", left[i]))
        ax.text(left[i] + left.max() * 0.01, i, f"{total:,.1f} ms", va="center", fontsize=9)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.15 if left.max() > 0 else 1)
    ax.set_xlabel("time (ms)")
    ax.set_title(title or "One request to the cloud, part by part (median round trip)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.2 / len(rows)), ncol=min(len(keys), 6),
              fontsize=9, frameon=False)
    _tidy(ax, grid="x")
    return Drawing(fig)


def slow_start(rtt_ms: float, bandwidth_mbps: float, payload_bytes: float,
               initial_window: int = 10) -> Drawing:
    """TCP slow start for one payload: the segments of each flight (10, 20, 40 ...: see
    :func:`edgelab.network.flights`) against the bandwidth-delay product, and the link's
    timeline: when each flight is on the wire and when the link idles, waiting for
    acknowledgements (:func:`edgelab.network.transfer_ms`)."""
    from matplotlib.patches import Patch

    from edgelab import network

    rtt = _checks.number("rtt_ms", rtt_ms, inclusive=False)
    mbps = _checks.number("bandwidth_mbps", bandwidth_mbps, inclusive=False)
    payload = _checks.number("payload_bytes", payload_bytes, maximum=1e9)
    window = _checks.count("initial_window", initial_window, minimum=1, maximum=1000)
    sizes = network.flights(payload, window)
    segment_ms = (network.MSS_BYTES + network.HEADER_BYTES) * 8.0 / (mbps * 1e3)
    bdp = rtt / segment_ms  # segments the link sends in one round trip
    # when each flight leaves the link: the transfer of the flights up to it (full segments)
    ends = [network.transfer_ms(sum(sizes[:k + 1]) * network.MSS_BYTES, mbps, rtt, initial_window=window)
            for k in range(len(sizes) - 1)]
    ends.append(network.transfer_ms(payload, mbps, rtt, initial_window=window))
    last_ms = network.serialization_ms(payload - (sum(sizes) - 1) * network.MSS_BYTES, mbps)
    durations = [n * segment_ms for n in sizes[:-1]] + [(sizes[-1] - 1) * segment_ms + last_ms]
    starts = [end - d for end, d in zip(ends, durations)]
    total = ends[-1]
    busy = sum(durations)

    fig, (top, bottom) = _figure(9, 5.8, 2, 1, gridspec_kw={"height_ratios": [3, 1.4]})
    flights_x = np.arange(1, len(sizes) + 1)
    full = [s >= bdp for s in sizes]
    top.bar(flights_x, sizes, color=[PALETTE[2] if f else PALETTE[0] for f in full], width=0.6)
    for x, s in zip(flights_x, sizes):
        top.text(x, s, f"{s:,}", ha="center", va="bottom", fontsize=9)
    top.axhline(bdp, color=PALETTE[3], linestyle="--", linewidth=1.6,
                label=f"bandwidth-delay product: {bdp:,.1f} segments fill one RTT")
    top.set_xticks(flights_x)
    top.set_xlim(0.4, len(sizes) + 0.6)
    top.set_ylim(0, max(max(sizes), bdp) * 1.18)
    top.set_xlabel("flight (one per round trip)")
    top.set_ylabel(f"segments ({network.MSS_BYTES:,} B of payload each)")
    handles, _ = top.get_legend_handles_labels()
    handles += [Patch(color=PALETTE[0], label="flight below the BDP: the link idles until the ACKs return"),
                Patch(color=PALETTE[2], label="flight at or above the BDP: the link never idles")]
    top.legend(handles=handles, loc="upper left", fontsize=9, frameon=False)
    top.set_title(f"TCP slow start: {payload:,.0f} B = {sum(sizes):,} segments in {len(sizes)} "
                  f"flight{'s' if len(sizes) > 1 else ''} (RTT {rtt:g} ms, {mbps:g} Mbit/s)")
    _tidy(top, grid="y")

    bottom.broken_barh(list(zip(starts, durations)), (0.2, 0.6), facecolors=PALETTE[0],
                       edgecolor="white", label="link sending (flight number)")
    for k, (start, length) in enumerate(zip(starts, durations)):
        if length > total * 0.04:
            bottom.text(start + length / 2, 0.5, str(k + 1), ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")
    gaps = [(end, start - end) for end, start in zip(ends[:-1], starts[1:]) if start - end > 1e-9]
    if gaps:
        bottom.broken_barh(gaps, (0.2, 0.6), facecolors="none", edgecolor=GREY, hatch="..",
                           linewidth=0.5, label="link idle, waiting for acknowledgements")
        bottom.legend(loc="upper center", bbox_to_anchor=(0.5, 1.32), ncol=2, fontsize=8, frameon=False)
    idle = total - busy
    bottom.set_xlim(0, total * 1.02)
    bottom.set_ylim(0, 1)
    bottom.set_yticks([])
    bottom.set_xlabel(f"time (ms): the link sends for {busy:,.1f} ms and idles {idle:,.1f} ms "
                      f"waiting for acknowledgements; last byte out at {total:,.1f} ms")
    _tidy(bottom, grid="x")
    bottom.spines["left"].set_visible(False)
    return Drawing(fig)


# --------------------------------------------------------------------- 03 · bytes and batteries

def bytes_per_day(rows: Any, title: str = "") -> Drawing:
    """Bytes per day as log-scale bars, each labelled in units a person reads
    (:func:`edgelab.budget.human_bytes`): ``rows`` maps a label ("raw video", "events" ...) to
    bytes per day, or is a list of ``(label, bytes)`` pairs."""
    items = list(rows.items()) if isinstance(rows, Mapping) else _pairs("rows", rows)
    if not items:
        raise ValueError("rows must hold at least one (label, bytes per day) pair")
    values = [_checks.number(f"rows[{label!r}]", value) for label, value in items]
    if not all(v > 0 for v in values):
        raise ValueError("rows must hold byte counts > 0 (a log scale has no zero)")
    fig, ax = _figure(8, 0.55 * len(items) + 1.6)
    positions = np.arange(len(items))
    ax.barh(positions, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(items))], height=0.6)
    for i, value in enumerate(values):
        ax.text(value * 1.3, i, f"{_human(value)} per day", va="center", fontsize=10)
    ax.set_yticks(positions, [str(label) for label, _ in items])
    ax.invert_yaxis()
    ax.set_xscale("log")
    low, high = min(values) / 5, max(values) * 3000
    ax.set_xlim(low, high)
    _byte_ticks(ax, low, high)
    ax.set_xlabel("bytes per day (log scale: each grid line is 10x more)")
    ax.set_title(title or "What leaves the device in one day")
    _tidy(ax, grid="x")
    return Drawing(fig)


def _byte_ticks(ax: Any, low: float, high: float) -> None:
    """Labelled ticks at 1 B, 1 kB, 1 MB ... and a grid line at every power of 10."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    units = [(1e3 ** k, f"1 {u}") for k, u in enumerate(("B", "kB", "MB", "GB", "TB", "PB"))]
    shown = [(v, text) for v, text in units if low <= v <= high]
    ax.xaxis.set_major_locator(FixedLocator([v for v, _ in shown]))
    ax.set_xticklabels([text for _, text in shown])
    first, last = int(math.floor(math.log10(low))), int(math.ceil(math.log10(high)))
    decades = [10.0 ** k for k in range(first, last + 1)]
    ax.xaxis.set_minor_locator(FixedLocator(decades))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, axis="x", which="minor", alpha=0.3)


def _pairs(name: str, rows: Any) -> List[Tuple[str, Any]]:
    try:
        return [(str(label), value) for label, value in rows]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a dict or a list of (label, value) pairs; "
                         f"got {type(rows).__name__}") from None


def battery_life(options: Any, battery_wh: float = 3.7, sleep_mw: float = 0.0,
                 wakes_per_hour: Tuple[float, float] = (0.1, 3600.0), title: str = "") -> Drawing:
    """Battery life (hours) against wake-ups per hour, log-log, one line per option: ``options``
    maps a label ("infer only", "infer + LTE message" ...) to the energy of one wake-up in mJ
    (or is a list of pairs). Each point is :func:`edgelab.devices.battery_life_hours` of a
    ``battery_wh`` battery drawing ``sleep_mw`` between wake-ups."""
    from edgelab import devices

    items = list(options.items()) if isinstance(options, Mapping) else _pairs("options", options)
    if not items:
        raise ValueError("options must hold at least one (label, mJ per wake-up) pair")
    energies = [_checks.number(f"options[{label!r}]", value) for label, value in items]
    wh = _checks.number("battery_wh", battery_wh, inclusive=False)
    sleep = _checks.number("sleep_mw", sleep_mw)
    try:
        low, high = (float(v) for v in wakes_per_hour)
    except (TypeError, ValueError):
        raise ValueError(f"wakes_per_hour must be a (lowest, highest) pair; got {wakes_per_hour!r}") from None
    if not (0 < low < high <= 1e7):
        raise ValueError(f"wakes_per_hour must be (lowest, highest) with 0 < lowest < highest <= 1e7; "
                         f"got {wakes_per_hour!r}")
    rates = np.geomspace(low, high, 60)
    fig, ax = _figure(8, 4.6)
    ends = []
    for k, ((label, _), energy) in enumerate(zip(items, energies)):
        hours = np.array([devices.battery_life_hours(wh, energy, r, sleep) for r in rates])
        if not np.all(np.isfinite(hours)):
            raise ValueError(f"options[{label!r}] draws no energy at all (0 mJ and no sleep power): the "
                             "battery would last forever")
        ax.plot(rates, hours, color=PALETTE[k % len(PALETTE)], linestyle=LINE_STYLES[k % len(LINE_STYLES)],
                linewidth=2, label=f"{label} ({_energy(energy)} per wake-up)")
        ends.append(hours)
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest = min(float(h.min()) for h in ends)
    highest = max(float(h.max()) for h in ends)
    for hours, text in ((24, "1 day"), (24 * 30, "1 month"), (24 * 365, "1 year"), (24 * 3650, "10 years")):
        if lowest / 3 <= hours <= highest * 3:
            ax.axhline(hours, color=GREY, linewidth=0.8, linestyle=":")
            ax.text(rates[0], hours * 1.08, text, fontsize=8, color="#444444")
    ax.set_xlabel("wake-ups per hour (log scale)")
    ax.set_ylabel("battery life (hours, log scale)")
    sleep_text = f", {sleep:g} mW asleep" if sleep else ", nothing drawn asleep"
    ax.set_title(title or f"Battery life of a {wh:g} Wh battery{sleep_text}")
    ax.legend(loc="lower left", fontsize=9, frameon=True)
    _tidy(ax)
    return Drawing(fig)


# ------------------------------------------------------------------------------ 04 · roofline

def arithmetic_intensity(model: Any) -> float:
    """Operations per byte moved of a :class:`~edgelab.stats.ModelStats`: 2 x MACs / (weight +
    activation bytes), the x of a model on a roofline (the latency estimator's two terms)."""
    from edgelab.stats import ModelStats

    if not isinstance(model, ModelStats):
        raise ValueError(f"model must be an edgelab.stats.ModelStats; got {type(model).__name__}")
    moved = model.weight_bytes + model.activation_bytes
    if moved <= 0 or model.macs <= 0:
        raise ValueError(f"model {model.name!r} needs macs > 0 and weight + activation bytes > 0")
    return 2.0 * model.macs / moved


def roofline(devices: Optional[Sequence[Any]] = None, models: Optional[Sequence[Any]] = None,
             precision: Optional[str] = None) -> Drawing:
    """Attainable G operations/s against arithmetic intensity (operations per byte), log-log: one
    roof per device (``min(peak x efficiency, intensity x memory bandwidth)``, the roofline of
    :func:`edgelab.devices.estimate_latency`) and each model (zoo names or ModelStats; default:
    the int8 reference models) as a point on every roof. ``precision`` (default: the models')
    picks the devices' peak; devices that cannot run it are left out."""
    from matplotlib.lines import Line2D

    from edgelab import devices as device_profiles
    from edgelab import zoo
    from edgelab.stats import PRECISIONS

    if models is None:
        models = [name for name in zoo.names() if name.endswith("int8")]
    stats = _model_stats(models)
    if not stats:
        raise ValueError("models must hold at least one model")
    found = {s.precision for s in stats}
    if precision is None:
        if len(found) > 1:
            raise ValueError(f"models mix precisions ({', '.join(sorted(found))}): pass precision= to pick "
                             "the roof they are drawn on")
        precision = found.pop()
    precision = _checks.choice("precision", precision, PRECISIONS)
    chosen = device_profiles.devices() if devices is None else list(devices)
    if not chosen:
        raise ValueError("devices must name at least one device profile")
    profiles = [d if isinstance(d, device_profiles.Device) else device_profiles.device(d) for d in chosen]
    roofs = [(d, d.peak_gops.get(precision), d.efficiency.get(precision)) for d in profiles]
    roofs = [(d, peak * eff) for d, peak, eff in roofs if peak is not None and eff is not None]
    if not roofs:
        raise ValueError(f"none of the devices runs {precision} arithmetic")

    intensities = [arithmetic_intensity(s) for s in stats]
    ridge = [top / d.mem_bw_gbs for d, top in roofs]
    x = np.geomspace(min(min(intensities), min(ridge)) / 10, max(max(intensities), max(ridge)) * 10, 200)
    fig, ax = _figure(9.5, 5.6)
    for k, (dev, top) in enumerate(roofs):
        colour = PALETTE[k % len(PALETTE)]
        style = LINE_STYLES[(k // len(PALETTE)) % len(LINE_STYLES)] if k >= len(PALETTE) else "-"
        ax.plot(x, np.minimum(top, x * dev.mem_bw_gbs), color=colour, linestyle=style, linewidth=2,
                label=f"{dev.name} ({_num(top)} GOP/s, {_num(dev.mem_bw_gbs)} GB/s)")
        for m, ai in enumerate(intensities):
            ax.plot([ai], [min(top, ai * dev.mem_bw_gbs)], marker=MARKERS[m % len(MARKERS)], color=colour,
                    markersize=7, markeredgecolor="black", linestyle="none")
    ax.set_xscale("log")
    ax.set_yscale("log")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle="none", label="\nmodels (arithmetic intensity):"))
    for m, (s, ai) in enumerate(zip(stats, intensities)):
        ax.axvline(ai, color=GREY, linestyle=":", linewidth=1)
        handles.append(Line2D([], [], marker=MARKERS[m % len(MARKERS)], color=GREY, linestyle=":",
                              markeredgecolor="black", label=f"{s.name}: {_num(ai)} ops/B"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="devices (peak x efficiency, memory):", title_fontsize=8, alignment="left")
    ax.set_xlabel("arithmetic intensity (operations per byte moved, log scale)")
    ax.set_ylabel(f"attainable {precision} G operations/s (log scale)")
    ax.set_title(f"Roofline ({precision}): on a slope memory-bound, on a flat roof compute-bound")
    _tidy(ax)
    return Drawing(fig)


# --------------------------------------------------------------------- 05 · the model's bytes

def layer_bytes(model: Any) -> List[Dict[str, Any]]:
    """One row per operator of a ``.tflite`` model (a :class:`~edgelab.convert.ConvertedModel`
    or its bytes), in execution order: ``op``, ``weight_shape`` (the largest constant input's
    shape, or None), ``constant_bytes`` (constants it reads from the file, each counted at its
    first use) and ``activation_bytes`` (its output tensors, computed at run time)."""
    from edgelab.convert import ConvertedModel

    if isinstance(model, (bytes, bytearray, memoryview)):
        model = ConvertedModel.from_bytes(bytes(model))
    if not isinstance(model, ConvertedModel):
        raise ValueError(f"model must be an edgelab ConvertedModel or .tflite bytes; "
                         f"got {type(model).__name__}")
    tensors = model.info.tensors
    seen: set = set()
    rows = []
    for op in model.info.operators:
        constants = [tensors[i] for i in op.inputs if i >= 0 and tensors[i].is_constant]
        fresh = [t for t in constants if t.index not in seen]
        seen.update(t.index for t in constants)
        biggest = max(constants, key=lambda t: len(t.data or b""), default=None)
        rows.append({"op": op.name,
                     "weight_shape": tuple(biggest.shape) if biggest is not None else None,
                     "constant_bytes": int(sum(len(t.data or b"") for t in fresh)),
                     "activation_bytes": int(sum(tensors[i].nbytes for i in op.outputs if i >= 0))})
    return rows


def model_layers(model: Any, title: str = "") -> Drawing:
    """Bytes per operator of a converted model (:func:`layer_bytes`), log scale: the constants it
    reads from the file (weights, biases) next to the activation it writes at run time."""
    rows = layer_bytes(model)
    if not rows:
        raise ValueError("model has no operators to draw")
    from edgelab.convert import ConvertedModel

    converted = model if isinstance(model, ConvertedModel) else ConvertedModel.from_bytes(bytes(model))
    labels = []
    for k, row in enumerate(rows):
        shape = "×".join(str(d) for d in row["weight_shape"]) if row["weight_shape"] else ""
        weights = f"  [{shape}]" if shape and row["constant_bytes"] > 64 else ""
        labels.append(f"{k + 1}. {row['op']}{weights}")
    fig, ax = _figure(9, 0.42 * len(rows) + 1.9)
    positions = np.arange(len(rows))
    height = 0.38
    constants = np.array([r["constant_bytes"] for r in rows], dtype=float)
    activations = np.array([r["activation_bytes"] for r in rows], dtype=float)
    ax.barh(positions - height / 2, constants, height=height, color=PALETTE[0],
            label="weights and other constants (stored in the file)")
    ax.barh(positions + height / 2, activations, height=height, color=PALETTE[1], hatch="//",
            edgecolor="white", label="output activation (RAM, computed at run time)")
    for i in range(len(rows)):
        for value, offset in ((constants[i], -height / 2), (activations[i], height / 2)):
            if value > 0:
                ax.text(value * 1.15, i + offset, f"{value:,.0f} B", va="center", fontsize=8)
    ax.set_yticks(positions, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    top = max(constants.max(), activations.max(), 1.0)
    ax.set_xlim(1, top * 12)
    ax.set_xlabel("bytes (log scale)")
    ax.set_title(title or f"{converted.name} ({converted.variant}): bytes per operator, "
                          f"{converted.size_bytes:,}-byte file")
    ax.legend(loc="center right", fontsize=9)
    _tidy(ax, grid="x")
    return Drawing(fig)


# -------------------------------------------------------------------------- 06 · quantization

def _grid(values: np.ndarray, bits: int, symmetric: bool, scale: Optional[float],
          zero_point: Optional[int]) -> Tuple[float, int, int, int]:
    """(scale, zero point, qmin, qmax) as :mod:`edgelab.quantize` computes and clips them."""
    from edgelab import quantize

    if bits not in quantize.BIT_WIDTHS:
        raise ValueError(f"bits must be one of {quantize.BIT_WIDTHS}; got {bits!r}")
    if not isinstance(symmetric, bool):
        raise ValueError(f"symmetric must be True or False; got {symmetric!r}")
    if (scale is None) != (zero_point is None):
        raise ValueError("scale and zero_point must be given together (or neither)")
    if scale is None:
        s, z = quantize.quantization_params(values, bits, symmetric)
        scale, zero_point = float(s), int(z)
    else:
        scale = _checks.number("scale", scale, inclusive=False)
        zero_point = _checks.count("zero_point", zero_point, minimum=-(2 ** 15), maximum=2 ** 15)
    # the integer range is where quantize() clips: ask it with two values far outside
    far = scale * (2.0 ** (bits + 1) + abs(zero_point))
    qmin, qmax = (int(q) for q in quantize.quantize(np.array([-far, far]), scale, zero_point, bits,
                                                    narrow_range=symmetric))
    return scale, zero_point, qmin, qmax


def quantization_grid(values: Any, bits: int = 8, symmetric: bool = False,
                      scale: Optional[float] = None, zero_point: Optional[int] = None,
                      name: str = "weights", zoom: bool = True) -> Drawing:
    """A histogram of ``values`` under the levels of their integer grid (every level, or every
    k-th when there are many), with the range outside the grid shaded: values there are clipped.
    The grid is :func:`edgelab.quantize.quantization_params` per tensor (``bits``,
    ``symmetric``), or the ``scale`` and ``zero_point`` you pass (e.g. a miscalibrated one).
    With ``zoom`` a lower panel zooms in on a dozen levels in the middle of the values and counts
    how many values each level stores."""
    arr = _values("values", values)
    scale, zero_point, qmin, qmax = _grid(arr, bits, symmetric, scale, zero_point)
    levels = (np.arange(qmin, qmax + 1) - zero_point) * scale
    low, high = float(levels[0]), float(levels[-1])
    every = max(1, math.ceil(len(levels) / 48))
    if not isinstance(zoom, bool):
        raise ValueError(f"zoom must be True or False; got {zoom!r}")
    if zoom:
        fig, (ax, lower) = _figure(9, 6, 2, 1, gridspec_kw={"height_ratios": [3, 2]})
    else:
        fig, ax = _figure(9, 3.8)
    span_low, span_high = min(arr.min(), low), max(arr.max(), high)
    pad = (span_high - span_low) * 0.04 or scale
    bins = np.linspace(span_low - pad, span_high + pad, 90)
    heights, _, _ = ax.hist(arr, bins=bins, color=PALETTE[0], alpha=0.85,
                            label=f"{name} ({arr.size:,} values)")
    shown = levels[::every]
    ax.vlines(shown, 0, 1, transform=ax.get_xaxis_transform(), colors=PALETTE[1], linewidth=0.8,
              label=f"{'each' if every == 1 else f'every {_ordinal(every)}'} of the {len(levels):,} grid "
                    f"levels (step {scale:.3g})")
    ax.axvspan(bins[0], low, color=PALETTE[3], alpha=0.15, label="clipped (outside the grid)")
    ax.axvspan(high, bins[-1], color=PALETTE[3], alpha=0.15)
    ax.set_xlim(bins[0], bins[-1])
    ax.set_ylim(0, max(float(heights.max()), 1.0) * 1.3)  # room for the legend
    clipped = float(np.mean((arr < low - scale / 2) | (arr > high + scale / 2)))
    article = "an" if bits == 8 else "a"
    ax.set_title(f"{name} on {article} {bits}-bit {'symmetric' if symmetric else 'asymmetric'} grid\n"
                 f"scale {scale:.4g}, zero point {zero_point}, range [{low:.3g}, {high:.3g}]"
                 + (f"; {clipped:.1%} of the values clipped" if clipped else ""), fontsize=10)
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize=8)
    _tidy(ax, grid="y")
    if zoom:
        _zoom_on_levels(lower, arr, levels, scale, zero_point, bits, symmetric, qmin)
    return Drawing(fig)


def _zoom_on_levels(ax: Any, arr: np.ndarray, levels: np.ndarray, scale: float, zero_point: int, bits: int,
                    symmetric: bool, qmin: int) -> None:
    """A dozen grid levels in the middle of the values: the values as a fine histogram, and how
    many of them :func:`edgelab.quantize.quantize` stores at each level (right axis)."""
    from edgelab import quantize

    low, high = float(levels[0]), float(levels[-1])
    centre = (low + high) / 2  # the middle of the values, a dozen levels from either end of the grid
    if high - low > 13 * scale:
        on_grid = arr[(arr >= low) & (arr <= high)]
        middle = float(np.median(on_grid)) if on_grid.size else centre
        centre = float(np.clip(middle, low + 6.5 * scale, high - 6.5 * scale))
    window = (centre - 6.5 * scale, centre + 6.5 * scale)
    inside = arr[(arr >= window[0]) & (arr <= window[1])]
    fine, _, _ = ax.hist(inside, bins=np.linspace(window[0], window[1], 105), color=PALETTE[0], alpha=0.5,
                         label="values (count per narrow bin, left axis)")
    near_mask = (levels >= window[0]) & (levels <= window[1])
    near = levels[near_mask]
    stored = quantize.quantize(arr, scale, zero_point, bits, narrow_range=symmetric).astype(np.int64)
    per_level = np.bincount(stored - qmin, minlength=len(levels))[near_mask].tolist()
    counts = ax.twinx()
    counts.vlines(near, 0, per_level, colors=PALETTE[1], linewidth=2.5,
                  label="values that round to each level (right axis)")
    counts.plot(near, per_level, "o", color=PALETTE[1], markersize=4)
    counts.set_ylim(0, max(per_level + [1]) * 1.35)
    counts.set_ylabel("values per level")
    counts.spines["top"].set_visible(False)
    ax.set_ylim(0, max(float(fine.max()), 1.0) * 1.35)
    ax.set_xlim(*window)
    ax.set_xlabel(f"value, zoomed in on ±6 steps around {centre:.3g}: each value is stored as the nearest "
                  f"level, at most {scale / 2:.3g} away")
    ax.set_ylabel("count")
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = counts.get_legend_handles_labels()
    ax.legend(handles + more[:1], labels + more_labels[:1], loc="upper right", fontsize=8)
    _tidy(ax, grid="y")


def error_vs_bits(values: Any, symmetric: bool = False, name: str = "weights") -> Drawing:
    """RMS quantization error of ``values`` against the bit width (2 ... 16, the widths of
    :mod:`edgelab.quantize`; per tensor), log y, next to the uniform-noise model step / √12."""
    from edgelab import quantize

    arr = _values("values", values)
    if not isinstance(symmetric, bool):
        raise ValueError(f"symmetric must be True or False; got {symmetric!r}")
    bits = list(quantize.BIT_WIDTHS)
    rms = [math.sqrt(quantize.quantization_error(arr, b, symmetric).mse) for b in bits]
    steps = [float(quantize.quantization_params(arr, b, symmetric)[0]) for b in bits]
    fig, ax = _figure(8, 4.4)
    ax.plot(bits, rms, marker="o", color=PALETTE[0], linewidth=2, label="RMS error (measured)")
    ax.plot(bits, [s / math.sqrt(12) for s in steps], color=PALETTE[1], linestyle="--", linewidth=1.5,
            label="step / √12 (rounding error spread evenly over a step)")
    for b, value in zip(bits, rms):
        if b in (2, 4, 8, 16) and value > 0:
            ax.annotate(f"{value:.2g}", (b, value), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(bits)
    ax.set_xlabel("bits per value")
    ax.set_ylabel("RMS error (log scale)")
    ax.set_title(f"{name}: each extra bit halves the quantization error "
                 f"({'symmetric' if symmetric else 'asymmetric'}, per tensor)")
    ax.legend(loc="upper right", fontsize=9)
    _tidy(ax)
    return Drawing(fig)


# ------------------------------------------------------------------------------ 07 · pruning

def pruning_threshold(weights: Any, sparsity: float, name: str = "weights") -> Drawing:
    """A histogram of ``|w|`` with the magnitude threshold that prunes a fraction ``sparsity``
    (:func:`edgelab.prune.magnitude_prune`), the pruned share shaded apart from the kept."""
    from edgelab import prune

    arr = _values("weights", weights)
    sparsity = _checks.number("sparsity", sparsity, maximum=1.0, max_inclusive=False)
    stats = prune.pruning_stats(arr, sparsity)
    pruned = prune.magnitude_prune(arr, sparsity).ravel() == 0
    magnitude = np.abs(arr)
    bins = np.linspace(0, magnitude.max() * 1.02 or 1.0, 80)
    fig, ax = _figure(8.5, 4.4)
    removed, kept = magnitude[pruned], magnitude[~pruned]
    ax.hist([removed, kept], bins=bins, stacked=True, color=[PALETTE[3], PALETTE[0]],
            label=[f"pruned (set to 0): {removed.size:,} weights, {removed.size / arr.size:.0%}",
                   f"kept: {kept.size:,} weights"])
    threshold = stats["threshold"]
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1.5,
               label=f"threshold |w| ≤ {threshold:.3g}")
    ax.set_xlim(0, bins[-1])
    ax.set_xlabel("|w| (magnitude of a weight)")
    ax.set_ylabel("weights")
    ax.set_title(f"{name}: {sparsity:.0%} sparsity; the zeroed weights' L2 norm is "
                 f"{stats['relative_error']:.0%} of the whole")
    ax.legend(loc="upper right", fontsize=9)
    _tidy(ax, grid="y")
    return Drawing(fig)


# -------------------------------------------------------------------- 08 · measured latencies

def latency_histogram(samples_ms: Any, title: str = "", bins: int = 40) -> Drawing:
    """A histogram of measured latencies (ms) with p50, p95 and p99 marked (numpy's linear
    percentiles, as :func:`edgelab.bench.latency_stats` computes them)."""
    arr = _values("samples_ms", samples_ms)
    if np.any(arr < 0):
        raise ValueError("samples_ms must hold latencies >= 0 (ms)")
    bins = _checks.count("bins", bins, minimum=2, maximum=1000)
    marks = dict(zip(("p50", "p95", "p99"), np.percentile(arr, [50, 95, 99])))
    fig, ax = _figure(8, 4.2)
    ax.hist(arr, bins=bins, color=PALETTE[0], alpha=0.85, label=f"{arr.size:,} timed runs")
    for k, (label, value) in enumerate(marks.items()):
        ax.axvline(value, color=PALETTE[1 + k * 2 % 6], linestyle=LINE_STYLES[k + 1], linewidth=1.8,
                   label=f"{label}: {value:,.3g} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("runs")
    ax.set_title(title or f"Measured latency: {arr.size:,} runs, min {arr.min():,.3g} ms, "
                          f"max {arr.max():,.3g} ms")
    ax.legend(loc="upper right", fontsize=9)
    _tidy(ax, grid="y")
    return Drawing(fig)


# -------------------------------------------------------------------------------- 09 · drift

def _bin_labels(edges: np.ndarray) -> List[str]:
    def fmt(v: float) -> str:
        return f"{v:.3g}"

    if len(edges) == 0:
        return ["all values"]
    labels = [f"< {fmt(edges[0])}"]
    labels += [f"{fmt(a)}–{fmt(b)}" for a, b in zip(edges[:-1], edges[1:])]
    labels.append(f"≥ {fmt(edges[-1])}")
    return labels


def drift_histograms(reference: Any, current: Any, bins: int = 10, feature: str = "feature value") -> Drawing:
    """The reference and the current values over the same bins (the reference's quantiles,
    :func:`edgelab.drift.bin_edges`), as the shares :func:`edgelab.drift.bin_fractions` counts,
    with the PSI and its reading in the title."""
    from edgelab import drift

    p, q = drift.bin_fractions(reference, current, bins)
    edges = drift.bin_edges(reference, bins)
    value = drift.psi_from_fractions(p, q)
    fig, ax = _figure(9, 4.4)
    positions = np.arange(len(p))
    width = 0.4
    ax.bar(positions - width / 2, p, width=width, color=PALETTE[0], label="reference (training data)")
    ax.bar(positions + width / 2, q, width=width, color=PALETTE[1], hatch="//", edgecolor="white",
           label="current (from the field)")
    ax.set_xticks(positions, _bin_labels(edges), rotation=30, ha="right", fontsize=8)
    ax.set_xlabel(f"{feature}: bins at the reference's quantiles")
    ax.set_ylabel("share of the values")
    ax.set_title(f"PSI {value:.3f}: {drift.level(value)} (< {drift.STABLE_BELOW:g} stable, "
                 f"> {drift.DRIFT_ABOVE:g} drift)")
    ax.legend(loc="upper left", fontsize=9)
    _tidy(ax, grid="y")
    return Drawing(fig)


# --------------------------------------------------------------------- 10 · microcontrollers

def memory_map(budgets: Any, labels: Optional[Sequence[str]] = None) -> Drawing:
    """Flash and SRAM of one or more deployments (:func:`edgelab.micro.budget`), as shares of
    each board's capacity: flash holds the runtime's code and the model, SRAM the tensor arena
    and the runtime's own RAM. A bar past 100 % does not fit. ``labels`` names the rows
    (default: the boards)."""
    from edgelab import micro

    plans = [budgets] if isinstance(budgets, micro.Budget) else list(budgets) if isinstance(
        budgets, (list, tuple)) else None
    if not plans or not all(isinstance(b, micro.Budget) for b in plans):
        raise ValueError("budgets must be an edgelab.micro.Budget or a list of them (micro.budget(...))")
    names = [b.board for b in plans] if labels is None else [str(label) for label in labels]
    if len(names) != len(plans):
        raise ValueError(f"labels must name each of the {len(plans)} budgets; got {len(names)} labels")
    fig, axes = _figure(10.5, 0.8 * len(plans) + 2.4, 1, 2, sharey=True)
    memories = (("flash", "flash_bytes", (("model", "model_bytes"),
                                          ("runtime code", "runtime_flash_bytes"))),
                ("SRAM", "ram_bytes", (("tensor arena", "arena_bytes"),
                                       ("runtime RAM", "runtime_ram_bytes"))))
    positions = np.arange(len(plans))
    for (memory, capacity_key, parts), ax, colours in zip(memories, axes, ((0, 5), (1, 4))):
        capacity = np.array([getattr(b, capacity_key) for b in plans], dtype=float)
        ax.barh(positions, np.full(len(plans), 100.0), height=0.55, color="#eeeeee", edgecolor=GREY,
                linewidth=0.8, label="the board's capacity")
        left = np.zeros(len(plans))
        for (label, key), colour in zip(parts, colours):
            share = np.array([getattr(b, key) for b in plans], dtype=float) / capacity * 100
            ax.barh(positions, share, left=left, height=0.55, color=PALETTE[colour], label=label)
            left += share
        for i in range(len(plans)):
            need = left[i] * capacity[i] / 100
            fits = left[i] <= 100
            used = f"{left[i]:.1f} %" if fits else f"{left[i]:.0f} %: does not fit"
            ax.text(max(left[i], 100) + 3, i, f"{_kb(need)} of {_kb(capacity[i])}\n{used}", va="center",
                    fontsize=8, color="black" if fits else PALETTE[3],
                    fontweight="normal" if fits else "bold")
        ax.set_xlim(0, max(100.0, float(left.max())) * 1.7)
        ax.set_xlabel(f"share of the board's {memory} (%)")
        ax.set_title(f"{memory}: {' + '.join(label for label, _ in parts)}", fontsize=10)
        _tidy(ax, grid="x")
    axes[0].set_yticks(positions, names)
    axes[0].invert_yaxis()
    handles, texts = axes[0].get_legend_handles_labels()
    more, more_texts = axes[1].get_legend_handles_labels()
    fig.legend(handles + more[1:], texts + more_texts[1:], loc="outside lower center", ncol=5, fontsize=8,
               frameon=False)
    fig.suptitle("Does it fit? The firmware in flash, the arena in SRAM")
    return Drawing(fig)


# ------------------------------------------------------- explorers and dashboards (edgelab.ui)

ON_DEVICE_MS = 0.1  # where a tier without a network round trip sits on a log axis


def tier_choice(latency_budget_ms: float, suggested: str, workload: str = "") -> Drawing:
    """The tiers of :mod:`edgelab.tiers` as their typical network round trips (log ms; a tier on
    the device has none) against the deadline ``latency_budget_ms``; the ``suggested`` tier (its
    name, as :func:`edgelab.tiers.place` returns it) in colour, the others grey. ``workload``,
    a line describing the question, is the subtitle."""
    from edgelab import tiers

    deadline = _checks.number("latency_budget_ms", latency_budget_ms, inclusive=False)
    all_tiers = tiers.tiers()
    names = [t.name for t in all_tiers]
    suggested = _checks.choice("suggested", suggested, names)
    fig, ax = _figure(9, 3.8)
    for i, tier in enumerate(all_tiers):
        low, high = tier.typical_rtt_ms
        chosen = tier.name == suggested
        colour = PALETTE[2] if chosen else "#bbbbbb"
        if high <= 0:
            ax.plot([ON_DEVICE_MS], [i], marker="D", markersize=10, color=colour, linestyle="none")
            text = "no network: runs on the device"
            x = ON_DEVICE_MS * 1.4
        else:
            ax.barh(i, high - low, left=low, height=0.55, color=colour)
            text = f"round trip {low:g}–{high:g} ms"
            x = high * 1.15
        ax.text(x, i, text + ("   ← suggested" if chosen else ""), va="center", fontsize=9,
                fontweight="bold" if chosen else "normal")
    ax.axvline(deadline, color=PALETTE[3], linestyle="--", linewidth=1.8,
               label=f"deadline {deadline:,.0f} ms")
    ax.set_yticks(np.arange(len(all_tiers)), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    top = max(max(t.typical_rtt_ms[1] for t in all_tiers), deadline)
    ax.set_xlim(ON_DEVICE_MS / 2, top * 200)
    ax.set_xlabel("typical network round trip (ms, log scale)")
    ax.set_title(f"Suggested: {suggested}" + (f"\n{textwrap.fill(workload, 95)}" if workload else ""),
                 fontsize=10)
    ax.legend(loc="lower right", fontsize=9)
    _tidy(ax, grid="x")
    return Drawing(fig)


def latency_cdf(samples_ms: Mapping[str, Any], deadline_ms: Optional[float] = None,
                title: str = "") -> Drawing:
    """The share of requests answered within each time (a CDF, log time axis), one line per
    ``{label: latencies in ms}`` (``inf`` = failed: never answered), with the deadline marked."""
    if not isinstance(samples_ms, Mapping) or not samples_ms:
        raise ValueError("samples_ms must map a label to an array of latencies (ms)")
    fig, ax = _figure(7.5, 3.8)
    finite_all = []
    for k, (label, samples) in enumerate(samples_ms.items()):
        arr = np.asarray(samples, dtype=np.float64).ravel()
        if arr.size == 0 or np.any(np.isnan(arr)):
            raise ValueError(f"samples_ms[{label!r}] must be a non-empty array of latencies (inf = failed)")
        values = np.sort(arr[np.isfinite(arr)])
        if values.size == 0:
            ax.plot([], [], color=PALETTE[k % len(PALETTE)], label=f"{label}: never answers")
            continue
        picked = np.unique(np.linspace(0, values.size - 1, min(values.size, 800)).astype(int))
        ax.plot(values[picked], (picked + 1) / arr.size, color=PALETTE[k % len(PALETTE)],
                linestyle=LINE_STYLES[k % len(LINE_STYLES)], linewidth=2,
                label=f"{label}: median {_num(float(np.median(arr)))} ms")
        finite_all.append(values)
    if deadline_ms is not None:
        deadline = _checks.number("deadline_ms", deadline_ms, inclusive=False)
        ax.axvline(deadline, color=PALETTE[3], linestyle=":", linewidth=1.8,
                   label=f"deadline {deadline:,.0f} ms")
    if finite_all:
        ax.set_xscale("log")
        _plain_log_ticks(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of requests answered")
    ax.set_title(title or "How soon are requests answered?")
    ax.legend(loc="best", fontsize=9)
    _tidy(ax)
    return Drawing(fig)


def _plain_log_ticks(ax: Any) -> None:
    """Log-axis tick labels as plain numbers (0.1, 30, 2,000), none on the minor ticks."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _num(value)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def device_latencies(candidates: Sequence[Mapping[str, Any]], max_latency_ms: float,
                     pick: Optional[str] = None, limits: str = "") -> Drawing:
    """Estimated latency per device (log ms) against the latency limit: ``candidates`` are
    ``{"device", "estimate_ms", "ok"}`` (as :func:`edgelab.budget.choose_device` judges them;
    ``inf``: cannot run). Devices meeting every limit in green, the others grey, the pick marked;
    ``limits``, a line naming the model and all the limits, is the subtitle."""
    limit = _checks.number("max_latency_ms", max_latency_ms, inclusive=False)
    rows = list(candidates)
    if not rows:
        raise ValueError("candidates must hold at least one device")
    fig, ax = _figure(8.5, 0.38 * len(rows) + 1.6)
    runs = [float(r["estimate_ms"]) for r in rows if math.isfinite(float(r["estimate_ms"]))]
    low = min(runs + [limit]) / 5
    for i, row in enumerate(rows):
        ms = float(row["estimate_ms"])
        chosen = row["device"] == pick
        colour = PALETTE[1] if chosen else PALETTE[2] if row["ok"] else "#bbbbbb"
        if math.isfinite(ms):
            ax.barh(i, ms, height=0.6, color=colour)
            ax.text(ms * 1.15, i, f"{ms:,.3g} ms" + ("  ← pick" if chosen else ""), va="center", fontsize=8,
                    fontweight="bold" if chosen else "normal")
        else:
            ax.text(low * 1.2, i, "cannot run this model", va="center", fontsize=8, color=GREY)
    ax.axvline(limit, color=PALETTE[3], linestyle="--", linewidth=1.8, label=f"max latency {limit:,.3g} ms")
    ax.set_yticks(np.arange(len(rows)), [str(r["device"]) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.set_xlim(low, max(runs + [limit]) * 30)
    ax.set_xlabel("estimated latency (ms, log scale; roofline estimate)")
    ax.set_title(f"Pick: {pick or 'none meets every limit'} (green: meets latency, power and cost)"
                 + (f"\n{limits}" if limits else ""), fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    _tidy(ax, grid="x")
    return Drawing(fig)


def report_check(accuracy: Optional[float], min_accuracy: float, p50_ms: Optional[float],
                 max_p50_ms: float) -> Drawing:
    """A device report against its two bars: accuracy (higher is better) and p50 latency (lower
    is better, log scale), each a bar with the limit marked, green when it passes. A value the
    report does not hold (None) is said so."""
    floor = _checks.number("min_accuracy", min_accuracy, maximum=1.0)
    budget = _checks.number("max_p50_ms", max_p50_ms, inclusive=False)
    fig, (top, bottom) = _figure(8, 3.2, 2, 1)
    for ax, value, limit, name, good in ((top, accuracy, floor, "accuracy", lambda v: v >= floor),
                                         (bottom, p50_ms, budget, "p50 latency (ms)", lambda v: v <= budget)):
        if value is None:
            ax.text(0.5, 0.5, f"the report holds no {name}", transform=ax.transAxes, ha="center", color=GREY)
        else:
            ok = good(value)
            ax.barh(0, value, height=0.5, color=PALETTE[2] if ok else PALETTE[3])
            ax.text(value, 0.32, f" {value:.4g}: {'passes' if ok else 'fails'}", va="bottom", fontsize=9)
        ax.axvline(limit, color="black", linestyle="--", linewidth=1.5,
                   label=f"{'at least' if ax is top else 'at most'} {limit:.4g}")
        ax.set_yticks([0], [name])
        ax.set_ylim(-0.5, 0.8)
        ax.legend(loc="upper right", fontsize=8)
        _tidy(ax, grid="x")
    top.set_xlim(0, 1.05)
    values = [v for v in (p50_ms, budget) if v is not None and v > 0]
    bottom.set_xscale("log")
    _plain_log_ticks(bottom)
    bottom.set_xlim(min(values) / 10, max(values) * 10)
    top.set_title("The device report against the bars", fontsize=10)
    return Drawing(fig)


def tensor_use(layers: Sequence[Mapping[str, Any]], readers: Sequence[int], writers: Sequence[int],
               tensor: str = "the tensor") -> Drawing:
    """A model's operators in execution order (rows of :func:`layer_bytes`), as the bytes each
    reads from the file and writes at run time (log scale), the ones that write ``tensor``
    (positions in ``writers``) and read it (``readers``) in colour."""
    rows = list(layers)
    if not rows:
        raise ValueError("layers must hold at least one operator (figures.layer_bytes)")
    fig, ax = _figure(8.5, 0.36 * len(rows) + 1.7)
    labels = []
    for i, row in enumerate(rows):
        role = "writes" if i in writers else "reads" if i in readers else ""
        colour = PALETTE[1] if role == "writes" else PALETTE[0] if role == "reads" else "#cccccc"
        total = max(float(row["constant_bytes"]) + float(row["activation_bytes"]), 1.0)
        ax.barh(i, total, height=0.6, color=colour)
        if role:
            ax.text(total * 1.15, i, f"{role} it", va="center", fontsize=8, fontweight="bold")
        labels.append(f"{i + 1}. {row['op']}")
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    top = max(max(float(r["constant_bytes"]) + float(r["activation_bytes"]) for r in rows), 1.0) * 20
    ax.set_xlim(1, top)
    _byte_ticks(ax, 1, top)
    ax.set_xlabel("bytes the operator reads from the file + writes at run time (log scale)")
    shown = tensor if len(tensor) <= 60 else tensor[:57] + "..."
    ax.set_title(f"{shown}: written by {len(writers)}, read by {len(readers)} operator(s)", fontsize=10)
    _tidy(ax, grid="x")
    return Drawing(fig)


def outbox_timeline(hours: Any, queued: Any, delivered: Any, link_up: Any, title: str = "") -> Drawing:
    """A far-edge outbox hour by hour (:func:`edgelab.fleetsim.simulate_outbox`): readings waiting
    in the outbox and delivered so far, with the hours the link is down shaded."""
    x = _values("hours", hours)
    waiting = _values("queued", queued)
    sent = _values("delivered", delivered)
    up = np.asarray(link_up, dtype=bool).ravel()
    if not (x.size == waiting.size == sent.size == up.size):
        raise ValueError("hours, queued, delivered and link_up must have the same length")
    fig, ax = _figure(7.5, 3.2)
    ax.fill_between(x, 0, max(float(waiting.max()), float(sent.max())) * 1.05 + 1, where=~up,
                    color=PALETTE[3], alpha=0.15, label="link down", step="post")
    ax.step(x, waiting, where="post", color=PALETTE[0], linewidth=2, label="waiting in the outbox")
    ax.step(x, sent, where="post", color=PALETTE[2], linestyle="--", linewidth=2,
            label="delivered (cumulative)")
    ax.set_xlabel("hour")
    ax.set_ylabel("readings")
    ax.set_title(title or "Store and forward through an outage", fontsize=10)
    ax.legend(loc="upper left", fontsize=9)
    _tidy(ax)
    return Drawing(fig)


def weights_before_after(reference: Any, values: Any, label: str, name: str = "weights") -> Drawing:
    """Histograms of float32 weights (``reference``) and of the same weights as a variant's
    runtime reads them (``values``, labelled ``label``), on the same bins."""
    before = _values("reference", reference)
    after = _values("values", values)
    fig, ax = _figure(6.5, 3.2)
    low, high = float(before.min()), float(before.max())
    bins = np.linspace(low, high if high > low else low + 1.0, 120)
    ax.hist(before, bins=bins, color=PALETTE[0], alpha=0.5, label="float32")
    ax.hist(after, bins=bins, histtype="step", color=PALETTE[1], linewidth=1.4,
            label=f"{label} (as the runtime reads it)")
    ax.set_xlabel(f"weight value ({name})")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize=9)
    _tidy(ax, grid="y")
    return Drawing(fig)
