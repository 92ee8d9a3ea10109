"""Edge tiers (cloud, MEC, near edge, far edge) and a rule of thumb for placing a workload.

The tier descriptions live in ``data/tiers.json`` with their sources. :func:`place`
is a teaching heuristic, not a law: it writes down the questions an engineer asks
(how fast must the answer be, is the network always there, what powers the device,
may the data leave it?) and shows which answer each one pushes towards.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "tiers.json"

CONNECTIVITY = ("always", "intermittent", "none")
POWER = ("mains", "battery", "harvested")

# Cloud round trips below this are rare on mobile links: US 4G LTE medians were
# 44-66 ms (Opensignal, Q1 2019), mobile overall 32-33 ms (Ookla, Q1 2021).
CLOUD_FLOOR_MS = 30.0
# A 5G/MEC round trip to a server on site (assumption; see data/tiers.json).
MEC_FLOOR_MS = 5.0


@dataclass(frozen=True)
class Tier:
    """One place where inference can run, with where its description comes from."""

    id: str
    name: str
    description: str
    typical_rtt_ms: tuple[float, float]
    rtt_source: str
    power: str
    connectivity: str
    examples: tuple[str, ...]
    source: str


@lru_cache(maxsize=1)
def _load() -> dict[str, Tier]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))["tiers"]
    return {t["id"]: Tier(id=t["id"], name=t["name"], description=t["description"],
                          typical_rtt_ms=tuple(t["typical_rtt_ms"]), rtt_source=t["rtt_source"],
                          power=t["power"], connectivity=t["connectivity"],
                          examples=tuple(t["examples"]), source=t["source"]) for t in raw}


def tiers() -> list[Tier]:
    """All tiers, from the cloud outwards."""
    return list(_load().values())


def tier(tier_id: str) -> Tier:
    """The tier called ``tier_id`` (one of ``cloud``, ``mec``, ``near-edge``, ``far-edge``)."""
    known = _load()
    if tier_id not in known:
        raise ValueError(f"tier_id must be one of {', '.join(known)}; got {tier_id!r}")
    return known[tier_id]


@dataclass(frozen=True)
class Placement:
    """Where a workload should run, and the reasons, one per question asked."""

    tier: Tier
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.tier.name}: " + "; ".join(self.reasons)


def place(*, latency_budget_ms: float, connectivity: str = "always", power: str = "mains",
          private_data: bool = False, raw_data_mbps: float = 0.0, uplink_mbps: float = math.inf,
          heavy_model: bool = False) -> Placement:
    """Suggest a tier for a workload from the questions an engineer would ask.

    ``latency_budget_ms`` (> 0) is the deadline for an answer; ``connectivity`` is one of
    ``always``, ``intermittent``, ``none``; ``power`` one of ``mains``, ``battery``,
    ``harvested``; ``private_data`` says the raw data must not leave the site;
    ``raw_data_mbps`` (>= 0) is what the sensors produce and ``uplink_mbps`` (> 0) what the
    link can carry; ``heavy_model`` says the model needs server-class compute.
    """
    if not isinstance(latency_budget_ms, (int, float)) or not latency_budget_ms > 0 \
            or math.isnan(latency_budget_ms):
        raise ValueError(f"latency_budget_ms must be a number > 0; got {latency_budget_ms!r}")
    if connectivity not in CONNECTIVITY:
        raise ValueError(f"connectivity must be one of {', '.join(CONNECTIVITY)}; got {connectivity!r}")
    if power not in POWER:
        raise ValueError(f"power must be one of {', '.join(POWER)}; got {power!r}")
    if not raw_data_mbps >= 0 or math.isinf(raw_data_mbps):
        raise ValueError(f"raw_data_mbps must be a finite number >= 0; got {raw_data_mbps!r}")
    if not uplink_mbps > 0:
        raise ValueError(f"uplink_mbps must be a number > 0; got {uplink_mbps!r}")

    reasons = []
    if connectivity != "always" or power == "harvested":
        if connectivity != "always":
            link = "there is no network link" if connectivity == "none" else "the link is intermittent"
            reasons.append(f"{link}: inference must work offline")
        if power == "harvested":
            reasons.append("energy harvesting allows only a tiny model and sleeping between cycles")
        return Placement(tier("far-edge"), tuple(reasons))

    off_site = True
    if private_data:
        reasons.append("raw data must stay on site")
        off_site = False
    if raw_data_mbps > uplink_mbps:
        reasons.append(f"the sensors produce {raw_data_mbps:g} Mbit/s but the uplink carries "
                       f"{uplink_mbps:g} Mbit/s")
        off_site = False
    if latency_budget_ms < CLOUD_FLOOR_MS:
        reasons.append(f"a {latency_budget_ms:g} ms deadline is below typical mobile/cloud round "
                       f"trips (~{CLOUD_FLOOR_MS:g} ms and more)")
        off_site = False

    if off_site:
        reasons.append(f"a {latency_budget_ms:g} ms deadline leaves room for a cloud round trip, "
                       "with a reliable link and no data restrictions")
        return Placement(tier("cloud"), tuple(reasons))
    if heavy_model and power == "mains" and latency_budget_ms >= MEC_FLOOR_MS:
        reasons.append("the model needs server-class compute, and mains power and a local "
                       "network make an on-site server possible")
        return Placement(tier("mec"), tuple(reasons))
    reasons.append("so run it on the device itself")
    return Placement(tier("near-edge"), tuple(reasons))
