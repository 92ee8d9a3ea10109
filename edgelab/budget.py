"""Budgets for an edge deployment: bytes per day, radio energy, deadlines, crossovers, device choice.

Small, checkable calculations the latency and bandwidth lessons build on, next to the
simulator in :mod:`edgelab.network` and the estimator in :mod:`edgelab.devices`:

* how many bytes a camera sends per day, streaming video or sending events, for one
  device and for a fleet (:func:`data_plan`);
* what the radio spends to send them (:func:`radio_energy_mj`, the same energy model as
  :func:`edgelab.network.simulate_cloud`);
* how far a car travels while it waits for an answer (:func:`distance_travelled_m`);
* the payload size from which the edge beats the cloud (:func:`crossover_payload_bytes`);
* which device meets latency, power and cost limits (:func:`choose_device`; prices in
  ``data/prices.json`` with their sources).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Dict, List, Optional, Sequence, Union

from edgelab import _checks, devices, network
from edgelab.stats import ModelStats

SECONDS_PER_DAY = 86_400
MODES = ("raw", "compressed", "events")


# ---------------------------------------------------------------------------------------------
# Bytes


wire_bytes = network.wire_bytes  # re-exported: the lessons compute bytes per day with it


def raw_video_bytes_per_s(width: int, height: int, fps: float, bits_per_pixel: float = 24) -> float:
    """Bytes per second of uncompressed video: width x height x bits per pixel / 8 x frames per second."""
    w = _checks.count("width", width, minimum=1, maximum=100_000)
    h = _checks.count("height", height, minimum=1, maximum=100_000)
    rate = _checks.number("fps", fps, inclusive=False, maximum=10_000)
    bpp = _checks.number("bits_per_pixel", bits_per_pixel, inclusive=False, maximum=64)
    return w * h * bpp / 8.0 * rate


def stream_bytes_per_day(mbps: float, hours_per_day: float = 24.0) -> float:
    """Bytes per day of a stream at ``mbps`` megabits per second, on for ``hours_per_day``."""
    rate = _checks.number("mbps", mbps)
    hours = _checks.number("hours_per_day", hours_per_day, maximum=24)
    return rate * 1e6 / 8.0 * hours * 3600.0


def events_bytes_per_day(events_per_day: float, event_bytes: float) -> float:
    """Bytes per day on the wire for ``events_per_day`` messages of ``event_bytes`` each
    (packet headers included, see :func:`wire_bytes`)."""
    count = _checks.number("events_per_day", events_per_day)
    return count * wire_bytes(event_bytes)


def human_bytes(nbytes: float) -> str:
    """``nbytes`` in decimal units a person reads: "512 B", "4.3 kB", "16.1 TB"."""
    value = _checks.number("nbytes", nbytes)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000.0
    raise AssertionError("unreachable")


def fleet_bytes_per_day(bytes_per_device_per_day: float, n_devices: int) -> float:
    """Bytes per day for ``n_devices`` devices that each send ``bytes_per_device_per_day``."""
    per_device = _checks.number("bytes_per_device_per_day", bytes_per_device_per_day)
    n = _checks.count("n_devices", n_devices, minimum=1, maximum=1_000_000_000)
    return per_device * n


@dataclass(frozen=True)
class DataPlan:
    """What a camera (or a fleet of them) sends per day in one mode."""

    mode: str
    n_devices: int
    bytes_per_device_per_day: float
    fleet_bytes_per_day: float

    @property
    def average_mbps_per_device(self) -> float:
        """The uplink each device needs on average (Mbit/s)."""
        return self.bytes_per_device_per_day * 8.0 / SECONDS_PER_DAY / 1e6

    def describe(self) -> str:
        """One line a learner can read."""
        return (f"{self.mode}: {human_bytes(self.bytes_per_device_per_day)} per device per day "
                f"(average {self.average_mbps_per_device:,.4g} Mbit/s); fleet of {self.n_devices:,}: "
                f"{human_bytes(self.fleet_bytes_per_day)} per day")


def data_plan(mode: str, n_devices: int = 1, *, width: int = 1920, height: int = 1080, fps: float = 30,
              bits_per_pixel: float = 24, compressed_mbps: float = 8.0, hours_per_day: float = 24.0,
              events_per_hour: float = 10.0, event_bytes: float = 200) -> DataPlan:
    """Bytes per day for one device and for a fleet of ``n_devices``, in one of three modes:

    * ``"raw"``: uncompressed video (width x height x bits per pixel x fps), on ``hours_per_day``;
    * ``"compressed"``: an encoded stream at ``compressed_mbps``, on ``hours_per_day`` (the
      default, 8 Mbit/s, is YouTube's recommended upload bitrate for 1080p at 24-30 frames/s);
    * ``"events"``: the device runs the model and sends ``events_per_hour`` messages of
      ``event_bytes`` (24 hours a day), headers included.
    """
    mode = _checks.choice("mode", mode, MODES)
    n = _checks.count("n_devices", n_devices, minimum=1, maximum=1_000_000_000)
    if mode == "raw":
        per_second = raw_video_bytes_per_s(width, height, fps, bits_per_pixel)
        hours = _checks.number("hours_per_day", hours_per_day, maximum=24)
        per_device = per_second * hours * 3600.0
    elif mode == "compressed":
        per_device = stream_bytes_per_day(compressed_mbps, hours_per_day)
    else:
        rate = _checks.number("events_per_hour", events_per_hour)
        per_device = events_bytes_per_day(rate * 24.0, event_bytes)
    return DataPlan(mode, n, per_device, fleet_bytes_per_day(per_device, n))


# ---------------------------------------------------------------------------------------------
# Energy


def radio_energy_mj(link: Union[str, network.Link], bytes_up: float, bytes_down: float = 0.0,
                    active_ms: float = 0.0, tail: bool = True, request_rate: Optional[float] = None) -> float:
    """Energy (mJ) the device's radio spends on one exchange over ``link``: energy per bit sent
    and received, the radio's active power while the request is in flight (``active_ms``), and
    its high-power tail after the transfer (``tail``). With ``request_rate`` (per second), a
    tail shared by requests that come faster than it lasts is charged in part, as in
    :func:`edgelab.network.simulate_cloud`; without it, one isolated exchange pays the whole
    tail. Pass wire bytes (see :func:`wire_bytes`)."""
    ln = link if isinstance(link, network.Link) else network.link(link)
    up = _checks.number("bytes_up", bytes_up)
    down = _checks.number("bytes_down", bytes_down)
    active = _checks.number("active_ms", active_ms)
    radio = ln.radio
    if radio is None:
        raise ValueError(f"link {ln.name!r} has no radio profile to compute energy with")
    energy = (up * 8 * radio.up_nj_per_bit + down * 8 * radio.down_nj_per_bit) * 1e-6
    energy += radio.active_mw * active / 1000.0
    if tail:
        rate = None if request_rate is None else _checks.number("request_rate", request_rate, inclusive=False)
        energy += radio.tail_energy_mj(rate)
    return energy


# ---------------------------------------------------------------------------------------------
# Deadlines and crossovers


def distance_travelled_m(speed_kmh: float, latency_ms: float) -> float:
    """Metres a vehicle at ``speed_kmh`` covers while it waits ``latency_ms`` for an answer."""
    speed = _checks.number("speed_kmh", speed_kmh, maximum=2000)
    latency = _checks.number("latency_ms", latency_ms)
    return speed / 3.6 * latency / 1000.0


def cloud_median_ms(link: Union[str, network.Link], payload_bytes: float, *, server_ms: float = 0.0,
                    response_bytes: float = 200, connection: str = "reused") -> float:
    """The median cloud round trip (ms) for one request on an idle server: the ``total_ms`` of
    :func:`edgelab.network.round_trip`."""
    return network.round_trip(link, payload_bytes, response_bytes, server_ms=server_ms,
                              connection=connection)["total_ms"]


def crossover_payload_bytes(link: Union[str, network.Link], edge_ms: float, *, server_ms: float = 0.0,
                            response_bytes: float = 200, connection: str = "reused",
                            max_bytes: float = 1e9) -> float:
    """The smallest payload (bytes) from which running the model on the device (``edge_ms``)
    answers faster than the cloud's median round trip over ``link`` (see :func:`cloud_median_ms`).

    Returns 0 when the edge wins even for an empty request, and ``inf`` when the cloud stays
    faster up to ``max_bytes``. The round trip never shrinks as the payload grows, so a
    bisection over whole bytes finds the crossover."""
    edge = _checks.number("edge_ms", edge_ms)
    top = _checks.number("max_bytes", max_bytes, inclusive=False, maximum=1e12)

    def cloud(nbytes: float) -> float:
        return cloud_median_ms(link, nbytes, server_ms=server_ms, response_bytes=response_bytes,
                               connection=connection)

    if cloud(0) > edge:
        return 0.0
    if cloud(top) <= edge:
        return math.inf
    low, high = 0, int(math.ceil(top))  # cloud(low) <= edge < cloud(high)
    while high - low > 1:
        mid = (low + high) // 2
        if cloud(mid) > edge:
            high = mid
        else:
            low = mid
    return float(high)


def link_table(payload_bytes: float, *, server_ms: float, links: Optional[Sequence[str]] = None,
               response_bytes: float = 200, deadline_ms: Optional[float] = None, n: int = 20_000,
               seed: int = 0) -> Dict[str, Dict[str, float]]:
    """For each link (default: all profiles but LoRaWAN), the simulated cloud latency of this
    request: p50, p95, p99 (ms), failure rate and, with ``deadline_ms``, the deadline miss rate.
    Seeded: the same arguments give the same table."""
    names = list(links) if links is not None else [name for name in network.links() if name != "lorawan"]
    table: Dict[str, Dict[str, float]] = {}
    for name in names:
        result = network.simulate_cloud(name, payload_bytes, response_bytes, server_ms=server_ms, n=n,
                                        seed=seed)
        row = {"p50_ms": result.percentile(50), "p95_ms": result.percentile(95),
               "p99_ms": result.percentile(99), "failure_rate": result.failure_rate}
        if deadline_ms is not None:
            row["deadline_miss_rate"] = result.miss_rate(deadline_ms)
        table[name] = row
    return table


# ---------------------------------------------------------------------------------------------
# Choosing a device


@lru_cache(maxsize=1)
def _prices() -> Dict[str, Dict[str, object]]:
    text = resources.files("edgelab").joinpath("data/prices.json").read_text(encoding="utf-8")
    return json.loads(text)["prices_usd"]


def priced_devices() -> List[str]:
    """The device profiles that have a purchase price (the edge devices, not the cloud)."""
    return [name for name in devices.devices() if name in _prices()]


def price_usd(device: str) -> float:
    """The launch list price of ``device`` in US dollars (see ``data/prices.json`` for sources)."""
    _checks.profile_name("priced device", device, _prices())
    return float(_prices()[device]["usd"])  # type: ignore[arg-type]


def price_source(device: str) -> str:
    """Where the price of ``device`` comes from."""
    _checks.profile_name("priced device", device, _prices())
    return str(_prices()[device]["source"])


@dataclass(frozen=True)
class Candidate:
    """One device judged against the limits; ``problems`` says which limits it breaks."""

    device: str
    estimate_ms: float
    power_w: float
    cost_usd: float
    problems: tuple = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DeviceChoice:
    """Every candidate, and the pick: the cheapest device that meets all limits (ties go to the
    faster one), or None when none does."""

    candidates: List[Candidate] = field(default_factory=list)
    pick: Optional[str] = None

    def table(self) -> str:
        """The candidates as aligned text (latencies are roofline estimates)."""
        lines = [f"{'device':<27}{'estimate':>12}{'power':>9}{'cost':>8}  verdict"]
        for c in self.candidates:
            est = f"{c.estimate_ms:,.2f} ms" if math.isfinite(c.estimate_ms) else "cannot run"
            verdict = "OK" if c.ok else "; ".join(c.problems)
            mark = " <- pick" if c.device == self.pick else ""
            cost = f"${c.cost_usd:,.0f}"
            lines.append(f"{c.device:<27}{est:>12}{c.power_w:>7.2f} W{cost:>8}  {verdict}{mark}")
        return "\n".join(lines)


def choose_device(model: ModelStats, *, max_latency_ms: float, max_power_w: float, max_cost_usd: float,
                  candidates: Optional[Sequence[str]] = None) -> DeviceChoice:
    """Judge each candidate device (default: :func:`priced_devices`) for ``model``: its roofline
    latency estimate (:func:`edgelab.devices.estimate_latency`, which also says if the model
    fits), its active power and its price, against the three limits."""
    if not isinstance(model, ModelStats):
        raise ValueError(f"model must be an edgelab.stats.ModelStats; got {type(model).__name__}")
    latency_limit = _checks.number("max_latency_ms", max_latency_ms, inclusive=False)
    power_limit = _checks.number("max_power_w", max_power_w, inclusive=False)
    cost_limit = _checks.number("max_cost_usd", max_cost_usd, inclusive=False)
    names = list(candidates) if candidates is not None else priced_devices()
    judged = []
    for name in names:
        dev = devices.device(name)
        est = devices.estimate_latency(dev, model)
        cost = price_usd(name)
        problems = []
        if not (est.fits and est.runs):
            problems.append(f"cannot run: {est.reason}")
        elif est.ms > latency_limit:
            problems.append(f"too slow ({est.ms:,.1f} > {latency_limit:g} ms)")
        if dev.active_w > power_limit:
            problems.append(f"too much power ({dev.active_w:g} > {power_limit:g} W)")
        if cost > cost_limit:
            problems.append(f"too expensive (${cost:g} > ${cost_limit:g})")
        judged.append(Candidate(name, est.ms, dev.active_w, cost, tuple(problems)))
    good = sorted((c for c in judged if c.ok), key=lambda c: (c.cost_usd, c.estimate_ms))
    return DeviceChoice(judged, good[0].device if good else None)
