"""The benchmark protocol, shared by the course machine and the on-device agent.

This module imports only the standard library and numpy at module level and never imports
``edgelab``: it is copied as a single file to a Raspberry Pi next to the device agent and
runs there without edgelab (or TensorFlow) installed.

The protocol (the one TFLite's ``benchmark_model`` tool follows):

1. The caller creates the interpreter (``edgelab.runtime.load_interpreter`` on the course
   machine, ``ai_edge_litert.interpreter.Interpreter`` on a Pi) with the ``num_threads`` it
   wants, and calls ``allocate_tensors()``. Creating it is not timed.
2. Every input tensor is filled once, before any timing: with the caller's arrays, or with
   deterministic random data of the tensor's shape and dtype (seeded, so runs repeat).
   Latency of a TFLite graph does not depend on the values for the ops the course uses.
3. ``warmup_runs`` calls of ``invoke()`` are made and discarded (caches, lazy kernel
   preparation, XNNPACK weight packing, CPU frequency ramp-up).
4. ``runs`` calls of ``invoke()`` are timed one by one with ``time.perf_counter_ns``; only
   ``invoke()`` is inside the timed region (no copies in or out), so the numbers compare
   with ``benchmark_model``'s and with published tables. The loop is kept minimal so the
   harness adds little to a bare ``invoke()`` loop (``bench/bench_harness.py`` checks it).
5. Statistics over the timed runs: mean, standard deviation (population), min, p50, p90,
   p99 (linear interpolation, numpy's default) and max, in milliseconds.
6. Peak memory is the process's peak resident set size (``ru_maxrss``, normalised to
   bytes) read after the runs. It covers the whole process (Python, the runtime, anything
   imported before), so measure in a fresh process for a per-model figure; it is ``None``
   where the ``resource`` module does not exist (Windows).

:func:`run_benchmark` returns a report dict in the schema ``edgelab.benchmark/1``
(:data:`SCHEMA`); :func:`validate_report` checks one, :func:`write_report` saves one as JSON.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import socket
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

SCHEMA = "edgelab.benchmark/1"
LATENCY_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")
MAX_RUNS = 1_000_000

# Which distribution a known interpreter class comes from (by its module's first part).
_RUNTIME_DISTRIBUTIONS = {
    "ai_edge_litert": "ai-edge-litert",
    "tflite_runtime": "tflite-runtime",
    "tensorflow": "tensorflow",
}


def _check_count(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_RUNS:
        raise ValueError(f"{name} must be an integer from {minimum} to {MAX_RUNS}; got {value!r}")
    return value


def detect_runtime(interpreter: Any) -> Dict[str, str]:
    """Name and version of the package an interpreter object comes from.

    Returns ``{"backend": ..., "version": ...}``; ``"unknown"`` where it cannot be told.
    """
    return dict(_runtime_of(type(interpreter).__module__ or ""))


@functools.cache  # reading package metadata takes milliseconds: once per module
def _runtime_of(module: str) -> Tuple[Tuple[str, str], ...]:
    top = module.split(".")[0]
    dist = _RUNTIME_DISTRIBUTIONS.get(top, top or "unknown")
    try:
        version = importlib.metadata.version(dist)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        version = "unknown"
    return (("backend", dist), ("version", version))


def device_info(simulated: bool = False, profile: Optional[str] = None) -> Dict[str, Any]:
    """Describe the machine this runs on, in the report's ``device`` format."""
    return {
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count() or 1,
        "simulated": bool(simulated),
        "profile": profile,
    }


