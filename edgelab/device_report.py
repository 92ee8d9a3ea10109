"""A learner's saved device report: which device to measure on, and whether the report passes.

Lesson 08 measures a model on a Raspberry Pi (or on a clearly labelled simulated one) and
saves the ``edgelab.benchmark/1`` report as JSON. Grading reads that saved file, so the
instructor's machine never needs the learner's Pi:

* :func:`lesson_target` picks the device: the Pi named in ``EDGELAB_PI`` (or passed in),
  else a simulated Pi. While nbgrader autogrades (it sets ``NBGRADER_EXECUTION``) it never
  returns an SSH target: no device is contacted during grading.
* :func:`use_saved_report` says whether to read the saved report instead of measuring
  (autograding and the file exists).
* :func:`check_report` checks a saved report against the model file it claims to describe
  (sha256), an accuracy floor and a latency ceiling, and records whether it came from real
  hardware (``device.simulated``).
* :func:`compare_with_estimate` puts the measurement next to the roofline estimate of
  :func:`edgelab.devices.estimate_latency`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from edgelab import bench

AUTOGRADE_ENV = "NBGRADER_EXECUTION"
PI_ENV = "EDGELAB_PI"
DEFAULT_PROFILE = "raspberry-pi-4"

ReportSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def autograding(env: Optional[Mapping[str, str]] = None) -> bool:
    """True while nbgrader executes the notebook to grade it (``NBGRADER_EXECUTION`` is set)."""
    env = os.environ if env is None else env
    return bool(env.get(AUTOGRADE_ENV))


def configured_pi(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The Pi named in ``EDGELAB_PI`` (``user@host[:port]``), or None."""
    env = os.environ if env is None else env
    spec = (env.get(PI_ENV) or "").strip()
    return spec or None


def lesson_target(pi: Optional[str] = None, *, key: Optional[str] = None,
                  known_hosts: str = "~/.ssh/known_hosts", profile: str = DEFAULT_PROFILE,
                  home: Union[str, os.PathLike, None] = None, env: Optional[Mapping[str, str]] = None) -> Any:
    """The device to deploy to: the Pi ``pi`` (default: ``EDGELAB_PI``) over SSH, else a
    simulated ``profile`` device. During autograding always the simulated one."""
    from edgelab import deploy

    spec = pi if pi is not None else configured_pi(env)
    if spec is not None and not isinstance(spec, str):
        raise ValueError(f"pi must be a string like 'pi@raspberrypi.local' or None; got {spec!r}")
    if spec and not autograding(env):
        return deploy.ssh_target(spec, key=key, known_hosts=known_hosts)
    return deploy.simulated_target(profile, home=home)


def use_saved_report(path: Union[str, os.PathLike], env: Optional[Mapping[str, str]] = None) -> bool:
    """True if the notebook should read the saved report at ``path`` instead of measuring:
    it is being autograded and the file exists."""
    return autograding(env) and Path(path).is_file()


@dataclass
class ReportCheck:
    """The verdict on one saved device report."""

    ok: bool
    problems: List[str]
    real_hardware: Optional[bool]
    device: str = ""
    profile: Optional[str] = None
    sha256: str = ""
    accuracy: Optional[float] = None
    p50_ms: Optional[float] = None
    report: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        kind = {True: "real hardware", False: f"SIMULATED ({self.profile})", None: "unknown device"}
        head = f"{'PASS' if self.ok else 'FAIL'}: {self.device or '?'} [{kind[self.real_hardware]}]"
        if self.p50_ms is not None:
            head += f", p50 {self.p50_ms:.4g} ms"
        if self.accuracy is not None:
            head += f", accuracy {self.accuracy:.3f}"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


def _model_sha256(model: Any) -> tuple[Optional[str], Optional[str]]:
    """(sha256, None) of a model path, bytes or object with ``.data``; (None, problem) if unreadable."""
    data = getattr(model, "data", model)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return hashlib.sha256(bytes(data)).hexdigest(), None
    try:
        path = Path(os.fspath(data)).expanduser()
    except TypeError:
        raise ValueError("model must be a .tflite path, bytes or a converted model; "
                         f"got {type(model).__name__}") from None
    if not path.is_file():
        return None, f"model file not found: {path}"
    return hashlib.sha256(path.read_bytes()).hexdigest(), None


