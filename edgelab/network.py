"""Network links and the cloud round trip: sourced link profiles and a seeded, vectorised simulator.

A round trip to the cloud is: connection set-up (none on a reused connection, one RTT for a
new TCP connection, two for new TCP + TLS 1.3), the upload, one propagation RTT, waiting in
the cloud server's FIFO queue, the cloud's inference time, and the download; plus
retransmission time-outs for lost packets. A request that arrives while the link is down
either fails or waits for the link (``outage_policy``).

An upload (or download) is a TCP transfer through a bottleneck link, modelled as TCP sends
it (:func:`transfer_ms`): the sender puts a first flight of :data:`INITIAL_WINDOW` segments on
the wire and then, in slow start, two more segments for each segment acknowledged, so each
flight is twice the previous one. The link serializes segments one after another; while
earlier segments are still in flight it keeps sending, so a flight leaves the link idle only
for about ``max(0, RTT - flight x segment time)`` while the first acknowledgement comes back.
Once a flight takes longer to serialize than one RTT (the window has reached the
bandwidth-delay product) the link never idles again. Windows start small on a new
connection, and on a reused one after an idle of several retransmission time-outs with cubic
(Linux halves the window per time-out of idle, RFC 2861); BBR keeps its window, and a
connection in steady use (requests closer than the time-out) has an open window
(:func:`start_window`). BBR on a reused connection holds its window at 4 segments for 200 ms
when it has seen no new minimum RTT for 10 s (PROBE_RTT); after an idle the first
acknowledgement refreshes that minimum instead, so only a request being sent when the 10 s run
out is slower (:func:`probe_rtt_entry_ms`, :func:`probe_rtt_transfer_ms`).

Every random draw comes from one :class:`numpy.random.Generator` seeded by ``seed``: the
same arguments give the same numbers, so graded answers are reproducible. Each RTT the
request waits for (hand-shakes, slow-start flights, the propagation) is its own draw.

>>> from edgelab import network
>>> lte = network.link("4g-lte")
>>> result = network.simulate_cloud(lte, payload_bytes=150_000, response_bytes=200,
...                                 server_ms=5.0, n=10_000, seed=0)
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from edgelab import _checks

Z95 = 1.6448536269514722  # standard normal quantile at 0.95
MSS_BYTES = 1448  # TCP payload per packet on a 1500-byte MTU with TCP timestamps
HEADER_BYTES = 66  # Ethernet (14) + IPv4 (20) + TCP with timestamps (32) per packet
INITIAL_WINDOW = 10  # segments, RFC 6928 (Linux default)
RTO_MIN_MS = 200.0  # Linux TCP_RTO_MIN: a lost segment is resent after about SRTT + 200 ms
SYN_RTO_MS = 1000.0  # RFC 6298: initial retransmission time-out for a lost SYN
CONNECTIONS = ("reused", "new-tcp", "new-tls")
CONGESTION_CONTROLS = ("cubic", "bbr")  # Linux's default (cubic) and Google's BBR
HANDSHAKES = {"reused": 0, "new-tcp": 1, "new-tls": 2}  # RTTs before the request can be sent
IDLE_MS = 10_000.0  # round_trip's reused connection: the previous request was seconds ago
OUTAGE_POLICIES = ("fail", "wait")
BBR_MIN_RTT_WINDOW_MS = 10_000.0  # BBR's min-RTT filter window (Linux bbr_min_rtt_win_sec)
BBR_PROBE_RTT_MS = 200.0  # how long PROBE_RTT holds the window down (bbr_probe_rtt_mode_ms)
BBR_PROBE_RTT_WINDOW = 4  # segments in flight during PROBE_RTT (bbr_cwnd_min_target)
MAX_N = 50_000_000


@dataclass(frozen=True)
class Radio:
    """What the device's network interface spends: energy per bit, power while active, tail."""

    name: str
    up_nj_per_bit: float
    down_nj_per_bit: float
    active_mw: float
    tail_mj: float
    tail_s: float = 0.0
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def tail_energy_mj(self, request_rate: Optional[float] = None) -> float:
        """Tail energy charged to one request. After a transfer the radio stays in a
        high-power tail for ``tail_s``; when requests come more often than that, the tail
        is cut short by the next request, so each one pays only for the gap before it."""
        if request_rate is None or self.tail_s <= 0:
            return self.tail_mj
        gap_s = 1.0 / _checks.number("request_rate", request_rate, inclusive=False)
        return self.tail_mj * min(1.0, gap_s / self.tail_s)


