"""Measured vs simulated: real round trips through the testbed next to :func:`edgelab.network.simulate_cloud`
of exactly the shaped parameters.

The apparatus itself (the server's Python, the kernel stacks, the delay daemon's wake-ups) takes
time a real server would spend too: :func:`measure_cases` measures it first, at a known constant
delay and no rate limit, and the simulation counts it as the server's time. Everything else in
the simulated round trips comes from the link profile and the model in :mod:`edgelab.network`.
The simulated requests come at the client's own pace where that matters, BBR on a reused
connection (:func:`request_rate`), and long after each other otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from edgelab import _checks, network
from edgelab.linkcheck.testbed import Testbed
from edgelab.network import Link, PathResult

CONNECTIONS = {"new": "new-tcp", "reused": "reused"}  # the client's names -> the simulator's
CALIBRATION_REQUESTS = 60
SIMULATED_REQUESTS = 40_000
IDLE_REQUEST_RATE = 0.001  # per second: the simulated requests come long after each other


@dataclass(frozen=True)
class Case:
    """One kind of request: sizes (bytes of body), fresh ("new") or kept-alive ("reused", after an
    idle longer than the retransmission time-out) connection, congestion control, how many."""

    payload_bytes: int
    response_bytes: int = 200
    connection: str = "reused"
    congestion_control: str = "cubic"
    n: int = 100
    idle_ms: Optional[float] = None  # a reused connection's pause before each request (None: idle_ms())

    def __post_init__(self) -> None:
        if self.idle_ms is not None:
            _checks.number("idle_ms", self.idle_ms, maximum=60_000)
        _checks.count("payload_bytes", self.payload_bytes, minimum=0, maximum=8 * 1024 * 1024)
        _checks.count("response_bytes", self.response_bytes, minimum=0, maximum=1024 * 1024)
        _checks.choice("connection", self.connection, CONNECTIONS)
        _checks.choice("congestion_control", self.congestion_control, network.CONGESTION_CONTROLS)
        _checks.count("n", self.n, minimum=1, maximum=100_000)

    @property
    def label(self) -> str:
        return (f"{self.payload_bytes:,} B -> {self.response_bytes:,} B, {self.connection}, "
                f"{self.congestion_control}")


@dataclass(frozen=True)
class CaseResult:
    """Real round trips of one case next to the simulation of the same request."""

    case: Case
    link: Link
    measured_ms: np.ndarray = field(repr=False)
    simulated: PathResult = field(repr=False)
    baseline_ms: float
    request_bytes: int
    response_bytes: int
    _estimates: Dict[float, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def packets(self) -> int:
        """Packets the request takes (HTTP head and body)."""
        return network.packets(self.request_bytes)

    def _same_n_estimates(self, q: float) -> np.ndarray:
        """The ``q``-th percentile of 10,000 simulated samples of as many requests as were measured
        (computed once per percentile)."""
        if q not in self._estimates:
            rng = np.random.default_rng(0)
            pool = self.simulated.latency_ms[np.isfinite(self.simulated.latency_ms)]
            samples = rng.choice(pool, size=(10_000, self.measured_ms.size), replace=True)
            self._estimates[q] = np.percentile(samples, q, axis=1)
        return self._estimates[q]

    def simulated_as_measured(self, q: float) -> float:
        """The ``q``-th percentile the simulation shows when it is estimated the way the
        measurement is: from as many requests as were measured (the median over 10,000 such
        samples). A p95 from 30 requests sits lower in a skewed distribution than the p95 of
        40,000, so measured and simulated are compared with the same estimator."""
        return float(np.median(self._same_n_estimates(q)))

    def sampling_tolerance(self, q: float, miss: float = 0.0005) -> float:
        """The tolerance (a fraction) that sampling alone exceeds with chance ``miss`` when the
        ``q``-th percentile of as many requests as were measured is compared with
        :meth:`simulated_as_measured`: a bound tighter than this fails a perfect model."""
        estimates = self._same_n_estimates(q)
        return float(np.quantile(np.abs(estimates / np.median(estimates) - 1), 1 - miss))

    def sampling_miss_chance(self, q: float, tolerance: float) -> float:
        """How often sampling alone puts the ``q``-th percentile of as many requests as were
        measured more than ``tolerance`` (a fraction) away from :meth:`simulated_as_measured`:
        the chance that a perfect model fails a check with this tolerance."""
        estimates = self._same_n_estimates(q)
        return float(np.mean(np.abs(estimates / np.median(estimates) - 1) > tolerance))

    def stats(self) -> Dict[str, Dict[str, float]]:
        """p50/p95/p99 and mean of the measurement, of the simulation, and of the simulation
        estimated from as many requests as were measured (see :meth:`simulated_as_measured`), in ms."""
        measured = {f"p{q}_ms": float(np.percentile(self.measured_ms, q)) for q in (50, 95, 99)}
        measured["mean_ms"] = float(self.measured_ms.mean())
        simulated = {f"p{q}_ms": self.simulated.percentile(q) for q in (50, 95, 99)}
        simulated["mean_ms"] = float(self.simulated.latency_ms.mean())
        same_n = {f"p{q}_ms": self.simulated_as_measured(q) for q in (50, 95, 99)}
        return {"measured": measured, "simulated": simulated, "simulated_same_n": same_n}

    def ratio(self, key: str) -> float:
        """measured / simulated for ``key`` ("p50_ms", "p95_ms", "p99_ms"), the simulation's
        percentile estimated from as many requests as were measured."""
        table = self.stats()
        return table["measured"][key] / table["simulated_same_n"][key]


@dataclass(frozen=True)
class LinkMeasurement:
    """Every case measured on one link."""

    link: Link
    results: List[CaseResult]

    def summary(self, show: bool = True) -> List[Dict[str, object]]:
        """Print measured vs simulated p50 and p95 per case; return the rows."""
        rows = []
        for r in self.results:
            t = r.stats()
            sim = t["simulated_same_n"]
            rows.append({"case": r.case.label, "packets": r.packets, "n": int(r.measured_ms.size),
                         "measured_p50_ms": t["measured"]["p50_ms"], "simulated_p50_ms": sim["p50_ms"],
                         "measured_p95_ms": t["measured"]["p95_ms"], "simulated_p95_ms": sim["p95_ms"],
                         "p50_ratio": r.ratio("p50_ms"), "p95_ratio": r.ratio("p95_ms")})
        if show:
            ln = self.link
            print(f"link {ln.name}: RTT min {ln.rtt_min_ms:g} / median {ln.rtt_median_ms:g} / p95 "
                  f"{ln.rtt_p95_ms:g} ms, up {ln.uplink_mbps:g} / down {ln.downlink_mbps:g} Mbit/s; "
                  "rates: tbf, delay: NFQUEUE daemon")
            if self.results:
                base = self.results[0].baseline_ms
                print(f"apparatus overhead (calibrated, counted as server time): {base:.2f} ms; simulated "
                      "percentiles estimated from as many requests as were measured")
            print(f"{'case':44}{'pkts':>5}{'n':>5}{'p50 meas/sim':>20}{'ratio':>7}"
                  f"{'p95 meas/sim':>20}{'ratio':>7}")
            for row in rows:
                print(f"{row['case']:44}{row['packets']:5d}{row['n']:5d}"
                      f"{row['measured_p50_ms']:10.1f}/{row['simulated_p50_ms']:<9.1f}{row['p50_ratio']:7.3f}"
                      f"{row['measured_p95_ms']:10.1f}/{row['simulated_p95_ms']:<9.1f}{row['p95_ratio']:7.3f}")
        return rows


def idle_ms(link: Link) -> float:
    """The client's pause before a request on a reused connection: six retransmission
    time-outs, so cubic's window is back at the initial window (halved once per time-out)."""
    return 6 * link.rto_ms


