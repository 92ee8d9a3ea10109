"""The NFQUEUE delay daemon: holds each queued packet for a round-trip time drawn from a link's
distribution. Runs inside the server's namespace: ``python -m edgelab.linkcheck.delay --shift
S --mu M --sigma G`` (prints READY once bound to the queue).

Delays come in bursts: a packet that arrives within ``burst_gap_ms`` of the previous one
shares its delay (a TCP flight is delayed as a whole and its packets keep their order); a
packet after a longer pause starts a new burst with a new draw from shift + lognormal(mu,
sigma) ms (or ``constant_ms``). A release is never earlier than the previous one (FIFO).
The daemon only delays: rates are the token bucket filter's job (see :mod:`edgelab.linkcheck`).
"""

from __future__ import annotations

import argparse
import collections
import math
import select
import signal
import sys
import time
from typing import Optional, Sequence

import numpy as np

SPIN_S = 0.0005  # the daemon wakes this early and polls, so a release is not late by a wake-up


class DelayLine:
    """Release times for arriving packets: one delay per burst, first in first out."""

    def __init__(self, shift_ms: float, mu: float, sigma: float, seed: int, burst_gap_ms: float,
                 constant_ms: Optional[float] = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.shift_ms, self.mu, self.sigma = shift_ms, mu, sigma
        self.constant_ms = constant_ms
        self.burst_gap_s = burst_gap_ms / 1000.0
        self.last_arrival = -math.inf
        self.last_release = -math.inf
        self.delay_s = 0.0

    def draw_ms(self) -> float:
        if self.constant_ms is not None:
            return self.constant_ms
        return self.shift_ms + float(self.rng.lognormal(self.mu, self.sigma))

    def release_time(self, arrival_s: float) -> float:
        """When a packet that arrived at ``arrival_s`` (seconds, monotonic) leaves."""
        if arrival_s - self.last_arrival > self.burst_gap_s:
            self.delay_s = self.draw_ms() / 1000.0
        self.last_arrival = arrival_s
        self.last_release = max(arrival_s + self.delay_s, self.last_release)
        return self.last_release


def run(queue_num: int, line: DelayLine, max_seconds: float = 3600.0) -> None:
    """Serve NFQUEUE ``queue_num`` until SIGTERM/SIGINT or ``max_seconds``."""
    from netfilterqueue import NetfilterQueue

    held: collections.deque = collections.deque()
    state = {"stop": False}

    def on_packet(pkt) -> None:
        pkt.retain()
        held.append((line.release_time(time.monotonic()), pkt))

    def stop(*_: object) -> None:
        state["stop"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    nfq = NetfilterQueue()
    nfq.bind(queue_num, on_packet, max_len=8192)
    fd = nfq.get_fd()
    end = time.monotonic() + max_seconds
    print("READY", flush=True)
    try:
        while not state["stop"] and time.monotonic() < end:
            now = time.monotonic()
            while held and held[0][0] <= now:
                held.popleft()[1].accept()
            wait = held[0][0] - now if held else 0.2
            timeout = min(0.2, wait - SPIN_S) if wait > 2 * SPIN_S else 0.0
            try:
                ready, _, _ = select.select([fd], [], [], timeout)
            except InterruptedError:
                continue
            if ready:
                nfq.run(block=False)
    finally:
        for _, pkt in held:
            pkt.accept()
        nfq.unbind()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgelab.linkcheck.delay")
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--shift", type=float, required=True, help="RTT shift (minimum), ms")
    parser.add_argument("--mu", type=float, required=True, help="log-normal mu of RTT - shift (ms)")
    parser.add_argument("--sigma", type=float, required=True, help="log-normal sigma")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--burst-gap", type=float, default=1.0,
                        help="ms: a packet this soon after the previous one shares its delay")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--constant", type=float, default=None, help="hold every packet this many ms")
    args = parser.parse_args(argv)
    numbers = (args.shift, args.mu, args.sigma, args.burst_gap)
    if not all(math.isfinite(v) for v in numbers) or args.sigma < 0 or args.shift < 0 or args.burst_gap < 0:
        parser.error("--shift, --mu, --sigma and --burst-gap must be finite (shift, sigma, gap >= 0)")
    if args.constant is not None and not (math.isfinite(args.constant) and args.constant >= 0):
        parser.error("--constant must be a finite number >= 0")
    line = DelayLine(args.shift, args.mu, args.sigma, args.seed, args.burst_gap, args.constant)
    run(args.queue, line, args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