@dataclass(frozen=True)
class Link:
    """A network link profile. RTT is a shifted log-normal through ``rtt_min_ms`` (the shift),
    ``rtt_median_ms`` and ``rtt_p95_ms``; ``loss`` is the per-packet drop probability in each
    direction; outages are exponential with mean ``outage_mean_s`` and take a fraction
    ``1 - availability`` of the time. ``sources`` says where each number comes from."""

    name: str
    description: str
    rtt_min_ms: float
    rtt_median_ms: float
    rtt_p95_ms: float
    uplink_mbps: float
    downlink_mbps: float
    loss: float = 0.0
    duty_cycle: float = 1.0
    availability: float = 1.0
    outage_mean_s: float = 0.0
    radio: Optional[Radio] = None
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("rtt_min_ms", "rtt_median_ms", "rtt_p95_ms", "outage_mean_s"):
            _checks.number(name, getattr(self, name))
        for name in ("uplink_mbps", "downlink_mbps"):
            _checks.number(name, getattr(self, name), inclusive=False)
        _checks.number("loss", self.loss, maximum=0.5)
        _checks.number("duty_cycle", self.duty_cycle, inclusive=False, maximum=1.0)
        _checks.number("availability", self.availability, inclusive=False, maximum=1.0)
        if not self.rtt_min_ms < self.rtt_median_ms < self.rtt_p95_ms:
            raise ValueError("rtt_min_ms < rtt_median_ms < rtt_p95_ms must hold; got "
                             f"{self.rtt_min_ms}, {self.rtt_median_ms}, {self.rtt_p95_ms}")
        if self.availability < 1.0 and self.outage_mean_s <= 0:
            raise ValueError("outage_mean_s must be > 0 when availability < 1; "
                             f"got {self.outage_mean_s!r}")

    @property
    def rtt_lognormal(self) -> tuple[float, float, float]:
        """``(shift_ms, mu, sigma)``: RTT = shift + exp(mu + sigma * N(0, 1)) in ms."""
        body = self.rtt_median_ms - self.rtt_min_ms
        sigma = math.log((self.rtt_p95_ms - self.rtt_min_ms) / body) / Z95
        return self.rtt_min_ms, math.log(body), sigma

    @property
    def rto_ms(self) -> float:
        """The retransmission time-out TCP settles at on this link: Linux's smoothed RTT plus
        four times its mean deviation, at least :data:`RTO_MIN_MS` (``TCP_RTO_MIN``); the
        deviation taken as about half the distance from median to p95."""
        return self.rtt_median_ms + max(RTO_MIN_MS, 2.0 * (self.rtt_p95_ms - self.rtt_median_ms))

    def sample_rtt(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent round-trip times in ms."""
        shift, mu, sigma = self.rtt_lognormal
        return shift + rng.lognormal(mu, sigma, size=n)

    def scaled(self, factor: float) -> Link:
        """The same link with every RTT figure multiplied by ``factor`` (bandwidth, loss and
        outages unchanged): lets a real-link check run a slow profile in a short time."""
        factor = _checks.number("factor", factor, inclusive=False)
        return replace(self, name=f"{self.name}x{factor:g}", rtt_min_ms=self.rtt_min_ms * factor,
                       rtt_median_ms=self.rtt_median_ms * factor, rtt_p95_ms=self.rtt_p95_ms * factor)

    def with_(self, **changes: Any) -> Link:
        """A copy with some fields changed (checked like the original)."""
        return replace(self, **changes)


@lru_cache(maxsize=1)
def _data() -> Dict[str, Any]:
    text = resources.files("edgelab").joinpath("data/links.json").read_text(encoding="utf-8")
    return json.loads(text)


def _radio_from(name: str, entry: Mapping[str, Any]) -> Radio:
    return Radio(name=name, up_nj_per_bit=entry["up_nj_per_bit"], down_nj_per_bit=entry["down_nj_per_bit"],
                 active_mw=entry["active_mw"], tail_mj=entry["tail_mj"], tail_s=entry.get("tail_s", 0.0),
                 sources=MappingProxyType(dict(entry["sources"])))


@lru_cache(maxsize=1)
def _radios() -> Mapping[str, Radio]:
    """Every radio profile, parsed once (profiles are immutable)."""
    return MappingProxyType({name: _radio_from(name, entry) for name, entry in _data()["radios"].items()})


@lru_cache(maxsize=1)
def _links() -> Mapping[str, Link]:
    """Every link profile, parsed and checked once (profiles are immutable)."""
    radios = _radios()
    out = {}
    for name, entry in _data()["links"].items():
        rtt = entry["rtt_ms"]
        out[name] = Link(name=name, description=entry["description"], rtt_min_ms=rtt["min"],
                         rtt_median_ms=rtt["median"], rtt_p95_ms=rtt["p95"],
                         uplink_mbps=entry["uplink_mbps"], downlink_mbps=entry["downlink_mbps"],
                         loss=entry["loss"], duty_cycle=entry["duty_cycle"],
                         availability=entry["availability"], outage_mean_s=entry["outage_mean_s"],
                         radio=radios[entry["radio"]], sources=MappingProxyType(dict(entry["sources"])))
    return MappingProxyType(out)


def radio(name: str) -> Radio:
    """The radio (network interface) profile called ``name``."""
    _checks.profile_name("radio", name, _radios())
    return _radios()[name]


def radios() -> List[str]:
    """The names of the radio profiles, e.g. ``"lte"``."""
    return list(_radios())


def links() -> List[str]:
    """The names of the link profiles, e.g. ``"4g-lte"``."""
    return list(_links())


def link(name: str) -> Link:
    """The sourced link profile called ``name`` (see :func:`links`)."""
    _checks.profile_name("link", name, _links())
    return _links()[name]


def as_link(value: Union[str, Link], name: str = "link") -> Link:
    """``value`` if it is a :class:`Link`, else the profile it names; a ValueError naming
    ``name`` otherwise."""
    if isinstance(value, Link):
        return value
    if isinstance(value, str):
        return link(value)
    raise ValueError(f"{name} must be a Link or a link profile name ({', '.join(links())}); got {value!r}")


_as_link = as_link  # the old private name, kept for callers outside this package


# ---------------------------------------------------------------------------------------------
# Queueing


def fifo_waits(arrivals: np.ndarray, services: np.ndarray, servers: int = 1) -> np.ndarray:
    """Waiting time of each job in a first-come-first-served queue with ``servers`` identical
    servers; ``arrivals`` sorted ascending, same units as ``services``.

    One server: Lindley's recurrence W[k] = max(0, W[k-1] + S[k-1] - (A[k] - A[k-1])),
    vectorised as a cumulative sum minus its running minimum. Several servers: the
    Kiefer-Wolfowitz recurrence (each job takes the server that frees first), a heap loop.
    """
    arrivals = np.asarray(arrivals, dtype=float)
    services = np.asarray(services, dtype=float)
    n = arrivals.size
    if n == 0:
        return np.zeros(0)
    if servers == 1:
        steps = np.empty(n)
        steps[0] = 0.0
        np.subtract(services[:-1], np.diff(arrivals), out=steps[1:])
        total = np.cumsum(steps)
        return total - np.minimum(np.minimum.accumulate(total), 0.0)
    free = [0.0] * servers
    waits = [0.0] * n
    for k, (a, s) in enumerate(zip(arrivals.tolist(), services.tolist())):
        earliest = free[0]
        if earliest > a:
            waits[k] = earliest - a
            heapq.heapreplace(free, earliest + s)
        else:
            heapq.heapreplace(free, a + s)
    return np.asarray(waits)


def _service_times(mean_ms: float, cv: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if cv == 0 or mean_ms == 0:
        return np.full(n, mean_ms)
    shape = 1.0 / (cv * cv)
    return rng.gamma(shape, mean_ms / shape, size=n)


def _check_stable(rate: float, mean_ms: float, servers: int, what: str) -> None:
    capacity = servers * 1000.0 / mean_ms if mean_ms > 0 else math.inf
    if rate >= capacity:
        raise ValueError(f"request_rate {rate:g}/s is at or above the {what}'s capacity "
                         f"({servers} server(s) x 1/{mean_ms:g} ms = {capacity:g}/s): the queue is "
                         "unstable (it grows without bound); lower request_rate, add servers or "
                         "use a faster model")


@dataclass(frozen=True)
class QueueResult:
    """Per-job waiting and response (wait + service) times of a simulated queue, in ms."""

    wait_ms: np.ndarray = field(repr=False)
    response_ms: np.ndarray = field(repr=False)

    @property
    def mean_ms(self) -> float:
        return float(self.response_ms.mean())

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of response time, in ms."""
        return float(np.percentile(self.response_ms, _checks.number("q", q, maximum=100)))


def simulate_queue(request_rate: float, service_ms: float, n: int = 100_000, seed: Optional[int] = 0,
                   servers: int = 1, service_cv: float = 1.0) -> QueueResult:
    """A FIFO queue with Poisson arrivals at ``request_rate`` per second and gamma service times
    (mean ``service_ms``, coefficient of variation ``service_cv``: 1 is exponential, i.e. M/M/c;
    0 is constant, M/D/c). Raises ValueError if the queue is unstable."""
    rate = _checks.number("request_rate", request_rate, inclusive=False)
    mean = _checks.number("service_ms", service_ms, inclusive=False)
    n = _checks.count("n", n, minimum=1, maximum=MAX_N)
    servers = _checks.count("servers", servers, minimum=1, maximum=100_000)
    cv = _checks.number("service_cv", service_cv, maximum=10)
    _check_stable(rate, mean, servers, "server")
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1000.0 / rate, size=n))
    services = _service_times(mean, cv, n, rng)
    waits = fifo_waits(arrivals, services, servers)
    return QueueResult(wait_ms=waits, response_ms=waits + services)