def peak_memory_bytes() -> Optional[int]:
    """Peak resident set size of this process in bytes, or None where it cannot be read."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def latency_stats(samples_ns: Sequence[int]) -> Dict[str, float]:
    """Mean, std, min, p50, p90, p99 and max in milliseconds of timings in nanoseconds."""
    if len(samples_ns) == 0:
        raise ValueError("samples_ns must hold at least one timing; got none")
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    values = (ms.mean(), ms.std(), ms.min(), p50, p90, p99, ms.max())
    return {key: float(v) for key, v in zip(LATENCY_KEYS, values)}


def _random_input(detail: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    shape = [int(d) if int(d) > 0 else 1 for d in detail["shape"]]
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -128), min(int(info.max), 127)
        return rng.integers(low, high + 1, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    raise ValueError(f"cannot make random data for an input of dtype {dtype}; pass inputs=")


def fill_inputs(interpreter: Any, inputs: Optional[Sequence[np.ndarray]] = None,
                seed: int = 0) -> None:
    """Set every input tensor: from ``inputs`` (one array per input) or seeded random data."""
    details = interpreter.get_input_details()
    if len(details) == 0:
        raise ValueError("the model has no inputs: there is nothing to benchmark")
    if inputs is not None:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        if len(inputs) != len(details):
            raise ValueError(f"inputs must hold one array per model input ({len(details)}); "
                             f"got {len(inputs)}")
    rng = np.random.default_rng(seed)
    for i, detail in enumerate(details):
        if inputs is None:
            value = _random_input(detail, rng)
        else:
            value = np.asarray(inputs[i])
            expected = tuple(int(d) for d in detail["shape"])
            if value.dtype != np.dtype(detail["dtype"]) or value.shape != expected:
                raise ValueError(
                    f"inputs[{i}] must have shape {expected} and dtype {np.dtype(detail['dtype'])}"
                    f" (input {detail.get('name', i)!r}); got shape {value.shape}, dtype {value.dtype}")
        interpreter.set_tensor(detail["index"], value)


def time_invokes(invoke: Callable[[], Any], runs: int) -> List[int]:
    """Call ``invoke`` ``runs`` times; return each call's duration in nanoseconds.

    The loop holds only the two clock reads and the call: this is the timed core.
    """
    clock = time.perf_counter_ns
    samples = [0] * runs
    for i in range(runs):
        start = clock()
        invoke()
        samples[i] = clock() - start
    return samples


def _timed_runs(invoke: Callable[[], Any], runs: int, progress: bool, label: str) -> List[int]:
    if not progress:
        return time_invokes(invoke, runs)
    from tqdm.auto import tqdm  # optional: only when a progress bar is asked for

    samples: List[int] = []
    chunk = max(1, runs // 50)  # the bar updates between chunks, outside the timed calls
    with tqdm(total=runs, desc=label, unit="run") as bar:
        while len(samples) < runs:
            n = min(chunk, runs - len(samples))
            samples.extend(time_invokes(invoke, n))
            bar.update(n)
    return samples


def model_info(name: str, model_bytes: Optional[bytes] = None, *, sha256: Optional[str] = None,
               size_bytes: Optional[int] = None) -> Dict[str, Any]:
    """The report's ``model`` block: from the model's bytes, or from a known hash and size."""
    if model_bytes is not None:
        data = bytes(model_bytes)
        return {"name": str(name), "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    if sha256 is None or size_bytes is None:
        raise ValueError("pass model_bytes, or both sha256 and size_bytes, to describe the model")
    return {"name": str(name), "sha256": str(sha256), "size_bytes": int(size_bytes)}


def run_benchmark(interpreter: Any, *, model_name: str, model_bytes: Optional[bytes] = None,
                  model_sha256: Optional[str] = None, model_size_bytes: Optional[int] = None,
                  warmup_runs: int = 10, runs: int = 100, num_threads: Optional[int] = None,
                  inputs: Optional[Sequence[np.ndarray]] = None, seed: int = 0,
                  backend: Optional[str] = None, backend_version: Optional[str] = None,
                  simulated: bool = False, profile: Optional[str] = None,
                  accuracy: Optional[float] = None, progress: bool = False) -> Dict[str, Any]:
    """Benchmark an allocated tflite-like interpreter with the protocol above.

    ``num_threads`` is recorded, not applied: it must be the value the interpreter was
    created with. ``backend``/``backend_version`` default to the package the interpreter's
    class comes from. Returns a report dict in the ``edgelab.benchmark/1`` schema.
    """
    _check_count("warmup_runs", warmup_runs, 0)
    _check_count("runs", runs, 1)
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be an integer >= 1 or None; got {num_threads!r}")
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and 0.0 <= accuracy <= 1.0):
        raise ValueError(f"accuracy must be a fraction from 0 to 1 or None; got {accuracy!r}")
    model = model_info(model_name, model_bytes, sha256=model_sha256, size_bytes=model_size_bytes)
    runtime = detect_runtime(interpreter)
    if backend is not None:
        runtime["backend"] = backend
    if backend_version is not None:
        runtime["version"] = backend_version

    fill_inputs(interpreter, inputs, seed)
    invoke = interpreter.invoke
    if warmup_runs:
        _timed_runs(invoke, warmup_runs, progress, f"warm-up {model_name}")
    samples = _timed_runs(invoke, runs, progress, f"benchmark {model_name}")

    return {
        "schema": SCHEMA,
        "model": model,
        "runtime": runtime,
        "device": device_info(simulated, profile),
        "settings": {"warmup_runs": warmup_runs, "runs": runs, "num_threads": num_threads},
        "latency_ms": latency_stats(samples),
        "peak_memory_bytes": peak_memory_bytes(),
        "accuracy": None if accuracy is None else float(accuracy),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


_TYPES: Dict[str, Dict[str, Any]] = {
    "model": {"name": str, "sha256": str, "size_bytes": int},
    "runtime": {"backend": str, "version": str},
    "device": {"hostname": str, "machine": str, "system": str, "python": str, "cpu_count": int,
               "simulated": bool, "profile": (str, type(None))},
    "settings": {"warmup_runs": int, "runs": int, "num_threads": (int, type(None))},
    "latency_ms": {key: (int, float) for key in LATENCY_KEYS},
}


def _is(value: Any, kind: Union[type, tuple]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def validate_report(report: Mapping[str, Any]) -> List[str]:
    """Return the problems that make ``report`` not an ``edgelab.benchmark/1`` report (empty: valid)."""
    problems: List[str] = []
    if not isinstance(report, Mapping):
        return [f"a report must be a JSON object; got {type(report).__name__}"]
    if report.get("schema") != SCHEMA:
        problems.append(f"schema must be {SCHEMA!r}; got {report.get('schema')!r}")
    for block, fields in _TYPES.items():
        part = report.get(block)
        if not isinstance(part, Mapping):
            problems.append(f"{block} must be an object; got {type(part).__name__}")
            continue
        for name, kind in fields.items():
            if name not in part:
                problems.append(f"{block}.{name} is missing")
            elif not _is(part[name], kind):
                problems.append(f"{block}.{name} has the wrong type: {part[name]!r}")
    latency = report.get("latency_ms")
    if isinstance(latency, Mapping) and all(_is(latency.get(k), (int, float)) for k in LATENCY_KEYS):
        if not all(math.isfinite(latency[k]) and latency[k] >= 0 for k in LATENCY_KEYS):
            problems.append("latency_ms values must be finite and >= 0")
        elif not latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]:
            problems.append("latency_ms must satisfy min <= p50 <= p90 <= p99 <= max")
    for name, kind in (("peak_memory_bytes", (int, type(None))), ("accuracy", (int, float, type(None)))):
        if name not in report:
            problems.append(f"{name} is missing")
        elif not _is(report[name], kind):
            problems.append(f"{name} has the wrong type: {report[name]!r}")
    stamp = report.get("timestamp")
    try:
        _dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        problems.append(f"timestamp must be an ISO-8601 string; got {stamp!r}")
    return problems


def write_report(report: Mapping[str, Any], path: Union[str, os.PathLike[str]]) -> None:
    """Validate ``report`` and write it as indented JSON to ``path``."""
    problems = validate_report(report)
    if problems:
        raise ValueError("not a valid benchmark report: " + "; ".join(problems))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=False)
        handle.write("\n")


def read_report(path: Union[str, os.PathLike[str]]) -> Dict[str, Any]:
    """Read a JSON report and validate it (ValueError listing the problems if invalid)."""
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    problems = validate_report(report)
    if problems:
        raise ValueError(f"{path} is not a valid benchmark report: " + "; ".join(problems))
    return report


def summarize(reports: Iterable[Mapping[str, Any]]) -> str:
    """A plain-text table (model, backend, threads, p50, p90, p99 ms) of several reports."""
    lines = [f"{'model':<24} {'backend':<16} {'threads':>7} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9}"]
    for r in reports:
        lat = r["latency_ms"]
        threads = r["settings"]["num_threads"]
        lines.append(f"{r['model']['name']:<24} {r['runtime']['backend']:<16} "
                     f"{'-' if threads is None else threads:>7} {lat['p50']:9.3f} {lat['p90']:9.3f} "
                     f"{lat['p99']:9.3f}")
    return "\n".join(lines)
