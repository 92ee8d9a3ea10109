"""The edgelab device agent: runs ON the Raspberry Pi (or the simulated one).

Needs only Python >= 3.9, numpy and a TFLite interpreter (ai-edge-litert, or tflite-runtime
on 32-bit Pi OS); it never imports edgelab. It is shipped as three files in one folder:
this one, ``bench.py`` (the benchmark protocol) and ``collect.py`` (the far-edge outbox).

Layout under the device root (``~/edgelab`` by default)::

    agent/                      agent.py, bench.py, collect.py (checked by sha256 before each use)
    incoming/<sha256>.<pid>.part  an upload in progress (never loaded)
    releases/<sha256>/          model.tflite, release.json
    current -> releases/<sha256>  switched atomically by rename(2)
    history.json                activations, newest last
    outbox.sqlite               collect mode's store-and-forward queue
    collect.key                 the device's key for the collector (mode 0600)

Every command prints one JSON object on stdout (``predict`` prints an .npz instead) and
exits 0; a failure prints ``{"ok": false, "kind": ..., "error": ...}`` and exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

AGENT_VERSION = 1
EXIT_FAILED = 2
HERE = Path(__file__).resolve().parent
_CHUNK = 1 << 16


class AgentError(Exception):
    """A failure the agent reports as JSON; ``kind`` is a short machine-readable tag."""

    def __init__(self, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.extra = extra


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _version(dist: str) -> Optional[str]:
    try:
        import importlib.metadata

        return importlib.metadata.version(dist)
    except Exception:
        return None


# --- the runtime -------------------------------------------------------------------------

_RUNTIMES = (("ai-edge-litert", "ai_edge_litert.interpreter"),
             ("tflite-runtime", "tflite_runtime.interpreter"))


def find_runtime() -> Dict[str, Any]:
    """The first usable interpreter: {"backend", "version", "cls"}; AgentError if none."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise AgentError("runtime-missing", f"numpy is not installed for {sys.executable}: run "
                         f"`{sys.executable} -m pip install numpy ai-edge-litert` on the device") from None
    reasons = []
    for dist, module in _RUNTIMES:
        try:
            import importlib

            cls = importlib.import_module(module).Interpreter
            return {"backend": dist, "version": _version(dist) or "unknown", "cls": cls}
        except Exception as exc:  # a compiled package can fail to import in many ways
            reasons.append(f"{dist}: {type(exc).__name__}: {exc}")
    raise AgentError("runtime-missing", "no TFLite runtime on the device (" + "; ".join(reasons) +
                     f"). Install one: `{sys.executable} -m pip install ai-edge-litert`")


def load_model(path: Path, num_threads: Optional[int] = None, reference_kernels: bool = False) -> Any:
    """An allocated interpreter for ``path``, or AgentError saying why the runtime refuses it.
    ``reference_kernels``: TFLite's reference kernels (no XNNPACK, no optimized kernels), whose
    integer arithmetic is the same on every CPU: what an exact comparison with another machine needs."""
    import importlib

    runtime = find_runtime()
    options: Dict[str, Any] = {}
    if reference_kernels:
        resolver = importlib.import_module(runtime["cls"].__module__).OpResolverType
        options["experimental_op_resolver_type"] = resolver.BUILTIN_REF
    try:
        interpreter = runtime["cls"](model_path=str(path), num_threads=num_threads, **options)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        text = str(exc).strip()
        hint = ""
        if ("Didn't find op" in text or "version" in text) and runtime["backend"] == "tflite-runtime":
            hint = (" The model needs an op (or op version) newer than tflite-runtime knows; its last "
                    "release is 2.14 (no newer runtime exists for 32-bit Raspberry Pi OS): deploy a variant "
                    "with older op versions (edgelab.compat.check_op_versions says which), or install "
                    "64-bit Raspberry Pi OS and ai-edge-litert.")
        elif "Didn't find op" in text or "version" in text:
            hint = (" The model needs an op (or op version) this runtime does not have: upgrade the "
                    "device runtime (pip install -U ai-edge-litert) or convert with an older TensorFlow.")
        raise AgentError("model-unsupported", f"{runtime['backend']} {runtime['version']} on the "
                         f"device cannot load the model: {text}.{hint}") from None
    return interpreter