# ---------------------------------------------------------------------------------------------
# The round trip


def _packets(nbytes: float) -> np.ndarray:
    return np.maximum(1, np.ceil(np.asarray(nbytes, dtype=float) / MSS_BYTES))


def packets(payload_bytes: float) -> int:
    """Packets one message takes: its payload in segments of at most :data:`MSS_BYTES` (at least one)."""
    return int(_packets(_checks.number("payload_bytes", payload_bytes)))


def wire_bytes(payload_bytes: float) -> float:
    """Bytes on the wire for one message: the payload plus one TCP/IP/Ethernet header
    (:data:`HEADER_BYTES`) per packet of at most :data:`MSS_BYTES` payload."""
    payload = _checks.number("payload_bytes", payload_bytes)
    return payload + float(_packets(payload)) * HEADER_BYTES


def serialization_ms(payload_bytes: float, mbps: float, duty_cycle: float = 1.0) -> float:
    """Time (ms) to clock one message's wire bytes (:func:`wire_bytes`) onto a link of ``mbps``
    megabits per second that may send a fraction ``duty_cycle`` of the time."""
    rate = _checks.number("mbps", mbps, inclusive=False) * _checks.number(
        "duty_cycle", duty_cycle, inclusive=False, maximum=1.0)
    return wire_bytes(payload_bytes) * 8.0 / (rate * 1e6) * 1000.0


def flights(payload_bytes: float, initial_window: float = INITIAL_WINDOW) -> List[int]:
    """Segments in each flight TCP slow start sends ``payload_bytes`` in: ``initial_window``
    segments, then twice as many each round trip, until all are sent (``math.inf``: one flight,
    an open window)."""
    window = initial_window if initial_window == math.inf else _checks.number(
        "initial_window", initial_window, minimum=1.0)
    left = int(_packets(_checks.number("payload_bytes", payload_bytes)))
    out: List[int] = []
    while left > 0:
        take = left if math.isinf(window) else min(left, int(window))
        out.append(take)
        left -= take
        window *= 2
    return out


def _transfer(payload: float, mbps: float, duty_cycle: float, window: float,
              rtt: Callable[[int], Union[float, np.ndarray]]) -> Union[float, np.ndarray]:
    """Time from the first byte sent until the last has left the bottleneck; ``rtt(k)`` is the
    round trip waited for before flight ``k`` (k >= 1): a number or one draw per request."""
    sizes = flights(payload, window)
    per_ms = 8.0 / (mbps * duty_cycle * 1e3)  # ms per byte on the wire
    total = sum(sizes)
    full_ms = (MSS_BYTES + HEADER_BYTES) * per_ms
    last_ms = (payload - (total - 1) * MSS_BYTES + HEADER_BYTES) * per_ms  # the last segment, shorter

    def send_ms(first: int, count: int) -> float:
        """Time to serialize segments first .. first + count - 1."""
        return count * full_ms + ((last_ms - full_ms) if first + count == total else 0.0)

    busy: Union[float, np.ndarray] = send_ms(0, sizes[0])  # the link sends flight 0 at once
    first_done: Union[float, np.ndarray] = send_ms(0, 1)
    sent = sizes[0]
    for k in range(1, len(sizes)):
        # the acknowledgement of the previous flight's first segment opens this one (twice as
        # large); the link idles until then only if it has already sent everything in flight
        start = np.maximum(first_done + rtt(k), busy)
        first_done = start + send_ms(sent, 1)
        busy = start + send_ms(sent, sizes[k])
        sent += sizes[k]
    return busy


