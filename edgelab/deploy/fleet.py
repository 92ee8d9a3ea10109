"""Roll a model out to a fleet: canary first, a health gate, then the rest in stages.

Devices in one stage are deployed in parallel (each deploy health-checks its device). If any
device of a stage fails, the devices of that stage that did switch are rolled back, and the
later stages are not touched. The result holds one report per device. Real and simulated
targets can be mixed: they share the same API.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence

from edgelab.deploy.releases import DEFAULT_KEEP, Target, checked_model
from edgelab.runtime import ModelSource

STATUSES = ("deployed", "failed", "rolled_back", "skipped")


@dataclass
class DeviceReport:
    """What happened on one device during a rollout."""

    target: str
    stage: int
    status: str
    simulated: bool
    release: Optional[str] = None
    previous: Optional[str] = None
    error: Optional[str] = None
    seconds: float = 0.0


@dataclass
class RolloutReport:
    """The outcome of :func:`rollout`: one :class:`DeviceReport` per target, in order."""

    model: str
    sha256: str
    stages: List[List[str]]
    devices: List[DeviceReport]
    stopped_at_stage: Optional[int]

    @property
    def ok(self) -> bool:
        return self.stopped_at_stage is None

    def by_target(self) -> Dict[str, DeviceReport]:
        return {d.target: d for d in self.devices}

    def to_dict(self) -> Dict[str, Any]:
        return {"model": self.model, "sha256": self.sha256, "ok": self.ok, "stages": self.stages,
                "stopped_at_stage": self.stopped_at_stage, "devices": [asdict(d) for d in self.devices]}

    def summary(self) -> str:
        """A plain-text table: device, stage, status, error."""
        head = "rollout OK" if self.ok else f"rollout STOPPED at stage {self.stopped_at_stage}"
        lines = [f"{head}: {self.model} ({self.sha256[:12]})"]
        for d in self.devices:
            sim = " (simulated)" if d.simulated else ""
            lines.append(f"  stage {d.stage}  {d.status:<11} {d.target}{sim}  {d.error or ''}".rstrip())
        return "\n".join(lines)


def plan_stages(n: int, canary: int = 1, stage_size: Optional[int] = None) -> List[List[int]]:
    """Indices per stage: ``canary`` devices first, then stages of ``stage_size`` (all at once if None)."""
    if not isinstance(canary, int) or not 1 <= canary <= max(n, 1):
        raise ValueError(f"canary must be an integer from 1 to the number of targets ({n}); got {canary!r}")
    if stage_size is not None and (not isinstance(stage_size, int) or stage_size < 1):
        raise ValueError(f"stage_size must be an integer >= 1 or None; got {stage_size!r}")
    stages = [list(range(canary))]
    rest = list(range(canary, n))
    size = stage_size or max(len(rest), 1)
    stages += [rest[i:i + size] for i in range(0, len(rest), size)]
    return [s for s in stages if s]


def rollout(targets: Sequence[Target], model: ModelSource, *, canary: int = 1,
            stage_size: Optional[int] = None, keep: int = DEFAULT_KEEP, name: Optional[str] = None,
            max_workers: int = 8, progress: bool = True) -> RolloutReport:
    """Deploy ``model`` to every target in stages (canary first); stop and roll back a failed stage.

    The model is checked once here before any device changes (a bad file raises ModelError).
    ``progress`` shows a tqdm bar with one step per device.
    """
    targets = list(targets)
    if not targets or not all(isinstance(t, Target) for t in targets):
        raise ValueError("targets must be a non-empty list of deploy targets (ssh_target/simulated_target)")
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ValueError(f"targets must be distinct devices; got duplicates in {names}")
    if not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be an integer >= 1; got {max_workers!r}")
    data, _label, name = checked_model(model, name)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    stages = plan_stages(len(targets), canary, stage_size)
    reports = [DeviceReport(t.name, next(i for i, s in enumerate(stages) if k in s), "skipped", t.simulated)
               for k, t in enumerate(targets)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(targets), desc=f"rollout {name}", unit="device")
    stopped = None
    try:
        for number, stage in enumerate(stages):
            if bar is not None:
                bar.set_postfix_str("canary" if number == 0 else f"stage {number}")
            with ThreadPoolExecutor(max_workers=min(max_workers, len(stage))) as pool:
                futures = {pool.submit(_deploy_one, targets[k], data, name, keep): k for k in stage}
                for future in as_completed(futures):
                    k = futures[future]
                    reports[k].status, reports[k].release, reports[k].previous, reports[k].error, \
                        reports[k].seconds = future.result()
                    if bar is not None:
                        bar.update(1)
            if any(reports[k].status == "failed" for k in stage):
                stopped = number
                for k in stage:
                    if reports[k].status == "deployed":
                        _roll_back_one(targets[k], reports[k])
                break
    finally:
        if bar is not None:
            bar.close()
    return RolloutReport(name, sha, [[names[k] for k in s] for s in stages], reports, stopped)


def _deploy_one(target: Target, data: bytes, name: str, keep: int) -> tuple:
    start = time.monotonic()
    try:
        release = target.deploy(data, name=name, keep=keep)
    except Exception as exc:  # one device's failure is reported, not raised
        return "failed", None, None, str(exc), time.monotonic() - start
    return "deployed", release.sha256, release.previous, None, time.monotonic() - start


def _roll_back_one(target: Target, report: DeviceReport) -> None:
    try:
        if report.previous is None:
            target.call("rollback", "--to-nothing")
        else:
            target.call("rollback", "--to", report.previous)
        report.status = "rolled_back"
    except Exception as exc:
        report.error = f"rollback failed: {exc}"