def _load(report: ReportSource) -> tuple[Optional[Dict[str, Any]], Optional[str]]:
    if isinstance(report, Mapping):
        return dict(report), None
    try:
        path = Path(os.fspath(report))
    except TypeError:
        raise ValueError(f"report must be a JSON file path or a report dict; got {type(report).__name__}") \
            from None
    if not path.is_file():
        return None, f"report file not found: {path} (run the deploy cells to produce it)"
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{path} is not JSON: {exc}"


def _check_threshold(name: str, value: Any, low: float, high: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}; got {value!r}")
    return float(value)


def check_report(report: ReportSource, model: Any, *, min_accuracy: float = 0.9,
                 max_p50_ms: float = 10.0) -> ReportCheck:
    """Check a saved ``edgelab.benchmark/1`` report (path or dict) against ``model``.

    Problems found: the schema is not met; the report's sha256 is not the model file's (it
    measured another model); the accuracy is missing or below ``min_accuracy``; the p50
    latency is above ``max_p50_ms``; the report does not record whether the device was real
    (``device.simulated``) or, if simulated, which profile it imitated.
    """
    _check_threshold("min_accuracy", min_accuracy, 0.0, 1.0)
    _check_threshold("max_p50_ms", max_p50_ms, 0.0, 1e7)
    data, problem = _load(report)
    if data is None:
        return ReportCheck(False, [str(problem)], None)
    problems = list(bench.validate_report(data))
    if not isinstance(data, dict):
        return ReportCheck(False, problems, None)
    block = lambda name: data.get(name) if isinstance(data.get(name), Mapping) else {}  # noqa: E731
    device, model_block, latency = block("device"), block("model"), block("latency_ms")
    simulated = device.get("simulated")
    real = (not simulated) if isinstance(simulated, bool) else None
    if real is None:
        problems.append("the report does not record whether the device was real (device.simulated)")
    elif simulated and not device.get("profile"):
        problems.append("a simulated report must name the device profile it imitated (device.profile)")

    sha, problem = _model_sha256(model)
    if problem:
        problems.append(problem)
    elif model_block.get("sha256") != sha:
        problems.append(f"the report measured model {str(model_block.get('sha256'))[:12]}..., not yours "
                        f"({sha[:12]}...): deploy and benchmark this model file")
    accuracy = data.get("accuracy")
    if not isinstance(accuracy, (int, float)) or isinstance(accuracy, bool):
        accuracy = None
        problems.append("the report holds no accuracy: set report['accuracy'] before saving it")
    elif accuracy < min_accuracy:
        problems.append(f"accuracy {accuracy:.3f} is below the required {min_accuracy:.3f}")
    p50 = latency.get("p50")
    if isinstance(p50, (int, float)) and not isinstance(p50, bool) and math.isfinite(p50):
        if p50 > max_p50_ms:
            problems.append(f"p50 latency {p50:.4g} ms is above the budget of {max_p50_ms:g} ms")
    else:
        p50 = None
    return ReportCheck(not problems, problems, real, str(device.get("hostname", "")), device.get("profile"),
                       str(model_block.get("sha256", "")), accuracy, p50, data)


@dataclass(frozen=True)
class Comparison:
    """A measured latency next to the roofline estimate for the same model and device profile."""

    profile: str
    measured_ms: float
    estimate_ms: float
    simulated: bool

    @property
    def ratio(self) -> float:
        """measured / estimated (1.0: the estimate was exact)."""
        return self.measured_ms / self.estimate_ms if self.estimate_ms > 0 else math.inf

    def __str__(self) -> str:
        kind = "SIMULATED measurement" if self.simulated else "measured on the device"
        return (f"{self.profile}: {kind} p50 {self.measured_ms:.4g} ms, estimate {self.estimate_ms:.4g} ms, "
                f"measured/estimate = {self.ratio:.2g}")


def compare_with_estimate(report: ReportSource, stats: Any, profile: Optional[str] = None) -> Comparison:
    """The report's p50 next to :func:`edgelab.devices.estimate_latency` for ``stats`` (a
    :class:`~edgelab.stats.ModelStats`) on ``profile`` (default: the report's profile, else
    ``raspberry-pi-4``)."""
    from edgelab import devices

    data, problem = _load(report)
    if data is None:
        raise ValueError(problem)
    problems = bench.validate_report(data)
    if problems:
        raise ValueError("not a valid benchmark report: " + "; ".join(problems))
    profile = profile or data["device"].get("profile") or DEFAULT_PROFILE
    estimate = devices.estimate_latency(profile, stats)
    return Comparison(profile, float(data["latency_ms"]["p50"]), float(estimate.ms),
                      bool(data["device"]["simulated"]))
