"""The class's own device results: every learner's saved lesson-08 device reports, checked and
put side by side by device and model variant ("share your deployments").

A submission folder holds the learner's reports (``device_report_<variant>.json``, the
``edgelab.benchmark/1`` schema) and the models they converted (``*.tflite``). Each report is
checked (:mod:`edgelab.device_report`): what measured it (a real device, an emulated ARM root,
a simulated Pi), and whether it is *inconsistent*: its model hash matches no model of the
submission, or its device facts contradict each other (a "real Pi" with an x86 CPU, timings
faster than the claimed device can possibly run the model, a Pi's impossible core count or
memory). Flagged reports are listed, and left out of the table.

* :func:`collect` reads a folder of submissions (``<folder>/<student>/[<lesson>/]``);
* :func:`table` groups the reports that count by device and variant: reports, students,
  median p50 / p95 latency, mean accuracy, model size;
* :func:`dashboard` is the Voila page (``demos/device_results.ipynb``);
* :func:`example_class` writes a GENERATED class (real-looking, simulated, emulated and
  inconsistent reports, timings drawn around the course's estimator) for the demo and the tests.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from edgelab import device_report

PathLike = Union[str, "os.PathLike[str]"]
CLASS_ENV = "EDGELAB_CLASS_RESULTS"
LESSON = "08-deploy-to-a-pi"
REPORT_GLOB = "device_report*.json"
VARIANTS = ("float32", "float16", "dynamic", "int8")
NO_MATCH = "its model hash matches no model in the submission (it measured something else)"


@dataclass
class Entry:
    """One saved report of one learner, checked."""

    student: str
    file: str
    variant: str
    kind: str  # real, emulated, simulated, unknown
    device: str  # the group it is counted in, e.g. "Raspberry Pi 5"
    label: str  # edgelab.device_report.device_label
    p50_ms: Optional[float]
    p95_ms: Optional[float]  # from the raw timings (None when the report has none)
    accuracy: Optional[float]
    size_bytes: Optional[int]
    sha256: str
    flags: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # not a valid report

    @property
    def counted(self) -> bool:
        """Whether the entry counts in the class table (valid and not flagged)."""
        return not self.flags and not self.problems


@dataclass
class ClassResults:
    """Every report found, and the students whose submission had none."""

    entries: List[Entry]
    without_reports: List[str]

    @property
    def flagged(self) -> List[Entry]:
        return [e for e in self.entries if not e.counted]

    def real_devices(self) -> int:
        """How many students measured on a real device (a report that counts)."""
        return len({e.student for e in self.entries if e.counted and e.kind == device_report.REAL})

    def summary(self) -> str:
        """One line: students, reports, real / emulated / simulated devices, flagged."""
        counted = [e for e in self.entries if e.counted]
        kinds = {
            k: len({e.student for e in counted if e.kind == k})
            for k in (device_report.EMULATED, device_report.SIMULATED)
        }
        students = {e.student for e in self.entries} | set(self.without_reports)
        return (
            f"{len(students)} students, {len(self.entries)} device reports: "
            f"{self.real_devices()} on a real device, {kinds['emulated']} on an emulated ARM root, "
            f"{kinds['simulated']} on a simulated Pi; {len(self.flagged)} flagged; "
            f"{len(self.without_reports)} without a report"
        )


def _variant(report: Dict[str, Any], path: Path) -> str:
    names = (
        f"{report.get('model', {}).get('name', '')} {path.stem}"
        if isinstance(report.get("model"), dict)
        else path.stem
    )
    for variant in VARIANTS:
        if re.search(rf"(^|[^a-z0-9]){variant}([^a-z0-9]|$)", names):
            return variant
    return "unknown"


def _device_group(report: Dict[str, Any], kind: str) -> str:
    device = report.get("device") if isinstance(report.get("device"), dict) else {}
    machine = str(device.get("machine") or "?")
    if kind == device_report.SIMULATED:
        return f"simulated {device.get('profile') or '?'}"
    if kind == device_report.EMULATED:
        return f"emulated {'armv7' if machine.startswith('armv7') else machine}"
    model = str(device.get("device_tree_model") or device.get("cpu_model") or "")
    found = re.search(r"Raspberry Pi [0-9A-Za-z]+( Model [A-Z])?", model)
    if found:
        return found.group(0)
    return f"{model or 'unknown CPU'} ({machine})" if kind == device_report.REAL else "unknown device"


def _p95(report: Dict[str, Any]) -> Optional[float]:
    samples = report.get("samples_ms")
    if not isinstance(samples, list) or not samples or not all(isinstance(s, (int, float)) for s in samples):
        return None
    import numpy as np

    return float(np.percentile(np.asarray(samples, dtype=float), 95))


def check_entry(student: str, path: Path, models: Dict[str, bytes]) -> Entry:
    """Read and check one saved report against the submission's models (sha256 -> bytes)."""
    from edgelab import bench

    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return Entry(
            student,
            path.name,
            "unknown",
            device_report.UNKNOWN,
            "unreadable report",
            "unreadable",
            None,
            None,
            None,
            None,
            "",
            problems=[f"not JSON: {exc}"],
        )
    problems = bench.validate_report(report) if isinstance(report, dict) else ["not a JSON object"]
    if not isinstance(report, dict):
        report = {}
    kind = device_report.device_kind(report)
    model = report.get("model") if isinstance(report.get("model"), dict) else {}
    sha = str(model.get("sha256", ""))
    flags = []
    stats = None
    if sha not in models:
        flags.append(NO_MATCH)
    else:
        try:
            from edgelab.convert import ConvertedModel

            stats = ConvertedModel.from_bytes(models[sha]).stats()
        except Exception:  # a model the parser cannot read: the timing check is skipped
            stats = None
    flags += device_report.inconsistencies(report, stats)
    latency = report.get("latency_ms") if isinstance(report.get("latency_ms"), dict) else {}
    p50 = latency.get("p50") if isinstance(latency.get("p50"), (int, float)) else None
    accuracy = report.get("accuracy") if isinstance(report.get("accuracy"), (int, float)) else None
    size = model.get("size_bytes") if isinstance(model.get("size_bytes"), int) else None
    return Entry(
        student,
        path.name,
        _variant(report, path),
        kind,
        _device_group(report, kind),
        device_report.device_label(report),
        p50,
        _p95(report),
        accuracy,
        size,
        sha,
        flags,
        problems,
    )


