"""A learner's saved device report: which device to measure on, and whether the report passes.

Lesson 08 measures a model on a Raspberry Pi (or on a clearly labelled simulated one) and
saves the ``edgelab.benchmark/1`` report as JSON. Grading reads that saved file, so the
instructor's machine never needs the learner's Pi:

* :func:`lesson_target` picks the device: the Pi named in ``EDGELAB_PI`` (or passed in), its
  key (``EDGELAB_PI_KEY``) and its Python (``EDGELAB_PI_PYTHON``), else a simulated Pi. While
  nbgrader autogrades (it sets ``NBGRADER_EXECUTION``) it never returns an SSH target: no
  device is contacted during grading.
* :func:`use_saved_report` says whether to read the saved report instead of measuring
  (autograding and the file exists).
* :func:`check_report` checks a saved report against the model file it claims to describe
  (sha256), an accuracy floor and a latency ceiling, tells what measured it
  (:func:`device_kind`: a real device, an emulated ARM root, a simulated Pi) and flags a report
  whose device facts contradict each other (:func:`inconsistencies`).
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
KEY_ENV = "EDGELAB_PI_KEY"
PYTHON_ENV = "EDGELAB_PI_PYTHON"
DEFAULT_PROFILE = "raspberry-pi-4"
REAL, EMULATED, SIMULATED, UNKNOWN = "real", "emulated", "simulated", "unknown"

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


def lesson_target(pi: Optional[str] = None, *, key: Optional[str] = None, python: Optional[str] = None,
                  known_hosts: str = "~/.ssh/known_hosts", profile: str = DEFAULT_PROFILE,
                  home: Union[str, os.PathLike, None] = None, env: Optional[Mapping[str, str]] = None) -> Any:
    """The device to deploy to: the Pi ``pi`` (default: ``EDGELAB_PI``) over SSH with ``key``
    (default: ``EDGELAB_PI_KEY``, else ssh-agent) and the device's ``python`` (default:
    ``EDGELAB_PI_PYTHON``, else ``~/edgelab-venv/bin/python``); else a simulated ``profile``
    device. During autograding always the simulated one."""
    from edgelab import deploy

    env = os.environ if env is None else env
    spec = pi if pi is not None else configured_pi(env)
    if spec is not None and not isinstance(spec, str):
        raise ValueError(f"pi must be a string like 'pi@raspberrypi.local' or None; got {spec!r}")
    for label, value in (("key", key), ("python", python)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{label} must be a non-empty path string or None; got {value!r}")
    if spec and not autograding(env):
        key = key or (env.get(KEY_ENV) or "").strip() or None
        from_env = (env.get(PYTHON_ENV) or "").strip() or None
        named = python or from_env
        if python is not None and python != from_env:
            how = "python= of lesson_target"
        elif named:  # lesson 08 passes EDGELAB_PI_PYTHON on as python=
            how = f"the {PYTHON_ENV} environment variable"
        else:
            how = (f"the default; set the {PYTHON_ENV} environment variable (or pass python=) to the "
                   "device's Python")
        return deploy.ssh_target(spec, key=key, known_hosts=known_hosts,
                                 python=named or deploy.DEFAULT_PYTHON, python_named_by=how)
    return deploy.simulated_target(profile, home=home)


def use_saved_report(path: Union[str, os.PathLike], env: Optional[Mapping[str, str]] = None) -> bool:
    """True if the notebook should read the saved report at ``path`` instead of measuring:
    it is being autograded and the file exists."""
    return autograding(env) and Path(path).is_file()


@dataclass
class ReportCheck:
    """The verdict on one saved device report. ``kind`` is what measured it (``real``,
    ``emulated``, ``simulated`` or ``unknown``); ``flags`` are contradictions between its facts."""

    ok: bool
    problems: List[str]
    real_hardware: Optional[bool]
    device: str = ""
    profile: Optional[str] = None
    sha256: str = ""
    accuracy: Optional[float] = None
    p50_ms: Optional[float] = None
    report: Dict[str, Any] = field(default_factory=dict, repr=False)
    kind: str = UNKNOWN
    label: str = "unknown device"
    flags: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"{'PASS' if self.ok else 'FAIL'}: {self.device or '?'} [{self.label}]"
        if self.p50_ms is not None:
            head += f", p50 {self.p50_ms:.4g} ms"
        if self.accuracy is not None:
            head += f", accuracy {self.accuracy:.3f}"
        return "\n".join([head] + [f"  - {p}" for p in self.problems]
                         + [f"  - INCONSISTENT: {f}" for f in self.flags])


# --- what measured a report -----------------------------------------------------------------

ARM_MACHINES = ("aarch64", "arm64", "armv7l", "armv6l", "armv8l", "armhf")
# Raspberry Pi 4 and 5: 4 Cortex cores; at most 8 GB (Pi 4) and 16 GB (Pi 5) of RAM
# (Raspberry Pi 4 Model B and Raspberry Pi 5 product briefs, raspberrypi.com).
PI_FACTS = {"raspberry-pi-4": {"cores": 4, "max_ram_gb": 8}, "raspberry-pi-5": {"cores": 4, "max_ram_gb": 16}}


def _device(report: Mapping[str, Any]) -> Mapping[str, Any]:
    block = report.get("device") if isinstance(report, Mapping) else None
    return block if isinstance(block, Mapping) else {}


def device_kind(report: Mapping[str, Any]) -> str:
    """``simulated`` (a simulated Pi), ``emulated`` (an ARM root under qemu: the device agent
    found the emulator), ``real`` (a device said it is one) or ``unknown`` (the report does not say)."""
    device = _device(report)
    if device.get("simulated") is True:
        return SIMULATED
    if device.get("emulated") is True:
        return EMULATED
    if device.get("simulated") is False:
        return REAL
    return UNKNOWN


def claimed_profile(report: Mapping[str, Any]) -> Optional[str]:
    """The course's device profile the report claims to come from: a simulated report's profile,
    else the Raspberry Pi its device-tree or CPU model names; None if it claims none."""
    device = _device(report)
    if device.get("simulated") is True:
        return device.get("profile") if isinstance(device.get("profile"), str) else None
    text = " ".join(str(device.get(k) or "") for k in ("device_tree_model", "cpu_model"))
    for number in ("5", "4"):
        if f"Raspberry Pi {number}" in text:
            return f"raspberry-pi-{number}"
    return None


def device_label(report: Mapping[str, Any]) -> str:
    """How to name what measured the report, e.g. ``real hardware: Raspberry Pi 5 Model B Rev 1.0
    (aarch64)``,
    ``emulated aarch64 (qemu-user): not a Pi's timings`` or ``SIMULATED (raspberry-pi-4)``."""
    device, kind = _device(report), device_kind(report)
    machine = str(device.get("machine") or "?")
    if kind == SIMULATED:
        return f"SIMULATED ({device.get('profile') or '?'})"
    if kind == EMULATED:
        arch = "armv7" if machine.startswith("armv7") else machine
        return f"emulated {arch} ({device.get('emulator') or 'emulator'}): not a Pi's timings"
    if kind == REAL:
        model = device.get("device_tree_model") or device.get("cpu_model")
        return f"real hardware: {model} ({machine})" if model else f"real hardware ({machine})"
    return "unknown device"