def _input_arrays(interpreter: Any, seed: int = 0) -> List[Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for detail in interpreter.get_input_details():
        shape = [int(d) if int(d) > 0 else 1 for d in detail["shape"]]
        dtype = np.dtype(detail["dtype"])
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        else:
            arrays.append(rng.integers(-128 if dtype.kind == "i" else 0, 128, size=shape).astype(dtype))
    return arrays


def run_model(interpreter: Any, inputs: List[Any]) -> List[Any]:
    """Set ``inputs`` (one array per model input), invoke, return every output."""
    details = interpreter.get_input_details()
    if len(inputs) != len(details):
        raise AgentError("bad-input", f"the model takes {len(details)} input(s); got {len(inputs)}")
    for detail, value in zip(details, inputs):
        if tuple(value.shape) != tuple(int(d) for d in detail["shape"]) or value.dtype != detail["dtype"]:
            raise AgentError("bad-input", f"input {detail['name']!r} must have shape "
                             f"{tuple(int(d) for d in detail['shape'])} and dtype "
                             f"{detail['dtype'].__name__}; got {tuple(value.shape)} {value.dtype}")
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def check_sha(sha: str) -> str:
    """A release id is 64 lowercase hex digits (it becomes a folder name)."""
    if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise AgentError("bad-input", f"a release id must be 64 lowercase hex digits; got {sha[:80]!r}")
    return sha


# --- the device's releases ----------------------------------------------------------------

class Device:
    """The release store under one root folder."""

    def __init__(self, root: str) -> None:
        self.root = Path(root).expanduser()
        self.releases = self.root / "releases"
        self.incoming = self.root / "incoming"
        self.current_link = self.root / "current"
        self.history_file = self.root / "history.json"
        for folder in (self.root, self.releases, self.incoming):
            folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self):
        """One release operation at a time on this device."""
        import fcntl

        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def current(self) -> Optional[str]:
        try:
            return Path(os.readlink(self.current_link)).name
        except OSError:
            return None

    def model_path(self, sha: Optional[str] = None) -> Path:
        sha = check_sha(sha) if sha else self.current()
        if sha is None:
            raise AgentError("no-release", "no model is deployed on this device yet: deploy one first")
        path = self.releases / sha / "model.tflite"
        if not path.is_file():
            raise AgentError("no-release", f"release {sha} is not on this device")
        return path

    def meta(self, sha: str) -> Dict[str, Any]:
        try:
            return json.loads((self.releases / sha / "release.json").read_text())
        except (OSError, ValueError):
            return {"sha256": sha, "name": "model"}

    def history(self) -> List[Dict[str, Any]]:
        try:
            return json.loads(self.history_file.read_text())
        except (OSError, ValueError):
            return []

    def _write_json(self, path: Path, value: Any) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as handle:
            json.dump(value, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _fsync_root(self) -> None:
        fd = os.open(str(self.root), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def switch(self, sha: Optional[str]) -> None:
        """Point ``current`` at ``releases/<sha>`` atomically: a new symlink under a temporary
        name, renamed over ``current`` (rename(2) replaces it in one step; ``ln -sfn`` unlinks
        then creates, leaving a moment with no model). ``None`` removes ``current``."""
        if sha is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.current_link)
        else:
            tmp = self.root / f".current.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(os.path.join("releases", sha), tmp)
            os.replace(tmp, self.current_link)
        self._fsync_root()

    def previous(self) -> Optional[str]:
        """The release active before the current one (still on the device), or None."""
        current = self.current()
        for entry in reversed(self.history()):
            sha = entry["sha256"]
            if sha != current and (self.releases / sha / "model.tflite").is_file():
                return sha
        return None

    def record(self, sha: str) -> None:
        history = [e for e in self.history() if e["sha256"] != sha]
        history.append({"sha256": sha, "name": self.meta(sha).get("name"), "activated": _now()})
        self._write_json(self.history_file, history[-50:])

    def forget(self, sha: str) -> None:
        self._write_json(self.history_file, [e for e in self.history() if e["sha256"] != sha])

    def prune(self, keep: int) -> List[str]:
        """Delete releases beyond the ``keep`` most recently activated (never the current)."""
        order = [e["sha256"] for e in reversed(self.history())]
        keep_set = set(order[:keep]) | {self.current()}
        removed = []
        for folder in self.releases.iterdir():
            if folder.name not in keep_set:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        self._write_json(self.history_file, [e for e in self.history() if e["sha256"] in keep_set])
        return removed

    def release_list(self) -> List[Dict[str, Any]]:
        return [self.meta(p.name) for p in sorted(self.releases.iterdir()) if (p / "model.tflite").is_file()]


# --- commands -----------------------------------------------------------------------------

def _read_os_release() -> Optional[str]:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def _cpu_model() -> Optional[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or None
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), value.strip())
    return (found.get("Model") or found.get("model name") or found.get("Hardware")
            or platform.processor() or None)