def transfer_ms(payload_bytes: float, mbps: float, rtt_ms: float, *, duty_cycle: float = 1.0,
                initial_window: float = INITIAL_WINDOW) -> float:
    """Time (ms) TCP needs to put ``payload_bytes`` through a bottleneck of ``mbps``: from its
    first byte sent to its last byte leaving the link (add one-way propagation for arrival).

    Slow start sends flights of ``initial_window``, 2x, 4x ... segments (see :func:`flights`).
    Each flight after the first starts when the acknowledgement of the previous flight's first
    segment returns, ``rtt_ms`` after that segment was sent, or when the link has finished
    the previous flight, whichever is later: the link idles ``max(0, rtt_ms - flight x
    segment time)`` per flight, never once a flight outlasts the RTT (the window has reached
    the bandwidth-delay product). With one flight this is the serialization time,
    :func:`serialization_ms`."""
    payload = _checks.number("payload_bytes", payload_bytes)
    rate = _checks.number("mbps", mbps, inclusive=False)
    duty = _checks.number("duty_cycle", duty_cycle, inclusive=False, maximum=1.0)
    rtt = _checks.number("rtt_ms", rtt_ms)
    return float(_transfer(payload, rate, duty, initial_window, lambda _k: rtt))


def start_window(connection: str, congestion_control: str, idle_ms: Union[float, np.ndarray], rto_ms: float,
                 segments: int) -> Union[float, np.ndarray]:
    """The window (segments) a transfer of ``segments`` starts with, ``idle_ms`` after the
    connection last sent (an array gives one window per request).

    * a new connection: :data:`INITIAL_WINDOW`;
    * a reused one, BBR: no restart after idle (BBR keeps its window and paces at the rate it
      measured): an open window (``math.inf``). BBR's PROBE_RTT (the window held at 4
      segments for 200 ms when no new minimum RTT was seen for 10 s) is not in this window:
      :func:`simulate_cloud` adds it to the uploads that meet it (:func:`probe_rtt_entry_ms`);
    * a reused one, cubic (Linux's default): the previous, like transfer grew the window to about
      ``INITIAL_WINDOW + segments`` (one segment more per segment acknowledged); Linux halves it
      once for every retransmission time-out ``rto_ms`` of idle, down to the initial window
      (``tcp_slow_start_after_idle``, RFC 2861). Requests seconds apart start from the initial
      window again; requests closer than one time-out find it open. (Cubic's HyStart may have
      ended the growth earlier: the halved window is then an upper bound.)
    """
    if connection != "reused":
        if np.ndim(idle_ms) == 0:
            return float(INITIAL_WINDOW)
        return np.full(np.shape(idle_ms), float(INITIAL_WINDOW))
    if congestion_control == "bbr":
        return math.inf if np.ndim(idle_ms) == 0 else np.full(np.shape(idle_ms), math.inf)
    halvings = np.floor(np.maximum(np.asarray(idle_ms, dtype=float), 0.0) / rto_ms)
    grown = INITIAL_WINDOW + segments
    window = np.maximum(float(INITIAL_WINDOW), np.floor(grown / np.exp2(np.minimum(halvings, 60.0))))
    window = np.where(window >= segments, math.inf, window)  # one flight holds it all: an open window
    return float(window) if np.ndim(window) == 0 else window


def probe_rtt_entry_ms(start_ms: Union[Sequence[float], np.ndarray], send_ms: Union[float, np.ndarray],
                       rtt_ms: Union[Sequence[float], np.ndarray]) -> np.ndarray:
    """When each request on one reused BBR connection enters PROBE_RTT, in ms after it starts
    (``nan``: it does not), given when each starts (ascending), how long its message takes to
    leave the link with an open window, and its round trip: its first acknowledgement returns
    ``rtt_ms`` after it starts, its last ``send_ms + rtt_ms`` after.

    Modelled (Linux BBR v1, ``bbr_update_min_rtt``): the min-RTT filter expires
    :data:`BBR_MIN_RTT_WINDOW_MS` after it was last refreshed. It is refreshed by a round trip
    no longer than the minimum it holds, and by any round trip once it has expired; PROBE_RTT
    starts when an acknowledgement finds it expired, except the first one after an idle (Linux's
    ``idle_restart``). So a request whose first acknowledgement finds the filter expired only
    refreshes it; a request that is still being acknowledged when the filter expires enters
    PROBE_RTT then, and the probe refreshes the filter (here when its 200 ms are up). Requests
    far apart therefore rarely meet it: only when the expiry falls while one is being sent.
    Each request starts after an idle (requests on one connection do not overlap); each
    request's round trip is one sample; the connection was idle long before the first.
    Not modelled: the probe's own round trips as samples, an acknowledgement Linux takes for a
    delayed one (it refreshes nothing), and the server's end (a download's sender has its own
    filter: responses of a few segments do not wait for it anyway)."""
    starts = np.asarray(start_ms, dtype=float)
    rtts = np.broadcast_to(np.asarray(rtt_ms, dtype=float), starts.shape)
    sends = np.broadcast_to(np.asarray(send_ms, dtype=float), starts.shape)
    if starts.ndim != 1 or not np.all(np.isfinite(starts)) or np.any(np.diff(starts) < 0):
        raise ValueError("start_ms must be a sequence of finite times (ms) in ascending order")
    if not (np.all(np.isfinite(rtts)) and np.all(rtts > 0) and np.all(np.isfinite(sends))
            and np.all(sends >= 0)):
        raise ValueError("rtt_ms must be finite and > 0, send_ms finite and >= 0 (ms)")
    entry = np.full(starts.size, math.nan)
    stamp, minimum = -math.inf, math.inf
    for k, (start, send, rtt) in enumerate(zip(starts.tolist(), sends.tolist(), rtts.tolist())):
        first_ack, expiry = start + rtt, stamp + BBR_MIN_RTT_WINDOW_MS
        if first_ack > expiry or rtt <= minimum:  # expired after the idle, or a new minimum: refresh
            stamp, minimum = first_ack, rtt
        elif expiry < first_ack + send:  # expires while this request is acknowledged: PROBE_RTT
            entry[k] = expiry - start
            stamp, minimum = expiry + BBR_PROBE_RTT_MS, rtt
    return entry