def _peak_floor_ms(profile: str, stats: Any) -> Optional[float]:
    """The fastest ``profile`` could possibly run ``stats``: the compute term of lesson 04's roofline
    at the device's PEAK (100% efficiency), no memory time, no invoke overhead (a model in cache
    can beat the memory term). None if the profile is unknown or cannot run that precision."""
    from edgelab import devices

    try:
        device = devices.device(profile)
    except (KeyError, ValueError):
        return None
    peak = device.peak_gops.get(getattr(stats, "precision", None))
    macs = getattr(stats, "macs", None)
    if not peak or not isinstance(macs, (int, float)) or macs <= 0:
        return None
    return 2.0 * macs / (peak * 1e9) * 1000.0


def inconsistencies(report: Mapping[str, Any], stats: Any = None) -> List[str]:
    """Facts of one report that contradict each other (empty: none found). Checked: a device
    that says it is a real Raspberry Pi with a non-ARM CPU, no device tree, a Pi's impossible core
    count or memory size; a p50 faster than the claimed device could possibly run the model
    (``stats``, a :class:`~edgelab.stats.ModelStats`: lesson 04's estimator at its peak)."""
    device, kind, profile = _device(report), device_kind(report), claimed_profile(report)
    flags: List[str] = []
    if kind == REAL and profile is not None:
        pi = profile.replace("raspberry-pi-", "Raspberry Pi ")
        machine = str(device.get("machine") or "")
        if machine not in ARM_MACHINES:
            flags.append(f"it says it is a real {pi}, but its CPU is {machine or 'not recorded'} (not ARM)")
        if "device_tree_model" in device and not device.get("device_tree_model"):
            flags.append(f"its CPU model says {pi}, but it has no device tree (every Pi has one): an "
                         "emulator or a copied /proc/cpuinfo")
        facts = PI_FACTS.get(profile, {})
        cores, ram = device.get("cpu_count"), device.get("ram_bytes")
        if isinstance(cores, int) and facts and cores != facts["cores"]:
            flags.append(f"it has {cores} CPU cores; a {pi} has {facts['cores']}")
        if isinstance(ram, (int, float)) and facts and ram > facts["max_ram_gb"] * 1.05 * 2**30:
            flags.append(f"it has {ram / 2**30:.1f} GiB of memory; a {pi} has at most "
                         f"{facts['max_ram_gb']} GB")
    latency = report.get("latency_ms") if isinstance(report, Mapping) else None
    p50 = latency.get("p50") if isinstance(latency, Mapping) else None
    if kind == REAL and profile is not None and stats is not None and isinstance(p50, (int, float)):
        floor = _peak_floor_ms(profile, stats)
        if floor is not None and p50 < floor:
            flags.append(f"p50 {p50:.4g} ms is faster than a {profile} can possibly run this model "
                         f"({floor:.4g} ms: its MACs at the device's peak throughput, lesson 04's "
                         "estimator with 100% efficiency and no overhead)")
    return flags