def request_rate(link: Link, case: Case, request_bytes: int, response_bytes: int, baseline_ms: float,
                 pause_ms: float) -> float:
    """Requests per second the simulation of ``case`` assumes. BBR on a reused connection: the
    client's own pace, one request per pause plus a typical round trip (:func:`network.round_trip`),
    since how many requests meet BBR's PROBE_RTT depends on it (see
    :func:`network.probe_rtt_entry_ms`). Otherwise
    :data:`IDLE_REQUEST_RATE`: a request's window depends only on whether the idle before it
    exceeded the retransmission time-out (cubic), or on nothing (a new connection)."""
    connection = CONNECTIONS[case.connection]
    if connection != "reused" or case.congestion_control != "bbr":
        return IDLE_REQUEST_RATE
    typical = network.round_trip(link, request_bytes, response_bytes, server_ms=baseline_ms,
                                 connection=connection, congestion_control=case.congestion_control)
    return 1000.0 / (pause_ms + typical["total_ms"])


def _simulate(link: Link, case: Case, request_bytes: int, response_bytes: int, baseline_ms: float,
              pause_ms: float, seed: int) -> PathResult:
    rate = request_rate(link, case, request_bytes, response_bytes, baseline_ms, pause_ms)
    return network.simulate_cloud(link, request_bytes, response_bytes, server_ms=baseline_ms, service_cv=0.0,
                                  request_rate=rate, connection=CONNECTIONS[case.connection],
                                  congestion_control=case.congestion_control, n=SIMULATED_REQUESTS, seed=seed,
                                  label=f"simulated {link.name}")