def _probe_rtt_transfer(payload: float, mbps: float, duty_cycle: float, enter_ms: np.ndarray,
                        flight_rtt: np.ndarray, hold_rtt: np.ndarray) -> np.ndarray:
    """An open-window transfer (:func:`_transfer`) that enters PROBE_RTT ``enter_ms`` after its
    first segment left (at least one ``flight_rtt`` after it); see :func:`probe_rtt_transfer_ms`."""
    total = int(_packets(payload))
    per_ms = 8.0 / (mbps * duty_cycle * 1e3)  # ms per byte on the wire
    full_ms = (MSS_BYTES + HEADER_BYTES) * per_ms
    shorter_ms = (payload - (total - 1) * MSS_BYTES + HEADER_BYTES) * per_ms - full_ms  # the last segment
    held = float(BBR_PROBE_RTT_WINDOW)
    enter = np.maximum(enter_ms, full_ms + flight_rtt)  # an acknowledgement starts it
    sent = np.minimum(float(total), np.floor(enter / full_ms))  # segments already on the wire
    drained = np.maximum(enter, (sent - held) * full_ms + flight_rtt)  # 4 left in flight
    round_ms = np.maximum(hold_rtt, held * full_ms)  # 4 segments a round (or the link is slower)
    rounds = np.maximum(1.0, np.ceil(BBR_PROBE_RTT_MS / round_ms))  # 200 ms and at least one round
    left = total - sent
    rest = np.maximum(0.0, left - held * rounds)  # sent once the window is back, at the link's rate
    after_hold = drained + rounds * round_ms + rest * full_ms + shorter_ms
    last_round = np.maximum(1.0, np.ceil(left / held))  # or the message ends while held
    within_hold = (drained + (last_round - 1) * round_ms + (left - held * (last_round - 1)) * full_ms
                   + shorter_ms)
    open_ms = total * full_ms + shorter_ms
    return np.where(sent >= total, open_ms, np.where(rest > 0, after_hold, within_hold))


def probe_rtt_transfer_ms(payload_bytes: float, mbps: float, rtt_ms: float, *, enter_ms: float = 0.0,
                          duty_cycle: float = 1.0) -> float:
    """Time (ms) BBR needs to put ``payload_bytes`` through a bottleneck of ``mbps`` on a reused
    connection (an open window, :func:`start_window`) when it enters PROBE_RTT ``enter_ms``
    after the first segment left (on an acknowledgement: one ``rtt_ms`` at the earliest).

    The segments leave back to back until then; BBR then holds its window at
    :data:`BBR_PROBE_RTT_WINDOW` segments: it sends nothing until only 4 are in flight, then 4
    per round trip (or as fast as the link sends 4) for :data:`BBR_PROBE_RTT_MS` and at least
    one round (it leaves on the first acknowledgement after that), then the rest at the link's
    rate. A message already on the wire by then does not wait (:func:`transfer_ms` with an open
    window). Every round trip is ``rtt_ms``; :func:`simulate_cloud` draws the hold's rounds
    (one draw for all of them) apart from the first flight's."""
    payload = _checks.number("payload_bytes", payload_bytes)
    rate = _checks.number("mbps", mbps, inclusive=False)
    duty = _checks.number("duty_cycle", duty_cycle, inclusive=False, maximum=1.0)
    rtt = _checks.number("rtt_ms", rtt_ms, inclusive=False)
    enter = _checks.number("enter_ms", enter_ms)
    one = np.ones(1)
    return float(_probe_rtt_transfer(payload, rate, duty, enter * one, rtt * one, rtt * one)[0])


def _retransmit_ms(packets: int, ln: Link, rng: np.random.Generator, n: int) -> np.ndarray:
    """Time lost to dropped data packets: a loss followed by 3 more packets is repaired by
    fast retransmit (about one RTT); a loss among the last 3 waits for the retransmission
    time-out (Linux: about SRTT + 200 ms)."""
    tail = min(3, packets)
    rto = ln.rto_ms
    out = rng.binomial(tail, ln.loss, size=n) * rto
    if packets > tail:
        out += rng.binomial(packets - tail, ln.loss, size=n) * ln.rtt_median_ms
    return out


def _outage_waits(arrivals_ms: np.ndarray, ln: Link, rng: np.random.Generator) -> np.ndarray:
    """For each arrival, how long until the link is up (0 when it is up). Up and down periods
    alternate with exponential lengths; the link starts in its stationary state."""
    n = arrivals_ms.size
    if ln.availability >= 1.0 or n == 0:
        return np.zeros(n)
    down_mean = ln.outage_mean_s * 1000.0
    up_mean = down_mean * ln.availability / (1.0 - ln.availability)
    horizon = float(arrivals_ms[-1]) + 1.0
    starts_down = rng.random() >= ln.availability
    ups: list[np.ndarray] = []
    downs: list[np.ndarray] = []
    covered = 0.0
    chunk = max(16, int(horizon / (up_mean + down_mean) * 1.2) + 16)
    for _ in range(10_000):  # bounded: each chunk covers about 1.2x the horizon on average
        up = rng.exponential(up_mean, size=chunk)
        down = rng.exponential(down_mean, size=chunk)
        ups.append(up)
        downs.append(down)
        covered += float(up.sum() + down.sum())
        if covered > horizon:
            break
    up = np.concatenate(ups)
    down = np.concatenate(downs)
    if starts_down:
        up[0] = 0.0
    cycle_end = np.cumsum(up + down)
    down_start = cycle_end - down
    idx = np.searchsorted(cycle_end, arrivals_ms, side="right")
    idx = np.minimum(idx, cycle_end.size - 1)
    in_outage = arrivals_ms >= down_start[idx]
    return np.where(in_outage, cycle_end[idx] - arrivals_ms, 0.0)