def _model_bytes(model: Any) -> tuple[Optional[bytes], Optional[str]]:
    """(bytes, None) of a model path, bytes or object with ``.data``; (None, problem) if unreadable."""
    data = getattr(model, "data", model)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), None
    try:
        path = Path(os.fspath(data)).expanduser()
    except TypeError:
        raise ValueError("model must be a .tflite path, bytes or a converted model; "
                         f"got {type(model).__name__}") from None
    if not path.is_file():
        return None, f"model file not found: {path}"
    return path.read_bytes(), None


def _model_stats(data: bytes) -> Any:
    """The model's MACs and bytes (for the timing check), or None if the file cannot be parsed."""
    try:
        from edgelab.convert import ConvertedModel

        return ConvertedModel.from_bytes(data).stats()
    except Exception:  # the sha256 check already says what is wrong with a foreign file
        return None


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


def check_report(report: ReportSource, model: Any, *, min_accuracy: Optional[float] = 0.9,
                 max_p50_ms: Optional[float] = 10.0) -> ReportCheck:
    """Check a saved ``edgelab.benchmark/1`` report (path or dict) against ``model``.

    Problems found: the schema is not met; the report's sha256 is not the model file's (it
    measured another model); the accuracy is missing or below ``min_accuracy``; the p50
    latency is above ``max_p50_ms``; the report does not record whether the device was real
    (``device.simulated``) or, if simulated, which profile it imitated. Contradictions between
    the device facts (:func:`inconsistencies`) are ``flags`` and fail the check too.
    ``min_accuracy=None`` or ``max_p50_ms=None``: no such bar (a grade must not hang on a value
    that training or a busy machine decides).
    """
    if min_accuracy is not None:
        _check_threshold("min_accuracy", min_accuracy, 0.0, 1.0)
    if max_p50_ms is not None:
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
    kind = device_kind(data)
    real = {REAL: True, EMULATED: False, SIMULATED: False}.get(kind)
    if not isinstance(simulated, bool):
        problems.append("the report does not record whether the device was real (device.simulated)")
    elif simulated and not device.get("profile"):
        problems.append("a simulated report must name the device profile it imitated (device.profile)")

    model_bytes, problem = _model_bytes(model)
    sha = None if model_bytes is None else hashlib.sha256(model_bytes).hexdigest()
    if problem:
        problems.append(problem)
    elif model_block.get("sha256") != sha:
        problems.append(f"the report measured model {str(model_block.get('sha256'))[:12]}..., not yours "
                        f"({sha[:12]}...): deploy and benchmark this model file")
    accuracy = data.get("accuracy")
    if not isinstance(accuracy, (int, float)) or isinstance(accuracy, bool):
        accuracy = None
        problems.append("the report holds no accuracy: set report['accuracy'] before saving it")
    elif min_accuracy is not None and accuracy < min_accuracy:
        problems.append(f"accuracy {accuracy:.3f} is below the required {min_accuracy:.3f}")
    p50 = latency.get("p50")
    if isinstance(p50, (int, float)) and not isinstance(p50, bool) and math.isfinite(p50):
        if max_p50_ms is not None and p50 > max_p50_ms:
            problems.append(f"p50 latency {p50:.4g} ms is above the budget of {max_p50_ms:g} ms")
    else:
        p50 = None
    same = model_bytes is not None and model_block.get("sha256") == sha
    stats = _model_stats(model_bytes) if same else None
    flags = inconsistencies(data, stats)
    return ReportCheck(not problems and not flags, problems, real, str(device.get("hostname", "")),
                       device.get("profile"), str(model_block.get("sha256", "")), accuracy, p50, data,
                       kind=kind, label=device_label(data), flags=flags)


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