def collect(folder: PathLike, lesson: Optional[str] = LESSON) -> ClassResults:
    """Every device report in ``folder/<student>/<lesson>/`` (``lesson=None``: ``folder/<student>/``),
    each checked against the ``*.tflite`` files beside it."""
    root = Path(os.fspath(folder))
    if not root.is_dir():
        raise ValueError(
            f"folder must be a folder of submissions (<student>/{lesson or ''}); {root} is not one"
        )
    entries: List[Entry] = []
    without: List[str] = []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        base = student_dir / lesson if lesson else student_dir
        reports = sorted(base.glob(REPORT_GLOB)) if base.is_dir() else []
        if not reports:
            without.append(student_dir.name)
            continue
        models = {}
        for path in base.glob("*.tflite"):
            data = path.read_bytes()
            models[hashlib.sha256(data).hexdigest()] = data
        entries += [check_entry(student_dir.name, path, models) for path in reports]
    return ClassResults(entries, without)


@dataclass(frozen=True)
class Row:
    """The reports that count for one device and variant."""

    device: str
    kind: str
    variant: str
    reports: int
    students: int
    p50_ms: Optional[float]  # median over the reports
    p95_ms: Optional[float]  # median over the reports that carry raw timings
    accuracy: Optional[float]  # mean
    size_bytes: Optional[int]  # median


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    found = [v for v in values if v is not None]
    return float(statistics.median(found)) if found else None


KIND_ORDER = {
    device_report.REAL: 0,
    device_report.EMULATED: 1,
    device_report.SIMULATED: 2,
    device_report.UNKNOWN: 3,
}


