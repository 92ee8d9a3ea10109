"""Fast what-if models of fleet operations, for explorers and demos (no devices involved).

:func:`simulate_rollout` plays the rollout policy of :func:`edgelab.deploy.rollout` — the same
stages from :func:`edgelab.deploy.plan_stages`, canary first, a health gate after each stage,
roll back the failing stage and stop — on devices that fail their health check with a given
probability. :func:`simulate_outbox` plays a far-edge device's store-and-forward queue through
a link outage, hour by hour. Both are deterministic under a seed. To roll out to real or
simulated devices, use :mod:`edgelab.deploy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from edgelab import _checks
from edgelab.deploy.fleet import plan_stages


@dataclass(frozen=True)
class StageOutcome:
    """One stage of a simulated rollout."""

    index: int
    devices: tuple[int, ...]
    failed: tuple[int, ...]

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class RolloutSimulation:
    """Stages run (the last one failed if the rollout stopped) and every device's final state."""

    n_devices: int
    stages: tuple[StageOutcome, ...]
    planned_stages: int
    states: tuple[str, ...]  # per device: "new", "rolled_back" (kept the old model), "untouched"

    @property
    def stopped(self) -> bool:
        return bool(self.stages) and not self.stages[-1].passed

    def count(self, state: str) -> int:
        return self.states.count(state)


def simulate_rollout(n_devices: int, failure_rate: float, *, canary: int = 1,
                     stage_size: Optional[int] = None, seed: Optional[int] = 0) -> RolloutSimulation:
    """Roll a model out to ``n_devices`` (1-10,000) on which it fails the health check with
    probability ``failure_rate`` (0-1), in the stages :func:`plan_stages` gives."""
    n = _checks.count("n_devices", n_devices, minimum=1, maximum=10_000)
    p = _checks.number("failure_rate", failure_rate, maximum=1.0)
    stages = plan_stages(n, canary=canary, stage_size=stage_size)
    fails = np.random.default_rng(seed).random(n) < p
    states = ["untouched"] * n
    outcomes = []
    for index, devices in enumerate(stages):
        failed = tuple(d for d in devices if fails[d])
        outcomes.append(StageOutcome(index, tuple(devices), failed))
        for d in devices:
            states[d] = "rolled_back" if failed else "new"
        if failed:
            break
    return RolloutSimulation(n, tuple(outcomes), len(stages), tuple(states))


@dataclass(frozen=True)
class OutboxSimulation:
    """Hour-by-hour readings produced, forwarded and waiting on one far-edge device."""

    hours: np.ndarray
    produced: np.ndarray  # cumulative
    delivered: np.ndarray  # cumulative, acknowledged by the collector
    queued: np.ndarray  # in the device's outbox at the end of each hour
    link_up: np.ndarray

    @property
    def lost(self) -> int:
        """Readings neither delivered nor queued: always 0 for store-and-forward."""
        return int(self.produced[-1] - self.delivered[-1] - self.queued[-1])

    @property
    def drained_at_hour(self) -> Optional[int]:
        """First hour after the last outage at which the outbox is empty again."""
        down = np.flatnonzero(~self.link_up)
        if down.size == 0:
            return 0
        after = np.flatnonzero((self.hours > down[-1]) & (self.queued == 0))
        return int(self.hours[after[0]]) if after.size else None


def simulate_outbox(*, readings_per_hour: int, forward_per_hour: int, outage_start_h: int,
                    outage_hours: int, total_hours: int = 48) -> OutboxSimulation:
    """A device makes ``readings_per_hour`` predictions and, while the link is up, forwards up to
    ``forward_per_hour`` of them; the link is down from ``outage_start_h`` for ``outage_hours``.
    Every reading is kept in the outbox until the collector acknowledges it."""
    made = _checks.count("readings_per_hour", readings_per_hour, minimum=0, maximum=10**6)
    capacity = _checks.count("forward_per_hour", forward_per_hour, minimum=0, maximum=10**7)
    hours = _checks.count("total_hours", total_hours, minimum=1, maximum=10_000)
    start = _checks.count("outage_start_h", outage_start_h, minimum=0, maximum=hours)
    length = _checks.count("outage_hours", outage_hours, minimum=0, maximum=hours)
    t = np.arange(hours)
    up = ~((t >= start) & (t < start + length))
    produced = np.zeros(hours, dtype=np.int64)
    delivered = np.zeros(hours, dtype=np.int64)
    queued = np.zeros(hours, dtype=np.int64)
    total_made = total_sent = waiting = 0
    for h in range(hours):
        total_made += made
        waiting += made
        sent = min(waiting, capacity) if up[h] else 0
        waiting -= sent
        total_sent += sent
        produced[h], delivered[h], queued[h] = total_made, total_sent, waiting
    return OutboxSimulation(t, produced, delivered, queued, up)