def measure_cases(link: Union[str, Link], model_path: Union[str, Path], cases: Sequence[Case], *,
                  scale: float = 1.0, seed: int = 0) -> LinkMeasurement:
    """Shape a real link to ``link`` (RTTs times ``scale``; no loss, no outages), time each case's
    round trips, and simulate each with the calibrated apparatus time as the server's.
    One testbed per congestion control. Needs root, iproute2, iptables and ``netfilterqueue``."""
    ln = network.as_link(link)
    if _checks.number("scale", scale, inclusive=False) != 1.0:
        ln = ln.scaled(scale)
    ln = ln.with_(loss=0.0, availability=1.0, outage_mean_s=0.0)
    cases = list(cases)
    if not cases or not all(isinstance(c, Case) for c in cases):
        raise ValueError("cases must be a non-empty sequence of linkcheck.Case")
    results: Dict[int, CaseResult] = {}
    for cc in network.CONGESTION_CONTROLS:
        mine = [(i, c) for i, c in enumerate(cases) if c.congestion_control == cc]
        if not mine:
            continue
        with Testbed(ln, model_path, seed=seed, congestion_control=cc) as bed:
            known = ln.rtt_median_ms  # calibrate: the apparatus's own time, at a known delay
            bed.start_delay(constant_ms=known)
            calib = bed.round_trips(CALIBRATION_REQUESTS, 100, 100, connection="reused")
            baseline = max(0.0, float(np.median(calib.round_trips_ms)) - known)
            bed.shape()
            for i, case in mine:
                expected_s = case.n * (idle_ms(ln) + 4 * ln.rtt_p95_ms + 200) / 1000 + 30
                pause = idle_ms(ln) if case.idle_ms is None else case.idle_ms
                if case.connection != "reused":
                    pause = 0.0
                timings = bed.round_trips(case.n, case.payload_bytes, case.response_bytes,
                                          connection=case.connection, idle_ms=pause,
                                          deadline_s=max(60.0, 3 * expected_s))
                simulated = _simulate(ln, case, timings.request_bytes, timings.response_bytes, baseline,
                                      pause, seed)
                results[i] = CaseResult(case, ln, np.asarray(timings.round_trips_ms), simulated, baseline,
                                        timings.request_bytes, timings.response_bytes)
    return LinkMeasurement(ln, [results[i] for i in range(len(cases))])


def measure_link(link: Union[str, Link], model_path: Union[str, Path], *, n: int = 200,
                 payload_bytes: int = 1000,
                 response_bytes: int = 200, connection: str = "reused", congestion_control: str = "cubic",
                 scale: float = 1.0, seed: int = 0) -> LinkMeasurement:
    """One case (see :class:`Case`) measured on ``link``: :func:`measure_cases` with a single case."""
    case = Case(payload_bytes, response_bytes, connection, congestion_control, n)
    return measure_cases(link, model_path, [case], scale=scale, seed=seed)