@dataclass(frozen=True)
class PathResult:
    """Simulated requests along one path (cloud or edge). ``latency_ms`` is ``inf`` for a
    request that failed (outage with policy "fail", or a model that cannot run there).
    ``estimate`` is True when a latency comes from an estimate rather than a measurement."""

    label: str
    latency_ms: np.ndarray = field(repr=False)
    bytes_sent: float
    bytes_received: float
    energy_mj: float
    estimate: bool
    components_ms: Mapping[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def n(self) -> int:
        return int(self.latency_ms.size)

    @property
    def failure_rate(self) -> float:
        """Fraction of requests that never completed."""
        return float(np.mean(~np.isfinite(self.latency_ms)))

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of latency in ms (``inf`` if failures reach it)."""
        q = _checks.number("q", q, maximum=100)
        if np.all(np.isfinite(self.latency_ms)):
            return float(np.percentile(self.latency_ms, q))
        return float(np.percentile(self.latency_ms, q, method="inverted_cdf"))  # no inf - inf

    def miss_rate(self, deadline_ms: float) -> float:
        """Fraction of requests slower than ``deadline_ms`` (failures count as misses)."""
        deadline = _checks.number("deadline_ms", deadline_ms, inclusive=False)
        return float(np.mean(~(self.latency_ms <= deadline)))

    def stats(self, deadline_ms: Optional[float] = None) -> Dict[str, Any]:
        """The summary numbers of this path as a dict."""
        finite = self.latency_ms[np.isfinite(self.latency_ms)]
        out: Dict[str, Any] = {
            "label": self.label,
            "estimate": self.estimate,
            "p50_ms": self.percentile(50), "p95_ms": self.percentile(95), "p99_ms": self.percentile(99),
            "mean_ms": float(finite.mean()) if finite.size else math.inf,
            "failure_rate": self.failure_rate,
            "bytes_sent": self.bytes_sent, "bytes_received": self.bytes_received,
            "energy_mj_per_request": self.energy_mj,
        }
        if deadline_ms is not None:
            out["deadline_miss_rate"] = self.miss_rate(deadline_ms)
        return out


def round_trip(link: Union[str, Link], payload_bytes: float, response_bytes: float = 200, *,
               server_ms: float = 0.0, connection: str = "reused",
               congestion_control: str = "cubic") -> Dict[str, float]:
    """The typical round trip, component by component (ms), of one request on an idle server,
    with every RTT at the link's median: what a learner adds up by hand. ``total_ms`` is their
    sum (no loss, no outage).

    ``upload_ms`` and ``download_ms`` are TCP transfer times (:func:`transfer_ms`): the
    serialization, plus the time the link idles while slow start waits for acknowledgements.
    For a message that fits in the first flight (10 segments, 14,480 bytes) that is the
    serialization alone. ``connection="reused"`` is a kept-alive connection used again after an
    idle longer than the retransmission time-out (requests seconds apart): cubic starts its
    window again, BBR does not (:func:`start_window`)."""
    ln = as_link(link)
    payload = _checks.number("payload_bytes", payload_bytes)
    response = _checks.number("response_bytes", response_bytes)
    server = _checks.number("server_ms", server_ms)
    connection = _checks.choice("connection", connection, CONNECTIONS)
    cc = _checks.choice("congestion_control", congestion_control, CONGESTION_CONTROLS)
    rtt = ln.rtt_median_ms
    idle = IDLE_MS

    def transfer(nbytes: float, mbps: float) -> float:
        window = start_window(connection, cc, idle, ln.rto_ms, packets(nbytes))
        return float(_transfer(nbytes, mbps, ln.duty_cycle, window, lambda _k: rtt))

    parts = {
        "setup_ms": float(HANDSHAKES[connection] * rtt),
        "upload_ms": transfer(payload, ln.uplink_mbps),
        "propagation_ms": rtt,
        "server_ms": server,
        "download_ms": transfer(response, ln.downlink_mbps),
    }
    parts["total_ms"] = sum(parts.values())
    return parts


def simulate_cloud(link: Union[str, Link], payload_bytes: float, response_bytes: float = 200, *,
                   server_ms: float, service_cv: float = 0.1, request_rate: float = 1.0,
                   servers: int = 1, connection: str = "reused", congestion_control: str = "cubic",
                   outage_policy: str = "fail", n: int = 100_000, seed: Optional[int] = 0,
                   estimate: bool = True, label: Optional[str] = None) -> PathResult:
    """Simulate ``n`` requests sent to the cloud over ``link``.

    Requests arrive as a Poisson stream at ``request_rate`` per second and are served first
    come, first served by ``servers`` servers whose inference takes ``server_ms`` on average
    (gamma, coefficient of variation ``service_cv``). ``connection`` is "reused" (keep-alive),
    "new-tcp" (+1 RTT) or "new-tls" (+2 RTTs, TCP + TLS 1.3). Uploads and downloads are TCP
    transfers (:func:`transfer_ms`); on a reused connection a request that follows the previous
    one by more than the retransmission time-out starts slow start again with cubic, not with
    BBR (``congestion_control``; :func:`start_window`). With BBR on a reused connection, an
    upload still being acknowledged when BBR's 10 s min-RTT filter expires meets PROBE_RTT
    (:func:`probe_rtt_entry_ms`): its window is held at 4 segments for 200 ms
    (:func:`probe_rtt_transfer_ms`); how many do depends on ``request_rate``. Every RTT
    waited for is its own draw from the link's distribution. A lost data packet costs a
    retransmission time-out (SRTT + 200 ms, Linux; 1 s for a lost SYN). ``outage_policy``:
    "fail" (the request fails) or "wait" (it waits until the link is back).
    """
    ln = as_link(link)
    payload = _checks.number("payload_bytes", payload_bytes)
    response = _checks.number("response_bytes", response_bytes)
    server = _checks.number("server_ms", server_ms)
    cv = _checks.number("service_cv", service_cv, maximum=10)
    rate = _checks.number("request_rate", request_rate, inclusive=False)
    servers = _checks.count("servers", servers, minimum=1, maximum=100_000)
    connection = _checks.choice("connection", connection, CONNECTIONS)
    cc = _checks.choice("congestion_control", congestion_control, CONGESTION_CONTROLS)
    policy = _checks.choice("outage_policy", outage_policy, OUTAGE_POLICIES)
    n = _checks.count("n", n, minimum=1, maximum=MAX_N)
    _check_stable(rate, server, servers, "cloud server")
    rng = np.random.default_rng(seed)

    arrivals = np.cumsum(rng.exponential(1000.0 / rate, size=n))
    outage = _outage_waits(arrivals, ln, rng)
    failed = (outage > 0) if policy == "fail" else np.zeros(n, dtype=bool)
    if policy == "fail":
        outage = np.zeros(n)

    rtt = ln.sample_rtt(n, rng)
    handshakes = HANDSHAKES[connection]
    setup = np.zeros(n)
    for _ in range(handshakes):
        setup += ln.sample_rtt(n, rng)
    idle = np.diff(arrivals, prepend=-math.inf)  # since the previous request (the first: long idle)

    def transfer(nbytes: float, mbps: float) -> np.ndarray:
        windows = start_window(connection, cc, np.minimum(idle, 1e12), ln.rto_ms, packets(nbytes))
        out = np.empty(n)
        for window in np.unique(windows):  # a few distinct windows: one vectorised pass each
            mine = windows == window
            count = int(mine.sum())
            out[mine] = _transfer(nbytes, mbps, ln.duty_cycle, window,
                                  lambda _k, c=count: ln.sample_rtt(c, rng))
        return out

    upload = transfer(payload, ln.uplink_mbps)
    if connection == "reused" and cc == "bbr":  # the device's BBR: PROBE_RTT on some uploads
        sending = np.flatnonzero(~failed)
        entry = np.full(n, math.nan)
        entry[sending] = probe_rtt_entry_ms(arrivals[sending] + outage[sending], upload[sending],
                                            rtt[sending])
        probing = np.flatnonzero(np.isfinite(entry))
        if probing.size:
            upload[probing] = _probe_rtt_transfer(payload, ln.uplink_mbps, ln.duty_cycle, entry[probing],
                                                  rtt[probing], ln.sample_rtt(probing.size, rng))
    download = transfer(response, ln.downlink_mbps)
    up_packets = float(_packets(payload)) + (2 if connection == "new-tls" else 0)
    down_packets = float(_packets(response)) + (2 if connection == "new-tls" else 0)

    retx_up = np.zeros(n)
    retx_down = np.zeros(n)
    if ln.loss > 0:
        retx_up = _retransmit_ms(int(up_packets), ln, rng, n)
        retx_down = _retransmit_ms(int(down_packets), ln, rng, n)
        if handshakes:  # a lost SYN or SYN-ACK waits for the 1 s initial time-out
            retx_up += rng.binomial(2, ln.loss, size=n) * SYN_RTO_MS

    to_server = outage + setup + upload + 0.5 * rtt + retx_up
    at_server = arrivals + to_server
    services = _service_times(server, cv, n, rng)
    ok = ~failed
    waits = np.zeros(n)
    if ok.any():
        order = np.flatnonzero(ok)[np.argsort(at_server[ok], kind="stable")]
        waits[order] = fifo_waits(at_server[order], services[order], servers)
    back = 0.5 * rtt + download + retx_down
    latency = to_server + waits + services + back
    latency[failed] = np.inf

    done = latency[ok]
    radio_used = ln.radio
    up_wire = payload + up_packets * HEADER_BYTES
    down_wire = response + down_packets * HEADER_BYTES
    energy = 0.0
    if radio_used is not None and done.size:
        energy = (up_wire * 8 * radio_used.up_nj_per_bit + down_wire * 8 * radio_used.down_nj_per_bit) * 1e-6
        energy += radio_used.active_mw * float(done.mean()) / 1000.0 + radio_used.tail_energy_mj(rate)
    components = {
        "outage_wait_ms": float(outage[ok].mean()) if ok.any() else 0.0,
        "setup_ms": float(setup.mean()), "upload_ms": float(upload.mean()),
        "propagation_ms": float(rtt.mean()), "retransmit_ms": float((retx_up + retx_down).mean()),
        "queue_ms": float(waits[ok].mean()) if ok.any() else 0.0, "server_ms": float(services.mean()),
        "download_ms": float(download.mean()),
    }
    return PathResult(label=label or f"cloud via {ln.name}", latency_ms=latency, bytes_sent=up_wire,
                      bytes_received=down_wire, energy_mj=energy, estimate=estimate,
                      components_ms=components)


def simulate_edge(inference_ms: Union[float, Sequence[float], np.ndarray], *, request_rate: float = 1.0,
                  service_cv: float = 0.05, power_w: float = 0.0, n: int = 100_000,
                  seed: Optional[int] = 0, estimate: bool = True, label: str = "edge",
                  note: str = "") -> PathResult:
    """Simulate ``n`` requests answered on the device itself (one inference at a time, FIFO).

    ``inference_ms`` is an estimate (a number: gamma jitter with ``service_cv`` around it) or
    measured latencies (a sequence: resampled). Energy is ``power_w`` x inference time.
    """
    rate = _checks.number("request_rate", request_rate, inclusive=False)
    cv = _checks.number("service_cv", service_cv, maximum=10)
    power = _checks.number("power_w", power_w)
    n = _checks.count("n", n, minimum=1, maximum=MAX_N)
    rng = np.random.default_rng(seed)
    if np.ndim(inference_ms) == 0:
        mean = _checks.number("inference_ms", inference_ms)
        services = None
    else:
        measured = np.asarray(inference_ms, dtype=float)
        if measured.size == 0 or not np.all(np.isfinite(measured)) or np.any(measured < 0):
            raise ValueError("inference_ms must be a number or a non-empty sequence of finite "
                             "latencies ≥ 0 (ms)")
        mean = float(measured.mean())
        services = measured[rng.integers(0, measured.size, size=n)]
    _check_stable(rate, mean, 1, "edge device")
    arrivals = np.cumsum(rng.exponential(1000.0 / rate, size=n))
    if services is None:
        services = _service_times(mean, cv, n, rng)
    waits = fifo_waits(arrivals, services, 1)
    latency = waits + services
    return PathResult(label=label, latency_ms=latency, bytes_sent=0.0, bytes_received=0.0,
                      energy_mj=power * float(services.mean()), estimate=estimate,
                      components_ms={"queue_ms": float(waits.mean()), "inference_ms": float(services.mean())},
                      note=note)


# ---------------------------------------------------------------------------------------------
# Cloud vs edge


@dataclass(frozen=True)
class ComparisonResult:
    """Cloud and edge results for the same workload, with the deadline they are judged by."""

    cloud: PathResult
    edge: PathResult
    deadline_ms: Optional[float] = None

    def summary(self, show: bool = True) -> Dict[str, Dict[str, Any]]:
        """Print a table (p50/p95/p99, deadline misses, bytes sent, energy per request) and
        return the same numbers as ``{"cloud": {...}, "edge": {...}}``."""
        table = {"cloud": self.cloud.stats(self.deadline_ms), "edge": self.edge.stats(self.deadline_ms)}
        if show:
            print(self.format_table(table))
        return table

    def format_table(self, table: Optional[Dict[str, Dict[str, Any]]] = None) -> str:
        """The summary as aligned text."""
        table = table or {"cloud": self.cloud.stats(self.deadline_ms),
                          "edge": self.edge.stats(self.deadline_ms)}
        rows = [("", "cloud", "edge")]

        def ms(v: float) -> str:
            return "failed" if not math.isfinite(v) else f"{v:,.1f} ms"

        for key, title in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
            rows.append((title, ms(table["cloud"][key]), ms(table["edge"][key])))
        cloud, edge = table["cloud"], table["edge"]
        if self.deadline_ms is not None:
            rows.append((f"missed {self.deadline_ms:g} ms deadline",
                         f"{cloud['deadline_miss_rate']:.2%}", f"{edge['deadline_miss_rate']:.2%}"))
        rows.append(("failed", f"{cloud['failure_rate']:.2%}", f"{edge['failure_rate']:.2%}"))
        rows.append(("bytes sent / request", f"{table['cloud']['bytes_sent']:,.0f}",
                     f"{table['edge']['bytes_sent']:,.0f}"))
        rows.append(("energy / request", f"{table['cloud']['energy_mj_per_request']:,.1f} mJ (radio)",
                     f"{table['edge']['energy_mj_per_request']:,.1f} mJ (compute)"))
        rows.append(("latency is", "estimate" if self.cloud.estimate else "measured",
                     "estimate" if self.edge.estimate else "measured"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{self.cloud.label}  vs  {self.edge.label}  ({self.cloud.n:,} requests each)"]
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                  for r in rows]
        if self.edge.note:
            lines.append(f"edge: {self.edge.note}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Latency CDFs of both paths (log time axis), with the deadline marked. Returns the axes."""
        import matplotlib.pyplot as plt  # heavy: imported only when plotting

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for path in (self.cloud, self.edge):
            values = np.sort(path.latency_ms[np.isfinite(path.latency_ms)])
            if values.size == 0:
                continue
            fraction = np.arange(1, values.size + 1) / path.n
            ax.plot(values, fraction, label=f"{path.label}{' (estimate)' if path.estimate else ''}")
        if self.deadline_ms is not None:
            ax.axvline(self.deadline_ms, color="red", linestyle="--",
                       label=f"deadline {self.deadline_ms:g} ms")
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("fraction of requests answered")
        ax.set_ylim(0, 1.01)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="best")
        return ax