def _ram_bytes() -> Optional[int]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _device_tree_model() -> Optional[str]:
    """The board's name from the device tree (every Raspberry Pi has one), or None."""
    for path in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
        try:
            text = Path(path).read_bytes().rstrip(b"\x00").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if text:
            return text
    return None


def emulation_evidence() -> List[str]:
    """Why this process seems to run under a user-mode emulator (qemu-user); [] if nothing says so.

    qemu answers the guest's own ``/proc/self/...`` paths itself (``exe`` is the guest program),
    but the kernel's view of a process is the emulator's: the interpreter binfmt_misc started
    shows in ``/proc/<pid>/exe`` when reached through a path qemu does not rewrite, and in the
    parent's (the login shell, itself emulated)."""
    evidence = []
    for path in (f"/proc/./{os.getpid()}/exe", "/proc/./self/exe", f"/proc/{os.getppid()}/exe"):
        with contextlib.suppress(OSError):
            target = os.readlink(path)
            if "qemu" in target:  # e.g. /usr/libexec/qemu-binfmt/aarch64-binfmt-P, /usr/bin/qemu-arm-static
                evidence.append(f"{path} is {target}")
    return evidence


def device_facts() -> Dict[str, Any]:
    """What the device says about itself, read on the device: CPU model (``/proc/cpuinfo``), board
    (device tree), kernel, memory, OS, and whether an emulator runs this process."""
    evidence = emulation_evidence()
    return {"cpu_model": _cpu_model(), "device_tree_model": _device_tree_model(),
            "kernel": platform.release(), "ram_bytes": _ram_bytes(), "os": _read_os_release(),
            "emulated": bool(evidence), "emulator": "qemu-user" if evidence else None,
            "emulation_evidence": evidence}