def table(results: ClassResults, variant: Optional[str] = None, kind: Optional[str] = None) -> List[Row]:
    """The reports that count, grouped by device and variant (real devices first); ``variant`` and
    ``kind`` keep only those."""
    groups: Dict[tuple, List[Entry]] = {}
    for entry in results.entries:
        if entry.counted and variant in (None, entry.variant) and kind in (None, entry.kind):
            groups.setdefault((entry.device, entry.kind, entry.variant), []).append(entry)
    rows = []
    for (device, group_kind, group_variant), found in groups.items():
        accuracies = [e.accuracy for e in found if e.accuracy is not None]
        size = _median([e.size_bytes for e in found])
        rows.append(
            Row(
                device,
                group_kind,
                group_variant,
                len(found),
                len({e.student for e in found}),
                _median([e.p50_ms for e in found]),
                _median([e.p95_ms for e in found]),
                sum(accuracies) / len(accuracies) if accuracies else None,
                None if size is None else int(size),
            )
        )
    order = {v: i for i, v in enumerate(VARIANTS)}
    return sorted(rows, key=lambda r: (KIND_ORDER.get(r.kind, 9), r.device, order.get(r.variant, 9)))


def _ms(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def table_html(rows: List[Row]) -> str:
    """The rows as an HTML table (class ``edgelab-device-results``)."""
    kinds = {
        device_report.REAL: "real device",
        device_report.EMULATED: "emulated (not Pi timings)",
        device_report.SIMULATED: "SIMULATED (an estimate)",
        device_report.UNKNOWN: "unknown",
    }
    body = "".join(
        f"<tr><td>{html.escape(r.device)}</td><td>{kinds.get(r.kind, r.kind)}</td><td>{r.variant}</td>"
        f"<td>{r.reports}</td><td>{r.students}</td><td>{_ms(r.p50_ms)}</td><td>{_ms(r.p95_ms)}</td>"
        f"<td>{'n/a' if r.accuracy is None else f'{r.accuracy:.3f}'}</td>"
        f"<td>{'n/a' if r.size_bytes is None else f'{r.size_bytes / 1024:.1f} KiB'}</td></tr>"
        for r in rows
    )
    head = (
        "<tr><th>device</th><th>measured by</th><th>variant</th><th>reports</th><th>students</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>accuracy</th><th>model size</th></tr>"
    )
    if not rows:
        body = "<tr><td colspan='9'>no report counts for this choice</td></tr>"
    return f"<table class='edgelab-device-results'>{head}{body}</table>"


def flagged_html(results: ClassResults) -> str:
    """The flagged reports, each with its reasons (class ``edgelab-device-flags``)."""
    items = "".join(
        f"<li><b>{html.escape(e.student)}</b> {html.escape(e.file)} ({html.escape(e.label)}): "
        + "; ".join(html.escape(x) for x in e.problems + e.flags)
        + "</li>"
        for e in results.flagged
    )
    return f"<ul class='edgelab-device-flags'>{items or '<li>none</li>'}</ul>"


def dashboard(folder: Optional[PathLike] = None, lesson: Optional[str] = LESSON) -> Any:
    """The class results page: a variant and a device-kind menu, the table, the flagged reports.

    ``folder`` (default ``$EDGELAB_CLASS_RESULTS``) is a folder of submissions; without one, a
    GENERATED example class is shown (it says so), from the demo models (``make demo``)."""
    import tempfile

    import ipywidgets as w

    folder = folder or os.environ.get(CLASS_ENV) or None
    note = ""
    if folder is None:
        from edgelab import artifacts
        from edgelab.errors import EdgelabError

        try:
            found = artifacts.load(artifacts.find(), ["vibration"])["vibration"]
        except (EdgelabError, ValueError) as exc:
            return w.HTML(f"<p class='edgelab-missing'>{html.escape(str(exc))}</p>")
        with tempfile.TemporaryDirectory(prefix="edgelab-example-class-") as example:
            example_class(example, {v: found.variants[v].data for v in ("float32", "int8")})
            results = collect(example, None)
        note = (
            "<p class='edgelab-example-note'><b>A GENERATED example class</b>: its reports were made up "
            f"around the course's latency estimator to show the page. Set {CLASS_ENV} to a folder of "
            "submissions (e.g. <code>submitted/</code>) to see your class.</p>"
        )
    else:
        results = collect(folder, lesson)
    wide = {"description_width": "initial"}
    variant = w.Dropdown(options=["all", *VARIANTS], value="all", description="variant", style=wide)
    kind = w.Dropdown(
        options=["all", "real", "emulated", "simulated"], value="all", description="measured by", style=wide
    )
    view = w.HTML()
    box = w.VBox(
        [
            w.HTML(note + f"<p class='edgelab-device-summary'>{html.escape(results.summary())}</p>"),
            w.HBox([variant, kind]),
            view,
            w.HTML("<h3>Flagged reports (not counted)</h3>" + flagged_html(results)),
        ]
    )

    def update(*_: object) -> None:
        rows = table(
            results,
            None if variant.value == "all" else variant.value,
            None if kind.value == "all" else kind.value,
        )
        box.result = rows
        view.value = table_html(rows)

    from edgelab.ui import guard_all

    guard_all([variant, kind], [view])  # a page may pick a menu entry, nothing else
    for control in (variant, kind):
        control.observe(update, names="value")
    box.controls = {"variant": variant, "measured by": kind}
    box.results = results
    update()
    return box


# --- a generated class (for the demo page and the tests) --------------------------------------

PI_DEVICES = {
    "raspberry-pi-5": {
        "machine": "aarch64",
        "model": "Raspberry Pi 5 Model B Rev 1.0",
        "kernel": "6.6.51+rpt-rpi-2712",
        "ram_bytes": 8 * 2**30 - 140 * 2**20,
        "os": "Debian GNU/Linux 12 (bookworm)",
    },
    "raspberry-pi-4": {
        "machine": "aarch64",
        "model": "Raspberry Pi 4 Model B Rev 1.4",
        "kernel": "6.6.51+rpt-rpi-v8",
        "ram_bytes": 4 * 2**30 - 160 * 2**20,
        "os": "Debian GNU/Linux 12 (bookworm)",
    },
}


def _generated_report(
    model: bytes,
    variant: str,
    device: Dict[str, Any],
    p50_ms: float,
    rng: Any,
    accuracy: float,
    runtime: str = "ai-edge-litert",
) -> Dict[str, Any]:
    """An ``edgelab.benchmark/1`` report with raw timings around ``p50_ms`` (a GENERATED one)."""
    from edgelab import bench

    samples = (p50_ms * rng.lognormal(0.0, 0.08, size=100)).tolist()
    samples_ns = [int(s * 1e6) for s in samples]
    return {
        "schema": bench.SCHEMA,
        "model": {
            "name": f"vibration_{variant}.tflite",
            "sha256": hashlib.sha256(model).hexdigest(),
            "size_bytes": len(model),
        },
        "runtime": {"backend": runtime, "version": "2.3.0" if runtime == "ai-edge-litert" else "2.14.0"},
        "device": dict({"hostname": "pi", "python": "3.11.2", "simulated": False, "profile": None}, **device),
        "settings": {"warmup_runs": 10, "runs": 100, "num_threads": None},
        "latency_ms": bench.latency_stats(samples_ns),
        "peak_memory_bytes": 60_000_000,
        "accuracy": accuracy,
        "timestamp": "2026-05-04T10:00:00+00:00",
        "samples_ms": [ns / 1e6 for ns in samples_ns],
        "generated": True,
    }


def example_class(folder: PathLike, models: Dict[str, bytes], seed: int = 0,
                  lesson: Optional[str] = None) -> Dict[str, str]:
    """Write a GENERATED class into ``folder/<student>/[<lesson>/]``: each student submits the models
    (``models``: variant -> bytes, float32 and int8) and a report for each. Real-looking Pi 4 /
    Pi 5 reports (timings 1.2-3x the course's estimate), emulated aarch64 and simulated ones,
    and inconsistent ones (a "real Pi" with an x86 CPU; a p50 faster than a Pi 5's peak; a model
    hash the student never built; a "real Pi 4" with 2 cores and 25 GiB). Returns student -> what
    was generated for them."""
    import numpy as np

    from edgelab import devices
    from edgelab.convert import ConvertedModel

    rng = np.random.default_rng(seed)
    stats = {v: ConvertedModel.from_bytes(data).stats() for v, data in models.items()}
    out = Path(os.fspath(folder))

    def pi(profile: str, **changes: Any) -> Dict[str, Any]:
        facts = PI_DEVICES[profile]
        device = {
            "machine": facts["machine"],
            "system": "Linux",
            "cpu_count": 4,
            "cpu_model": facts["model"],
            "device_tree_model": facts["model"],
            "kernel": facts["kernel"],
            "ram_bytes": facts["ram_bytes"],
            "os": facts["os"],
            "emulated": False,
            "emulator": None,
            "emulation_evidence": [],
        }
        return dict(device, **changes)

    emulated = {
        "machine": "aarch64",
        "system": "Linux",
        "cpu_count": 2,
        "cpu_model": "Raspberry Pi 5 Model B Rev 1.0",
        "device_tree_model": None,
        "kernel": "6.18.44",
        "ram_bytes": 25 * 2**30,
        "os": "Debian GNU/Linux 12 (bookworm)",
        "emulated": True,
        "emulator": "qemu-user",
        "emulation_evidence": ["/proc/./self/exe is /usr/libexec/qemu-binfmt/aarch64-binfmt-P"],
    }
    plan = {}
    students = (
        [("pi5", "raspberry-pi-5")] * 4
        + [("pi4", "raspberry-pi-4")] * 3
        + [("emulated", None)] * 2
        + [("simulated", "raspberry-pi-4")] * 3
        + [
            ("x86-claims-pi", "raspberry-pi-5"),
            ("too-fast", "raspberry-pi-5"),
            ("foreign-model", "raspberry-pi-4"),
            ("fake-pi4", "raspberry-pi-4"),
        ]
    )
    for number, (what, profile) in enumerate(students, start=1):
        name = f"student{number:02d}"
        base = out / name / lesson if lesson else out / name
        base.mkdir(parents=True, exist_ok=True)
        plan[name] = what
        for variant, data in models.items():
            (base / f"vibration_{variant}.tflite").write_bytes(data)
            accuracy = float(
                np.clip(0.97 - (0.01 if variant == "int8" else 0.0) + rng.normal(0, 0.005), 0, 1)
            )
            estimate = devices.estimate_latency(profile or "raspberry-pi-5", stats[variant]).ms
            p50 = estimate * float(rng.uniform(1.2, 3.0))
            model = data
            if what == "emulated":
                report = _generated_report(data, variant, emulated, p50 * 40, rng, accuracy)
            elif what == "simulated":
                report = _generated_report(
                    data,
                    variant,
                    {"machine": "x86_64", "system": "Linux", "cpu_count": 2},
                    p50,
                    rng,
                    accuracy,
                )
                report["device"].update(simulated=True, profile=profile)
            elif what == "x86-claims-pi":
                report = _generated_report(data, variant, pi(profile, machine="x86_64"), p50, rng, accuracy)
            elif what == "too-fast":
                floor = device_report._peak_floor_ms(profile, stats[variant]) or estimate
                report = _generated_report(data, variant, pi(profile), floor / 5, rng, accuracy)
            elif what == "fake-pi4":
                report = _generated_report(
                    data,
                    variant,
                    pi(profile, cpu_count=2, ram_bytes=25 * 2**30, device_tree_model=None),
                    p50,
                    rng,
                    accuracy,
                )
            else:
                report = _generated_report(data, variant, pi(profile), p50, rng, accuracy)
            if what == "foreign-model":
                model = data + b"another build"
                report["model"]["sha256"] = hashlib.sha256(model).hexdigest()
            (base / f"device_report_{variant}.json").write_text(json.dumps(report, indent=1))
    return plan