def compare(payload_bytes: float, response_bytes: float = 200, *, link: Union[str, Link],
            cloud: Any = "cloud-gpu-t4", edge: Any = "raspberry-pi-5", model: Any = None,
            server_ms: Optional[float] = None, edge_ms: Union[None, float, Sequence[float]] = None,
            n: int = 100_000, seed: Optional[int] = 0, deadline_ms: Optional[float] = None,
            request_rate: float = 1.0, servers: int = 1, connection: str = "reused",
            outage_policy: str = "fail") -> ComparisonResult:
    """Cloud round trip vs local inference for the same requests.

    ``cloud`` and ``edge`` are device profiles (or names, see :mod:`edgelab.devices`);
    ``model`` is a :class:`~edgelab.stats.ModelStats` whose latency is estimated on each.
    ``server_ms`` / ``edge_ms`` override the estimates with your own numbers; pass measured
    latencies (e.g. from :func:`edgelab.devices.measure_latency`) as ``edge_ms`` to use a
    measurement. A model that does not fit or cannot run on the edge device fails there
    (the summary says why).
    """
    from edgelab import devices

    if deadline_ms is not None:
        deadline_ms = _checks.number("deadline_ms", deadline_ms, inclusive=False)
    cloud_dev = devices.device(cloud) if isinstance(cloud, str) else cloud
    edge_dev = devices.device(edge) if isinstance(edge, str) else edge
    if (server_ms is None or edge_ms is None) and model is None:
        raise ValueError("model must be a ModelStats when server_ms or edge_ms is not given")
    cloud_estimate = True
    if server_ms is None:
        cloud_est = devices.estimate_latency(cloud_dev, model)
        if not (cloud_est.fits and cloud_est.runs):
            raise ValueError(f"cloud device {cloud_dev.name!r} cannot serve the model: {cloud_est.reason}")
        server_ms = cloud_est.ms
    cloud_result = simulate_cloud(link, payload_bytes, response_bytes, server_ms=server_ms,
                                  request_rate=request_rate, servers=servers, connection=connection,
                                  outage_policy=outage_policy, n=n, seed=seed, estimate=cloud_estimate,
                                  label=f"cloud ({cloud_dev.name}) via {as_link(link).name}")
    edge_label = f"edge ({edge_dev.name})"
    if edge_ms is None:
        est = devices.estimate_latency(edge_dev, model)
        if not (est.runs and est.fits):
            edge_result = PathResult(label=edge_label, latency_ms=np.full(cloud_result.n, np.inf),
                                     bytes_sent=0.0, bytes_received=0.0, energy_mj=0.0, estimate=True,
                                     note=f"cannot run: {est.reason}")
            return ComparisonResult(cloud_result, edge_result, deadline_ms)
        edge_result = simulate_edge(est.ms, request_rate=request_rate, power_w=edge_dev.active_w,
                                    n=n, seed=None if seed is None else seed + 1, estimate=True,
                                    label=edge_label)
    else:
        edge_result = simulate_edge(edge_ms, request_rate=request_rate, power_w=edge_dev.active_w,
                                    n=n, seed=None if seed is None else seed + 1,
                                    estimate=np.ndim(edge_ms) == 0, label=edge_label)
    return ComparisonResult(cloud_result, edge_result, deadline_ms)