def cmd_info(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    runtime: Optional[Dict[str, str]] = None
    runtime_error = None
    try:
        found = find_runtime()
        runtime = {"backend": found["backend"], "version": found["version"]}
    except AgentError as exc:
        runtime_error = str(exc)
    return {
        "hostname": socket.gethostname(), "machine": platform.machine(), "system": platform.system(),
        "kernel": platform.release(), "os": _read_os_release(), "cpu": _cpu_model(),
        "cpu_count": os.cpu_count() or 1, "ram_bytes": _ram_bytes(),
        "python": platform.python_version(), "python_executable": sys.executable,
        "numpy": _version("numpy"), "runtime": runtime, "runtime_error": runtime_error,
        "agent_version": AGENT_VERSION, "root": str(device.root.resolve()),
        "current": device.current(), "user": os.environ.get("USER") or os.environ.get("LOGNAME"),
        "simulated": args.profile is not None, "profile": args.profile, "scale": args.scale,
        **device_facts(),
    }


def cmd_receive(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """Read the model from stdin into a temporary name, check size and sha256, then move it
    into ``releases/<sha256>/``. A cut upload never reaches ``releases/``."""
    import select

    sha, size = check_sha(args.sha256), args.size
    if size < 1:
        raise AgentError("bad-input", f"--size must be >= 1; got {size}")
    for stale in device.incoming.glob("*.part"):  # left by a cut upload whose agent is gone
        with contextlib.suppress(ValueError, OSError):
            pid = int(stale.name.split(".")[1])
            if not _alive(pid):
                stale.unlink()
    tmp = device.incoming / f"{sha}.{os.getpid()}.part"
    digest, received = hashlib.sha256(), 0
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    try:
        with open(tmp, "wb") as handle:
            while True:
                # A link that dies silently (no FIN/RST) must not leave this agent waiting forever.
                if not select.select([stdin], [], [], args.idle_timeout)[0]:
                    raise AgentError("upload-incomplete", f"upload stalled: no data for "
                                     f"{args.idle_timeout:g} s after {received} of {size} bytes")
                chunk = stdin.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > size:
                    raise AgentError("upload-mismatch", f"received more than the {size} bytes announced")
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if received != size:
            raise AgentError("upload-incomplete", f"upload cut: received {received} of {size} bytes")
        if digest.hexdigest() != sha:
            raise AgentError("upload-mismatch", f"sha256 of the upload is {digest.hexdigest()}, "
                             f"expected {sha}: the file changed in transit")
        with device.locked():
            folder = device.releases / sha
            if not (folder / "model.tflite").is_file():
                folder.mkdir(exist_ok=True)
                os.replace(tmp, folder / "model.tflite")
            device._write_json(folder / "release.json", {"sha256": sha, "name": args.name,
                                                         "size_bytes": size, "received": _now()})
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return {"ok": True, "sha256": sha, "size_bytes": size}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(interpreter: Any) -> Dict[str, Any]:
    def tensors(details: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [{"name": d["name"], "shape": [int(s) for s in d["shape"]],
                 "dtype": d["dtype"].__name__} for d in details]

    return {"inputs": tensors(interpreter.get_input_details()),
            "outputs": tensors(interpreter.get_output_details())}


def cmd_smoke_load(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    interpreter = load_model(device.model_path(args.sha256))
    return dict({"ok": True}, **_describe(interpreter))


def health_check(path: Path) -> Dict[str, Any]:
    """Load the model afresh, run it on seeded inputs, and check every float output is finite."""
    import numpy as np

    start = time.perf_counter()
    interpreter = load_model(path)
    outputs = run_model(interpreter, _input_arrays(interpreter))
    problems = [f"output {i} has NaN or infinite values" for i, out in enumerate(outputs)
                if out.dtype.kind == "f" and not np.all(np.isfinite(out))]
    return {"ok": not problems, "problems": problems,
            "seconds": round(time.perf_counter() - start, 4)}


def cmd_health(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    path = device.current_link / "model.tflite" if args.sha256 is None else device.model_path(args.sha256)
    if args.sha256 is None and device.current() is None:
        raise AgentError("no-release", "no model is deployed on this device yet: deploy one first")
    result = health_check(path)
    result["release"] = args.sha256 or device.current()
    return result


def _fresh_health(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """Run ``health`` on ``current`` in a new process, as a restarted service would load it."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--root", str(device.root), "health"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=args.health_timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "problems": [f"health check took more than {args.health_timeout} s"]}
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "problems": [f"health check crashed: {proc.stderr.strip()[-500:]}"]}
    if not result.get("ok", False) and "problems" not in result:
        result["problems"] = [result.get("error", "health check failed")]
    return result


def cmd_activate(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """Smoke-load, switch ``current`` atomically, health-check, roll back on failure, prune."""
    sha = args.sha256
    with device.locked():
        path = device.model_path(sha)
        before = device.current()
        try:
            load_model(path)  # smoke-load before anything changes
        except AgentError as exc:
            if sha != before:
                shutil.rmtree(device.releases / sha, ignore_errors=True)
            raise AgentError(exc.kind, f"smoke-load failed, nothing was switched: {exc}",
                             stage="smoke-load", current=before) from None
        device.switch(sha)
        health = _fresh_health(device, args)
        if not health.get("ok"):
            device.switch(before)
            if sha != before:
                shutil.rmtree(device.releases / sha, ignore_errors=True)
                device.forget(sha)
            raise AgentError("health-failed", "health check failed after the switch (" +
                             "; ".join(health.get("problems", [])) + f"); rolled back to {before}",
                             stage="health", current=device.current(), health=health)
        device.record(sha)
        removed = device.prune(args.keep)
    return {"ok": True, "sha256": sha, "previous": before, "health": health, "pruned": removed}


def cmd_rollback(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """Switch back to the previous release (or to no model if there was none), health-checked."""
    with device.locked():
        before = device.current()
        target = None if args.to_nothing else (args.to or device.previous())
        if target is None and not args.to_nothing:
            raise AgentError("no-previous", "there is no previous release on this device to roll back to")
        if target is not None:
            device.model_path(target)
        device.switch(target)
        health = _fresh_health(device, args) if target else {"ok": True, "problems": []}
        if not health.get("ok"):
            device.switch(before)
            raise AgentError("health-failed", f"release {target} fails its health check; kept {before}")
        if before is not None:
            device.forget(before)
        if target is not None:
            device.record(target)
    return {"ok": True, "current": target, "previous": before, "health": health}


def cmd_status(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    return {"ok": True, "current": device.current(), "previous": device.previous(),
            "history": device.history(), "releases": device.release_list()}


def cmd_benchmark(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """The benchmark protocol of ``bench.py``; a simulated device scales the timings."""
    sys.path.insert(0, str(HERE))
    import bench

    path = device.model_path(args.sha256)
    sha = path.parent.name
    runtime = find_runtime()
    interpreter = load_model(path, num_threads=args.num_threads)
    timed: List[List[int]] = []
    time_invokes = bench.time_invokes

    def keeping(invoke: Any, runs: int) -> List[int]:  # the report keeps the raw timings too
        samples = time_invokes(invoke, runs)
        timed.append(samples)
        return samples

    bench.time_invokes = keeping
    try:
        report = bench.run_benchmark(
            interpreter, model_name=device.meta(sha).get("name") or "model", model_sha256=sha,
            model_size_bytes=path.stat().st_size, warmup_runs=args.warmup_runs, runs=args.runs,
            num_threads=args.num_threads, backend=runtime["backend"], backend_version=runtime["version"],
            simulated=args.profile is not None, profile=args.profile)
    finally:
        bench.time_invokes = time_invokes
    if args.scale != 1.0:
        report["latency_ms"] = {k: v * args.scale for k, v in report["latency_ms"].items()}
    report["device"].update(device_facts())
    report["samples_ms"] = [ns / 1e6 * args.scale for ns in timed[-1]]
    return report


def cmd_predict(device: Device, args: argparse.Namespace) -> bytes:
    """Inputs as .npy (one input) or .npz (one array per input, in order) on stdin;
    outputs as .npz (arr_0, arr_1, ...) on stdout."""
    import numpy as np

    data = sys.stdin.buffer.read()
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise AgentError("bad-input", f"inputs must be sent as .npy or .npz: {exc}") from None
    inputs = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    outputs = run_model(load_model(device.model_path(args.sha256)), inputs)
    out = io.BytesIO()
    np.savez(out, *outputs)
    return out.getvalue()


def cmd_predict_each(device: Device, args: argparse.Namespace) -> bytes:
    """Many samples of a one-input model: an .npy of shape (n, ...) on stdin, each row run in turn
    through the model's batch-1 input; the first output's rows as .npz ``arr_0`` on stdout."""
    import numpy as np

    try:
        rows = np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise AgentError("bad-input", f"inputs must be sent as .npy: {exc}") from None
    interpreter = load_model(device.model_path(args.sha256), reference_kernels=args.reference_kernels)
    if len(interpreter.get_input_details()) != 1 or not hasattr(rows, "shape") or rows.ndim < 1:
        raise AgentError("bad-input", "predict-each needs a one-input model and an .npy of shape (n, ...)")
    outputs = [run_model(interpreter, [rows[i:i + 1]])[0][0] for i in range(len(rows))]
    out = io.BytesIO()
    np.savez(out, np.stack(outputs) if outputs else np.zeros((0,)))
    return out.getvalue()


def cmd_collect(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    """Far-edge loop: take a reading, predict, commit to the outbox, forward when the link is up."""
    sys.path.insert(0, str(HERE))
    import collect

    if _collect_pid(device) is not None:
        raise AgentError("collect-running", "collect is already running on this device")
    sha = device.current()
    interpreter = load_model(device.model_path())
    detail = interpreter.get_input_details()[0]
    outbox = collect.Outbox(str(device.root / "outbox.sqlite"))
    pid_file = device.root / "collect.pid"
    pid_file.with_suffix(".tmp").write_text(str(os.getpid()))
    os.replace(pid_file.with_suffix(".tmp"), pid_file)
    name = args.device_id or socket.gethostname()
    key = None
    if args.collector:  # written by the host (Target.start_collect), mode 0600; never on a command line
        key_file = device.root / "collect.key"
        try:
            key = collect.check_key(key_file.read_text().strip())
        except (OSError, ValueError) as exc:
            raise AgentError("no-key", f"no valid device key in {key_file} ({exc}): start collecting from "
                                       "the host (Target.start_collect), which provisions it") from None
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    backoff, next_try, taken, forwarded, errors = 0.0, 0.0, 0, 0, 0
    while True:
        seq = outbox.next_seq()
        if args.count is None or seq < args.count:
            reading = collect.synthetic_reading(detail["shape"], detail["dtype"], args.seed, seq)
            outputs = run_model(interpreter, [reading])
            outbox.add(name, seq, {"model": sha, "taken": _now(),
                                   "prediction": [o.tolist() for o in outputs]})
            taken += 1
        if args.collector and time.monotonic() >= next_try and outbox.count(name):
            acked, error = collect.forward(outbox, args.collector, key, name, batch=args.batch,
                                           timeout=args.link_timeout)
            forwarded += acked
            if error:  # link down: back off, keep everything
                errors += 1
                backoff = min(max(2 * backoff, args.interval), 5.0)
                next_try = time.monotonic() + backoff
            else:
                backoff = 0.0
        done = args.count is not None and outbox.next_seq() >= args.count
        if done and (not args.collector or outbox.count(name) == 0):
            break
        if deadline is not None and time.monotonic() > deadline:
            break
        time.sleep(args.interval)
    status = outbox.status()
    outbox.close()
    return {"ok": True, "taken": taken, "forwarded": forwarded, "link_errors": errors, **status}


def cmd_outbox(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import collect

    path = device.root / "outbox.sqlite"
    if not path.exists():
        return {"ok": True, "pending": 0, "next_seq": 0, "running": False}
    outbox = collect.Outbox(str(path))
    status = outbox.status()
    outbox.close()
    return dict(status, ok=True, running=_collect_pid(device) is not None)


def _collect_pid(device: Device) -> Optional[int]:
    try:
        pid = int((device.root / "collect.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:  # a zombie or a reused pid is not our collector
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"collect" not in cmdline:
            return None
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return None if state == "Z" else pid
    except OSError:
        return pid


def cmd_collect_stop(device: Device, args: argparse.Namespace) -> Dict[str, Any]:
    pid = _collect_pid(device)
    if pid is not None:
        os.kill(pid, signal.SIGKILL if args.kill else signal.SIGTERM)
        for _ in range(100):
            if _collect_pid(device) is None:
                break
            time.sleep(0.05)
    return {"ok": True, "stopped": pid}


# --- command line -------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent.py", description="edgelab device agent")
    parser.add_argument("--root", default="~/edgelab", help="device folder (default ~/edgelab)")
    parser.add_argument("--profile", default=None, help="simulated device profile (a simulated target)")
    parser.add_argument("--scale", type=float, default=1.0, help="latency scale of a simulated device")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info")
    sub.add_parser("status")
    p = sub.add_parser("receive")
    p.add_argument("--sha256", required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--name", default="model")
    p.add_argument("--idle-timeout", type=float, default=60.0, help="seconds without data before giving up")
    for name in ("smoke-load", "health", "benchmark", "predict", "predict-each"):
        p = sub.add_parser(name)
        p.add_argument("--sha256", default=None)
        if name == "benchmark":
            p.add_argument("--runs", type=int, default=100)
            p.add_argument("--warmup-runs", type=int, default=10)
            p.add_argument("--num-threads", type=int, default=None)
        if name == "predict-each":
            p.add_argument("--reference-kernels", action="store_true",
                           help="TFLite's reference kernels: the same integer results on every CPU")
    for name in ("activate", "rollback"):
        p = sub.add_parser(name)
        p.add_argument("--health-timeout", type=float, default=60.0)
        if name == "activate":
            p.add_argument("--sha256", required=True)
            p.add_argument("--keep", type=int, default=3)
        else:
            p.add_argument("--to", default=None)
            p.add_argument("--to-nothing", action="store_true", help="serve no model (undo a first deploy)")
    p = sub.add_parser("collect")
    p.add_argument("--collector", default=None, help="collector URL, e.g. http://10.0.0.2:8080")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--count", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device-id", default=None)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--link-timeout", type=float, default=5.0)
    p.add_argument("--max-seconds", type=float, default=None)
    sub.add_parser("outbox")
    p = sub.add_parser("collect-stop")
    p.add_argument("--kill", action="store_true")
    return parser


COMMANDS = {"info": cmd_info, "status": cmd_status, "receive": cmd_receive, "smoke-load": cmd_smoke_load,
            "health": cmd_health, "activate": cmd_activate, "rollback": cmd_rollback,
            "benchmark": cmd_benchmark, "predict": cmd_predict, "predict-each": cmd_predict_each,
            "collect": cmd_collect,
            "outbox": cmd_outbox, "collect-stop": cmd_collect_stop}


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = Device(args.root)
        result = COMMANDS[args.command](device, args)
    except AgentError as exc:
        print(json.dumps(dict({"ok": False, "kind": exc.kind, "error": str(exc)}, **exc.extra)))
        return EXIT_FAILED
    except Exception as exc:  # report, do not hide: the host shows it
        print(json.dumps({"ok": False, "kind": "agent-crash", "error": f"{type(exc).__name__}: {exc}"}))
        return EXIT_FAILED
    if isinstance(result, bytes):
        sys.stdout.buffer.write(result)
        sys.stdout.flush()
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
