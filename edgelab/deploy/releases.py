"""A deploy target: the same release workflow over SSH (a real Pi) or locally (a simulated one).

``deploy(model)``: check the model locally (a TFLite file the local runtime loads), ship the
agent if it changed, upload the model to a temporary name on the device (the agent checks
size and sha256), smoke-load it with the device's runtime, switch ``current`` atomically,
health-check it in a fresh process, roll back automatically if that fails, keep the last
``keep`` releases. Any failure raises :class:`~edgelab.errors.DeployError` (or
:class:`~edgelab.errors.ModelError` before the device is touched) saying what the device
serves now.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence, Union

from edgelab.deploy.collect import Collector, check_device_id, check_key
from edgelab.errors import DeployError, ModelError, RuntimeMissingError
from edgelab.runtime import ModelSource, load_interpreter, read_model_bytes

EDGELAB_DIR = Path(__file__).resolve().parent.parent
# Shipped to the device: the agent and the two stdlib+numpy modules it imports as siblings.
AGENT_FILES = {"agent.py": EDGELAB_DIR / "deploy" / "agent.py",
               "bench.py": EDGELAB_DIR / "bench.py",
               "collect.py": EDGELAB_DIR / "deploy" / "collect.py"}
DEFAULT_KEEP = 3


class Transport(Protocol):
    """How commands reach a device: :class:`~edgelab.deploy.ssh.SSHTransport` or a local one."""

    name: str

    def run(self, argv: Sequence[str], stdin: Optional[bytes] = None, timeout: float = 600.0,
            progress: Any = None) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Release:
    """A model now serving on a device."""

    target: str
    sha256: str
    name: str
    previous: Optional[str]
    health: Dict[str, Any] = field(default_factory=dict)
    pruned: List[str] = field(default_factory=list)


def device_path(path: str) -> str:
    """A device path for a command run in the login folder: ``~/x`` becomes ``x``."""
    path = str(path)
    if path in ("~", "~/"):
        return "."
    return path[2:] if path.startswith("~/") else path


def agent_hashes() -> Dict[str, str]:
    """sha256 of each shipped agent file, as this edgelab has them."""
    missing = [str(p) for p in AGENT_FILES.values() if not p.is_file()]
    if missing:
        raise DeployError(f"the device agent is incomplete in this edgelab install: missing {missing}")
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(AGENT_FILES.items())}


class Target:
    """One device (real or simulated) and its releases. Use :func:`edgelab.deploy.ssh_target`
    or :func:`edgelab.deploy.simulated_target` to make one."""

    def __init__(self, transport: Transport, *, python: str, root: str, profile: Optional[str] = None,
                 scale: float = 1.0, python_named_by: str = "python=") -> None:
        self.transport = transport
        self.python = device_path(python)
        self.python_named_by = python_named_by  # where the device's Python was set (for errors)
        self.root = device_path(root)
        self.profile = profile
        self.scale = float(scale)
        self.simulated = profile is not None
        self._agent_ok = False
        self._runtime: Optional[Dict[str, Any]] = None

    @property
    def name(self) -> str:
        return self.transport.name

    def __repr__(self) -> str:
        kind = f"simulated {self.profile}" if self.simulated else "ssh"
        return f"<Target {self.name} ({kind}), root {self.root}>"

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- talking to the agent --

    def _agent_argv(self, command: str, *args: Any) -> List[str]:
        argv = [self.python, f"{self.root}/agent/agent.py", "--root", self.root]
        if self.simulated:
            argv += ["--profile", str(self.profile), "--scale", repr(self.scale)]
        return argv + [command] + [str(a) for a in args]

    def _device_hashes(self, folder: str) -> Dict[str, str]:
        """sha256 of the agent files found in ``folder`` on the device, hashed there (sha256sum);
        a missing file, or a device without sha256sum, is simply absent from the answer."""
        script = 'cd "$1" 2>/dev/null || exit 0; shift; sha256sum -- "$@" 2>/dev/null; exit 0'
        found = self.transport.run(["sh", "-c", script, "sh", folder, *sorted(AGENT_FILES)])
        hashes = {}
        for line in found.stdout.decode(errors="replace").splitlines():
            digest, _, name = line.strip().partition("  ")
            if name in AGENT_FILES and len(digest) == 64:
                hashes[name] = digest
        return hashes

    def ensure_agent(self) -> None:
        """Hash the agent files on the device and upload each one that is missing or differs from
        this edgelab's (a stale or tampered file is replaced, never trusted), then check again."""
        if self._agent_ok:
            return
        wanted = agent_hashes()
        folder = f"{self.root}/agent"
        found = self._device_hashes(folder)
        stale = [name for name, digest in wanted.items() if found.get(name) != digest]
        if stale:
            for name in stale:
                self._write_file(folder, name, AGENT_FILES[name].read_bytes())
            found = self._device_hashes(folder)
            wrong = [name for name in wanted if found.get(name) != wanted[name]]
            if wrong:
                raise DeployError(f"{self.name}: the agent files {wrong} in {folder} do not match after "
                                  "upload (is sha256sum installed there, is the disk full?)")
        self._agent_ok = True

    def _write_file(self, folder: str, name: str, data: bytes) -> None:
        """Write a file on the device (readable by its owner only) under a temporary name, then
        rename it into place."""
        script = 'set -e; umask 077; mkdir -p "$1"; cat > "$1/.$2.tmp"; mv -f "$1/.$2.tmp" "$1/$2"'
        result = self.transport.run(["sh", "-c", script, "sh", folder, name], stdin=data)
        if result.returncode != 0:
            raise DeployError(f"{self.name}: cannot write {folder}/{name}: "
                              f"{result.stderr.decode(errors='replace').strip()}")

    def call(self, command: str, *args: Any, stdin: Optional[bytes] = None, timeout: float = 600.0,
             progress: Any = None, raw: bool = False) -> Any:
        """Run one agent command; return its JSON answer (or raw stdout bytes if ``raw``).

        A failed command raises DeployError carrying the agent's answer as ``.answer``."""
        self.ensure_agent()
        result = self.transport.run(self._agent_argv(command, *args), stdin=stdin, timeout=timeout,
                                    progress=progress)
        if raw and result.returncode == 0:
            return result.stdout
        text = result.stdout.decode(errors="replace").strip()
        try:
            answer = json.loads(text.splitlines()[-1]) if text else None
        except ValueError:
            answer = None
        if result.returncode != 0 or not isinstance(answer, dict) or answer.get("ok") is False:
            if isinstance(answer, dict) and "error" in answer:
                message = answer["error"]
            else:
                message = (result.stderr.decode(errors="replace").strip()[-800:] or text[-800:]
                           or f"exit status {result.returncode}")
                if result.returncode == 127 or "No such file" in message:
                    message += (f" (is {self.python!r} the device's Python? It was set by "
                                f"{self.python_named_by}. Create it with `python3 -m venv ~/edgelab-venv && "
                                "~/edgelab-venv/bin/pip install numpy ai-edge-litert` (32-bit Pi OS: see the "
                                "README), or name the right one there)")
            error = DeployError(f"{self.name}: {command} failed: {message}")
            error.answer = answer if isinstance(answer, dict) else {}
            raise error
        return answer

    # -- the public workflow --

    def info(self) -> Dict[str, Any]:
        """Architecture, CPU, RAM, OS, Python and runtime versions of the device."""
        return self.call("info")

    def status(self) -> Dict[str, Any]:
        """Current and previous release, activation history and stored releases."""
        return self.call("status")

    def upload(self, model: ModelSource, name: Optional[str] = None, progress: Any = None) -> Release:
        """Check ``model`` locally, then store it on the device as ``releases/<sha256>`` (not active)."""
        data, _label, name = checked_model(model, name)
        return self._send(data, name, progress)

    def _send(self, data: bytes, name: str, progress: Any = None) -> Release:
        sha = hashlib.sha256(data).hexdigest()
        self.call("receive", "--sha256", sha, "--size", len(data), "--name", name, stdin=data,
                  progress=progress)
        return Release(self.name, sha, name, previous=None)

    def deploy(self, model: ModelSource, *, name: Optional[str] = None, keep: int = DEFAULT_KEEP,
               progress: Any = None) -> Release:
        """Upload, verify, smoke-load, switch atomically, health-check (rolling back if it fails)."""
        if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= 100:
            raise ValueError(f"keep must be an integer from 1 to 100 (releases kept on the device); "
                             f"got {keep!r}")
        data, _label, name = checked_model(model, name)
        self._check_ops_for_device(data, name)
        uploaded = self._send(data, name, progress)
        answer = self.call("activate", "--sha256", uploaded.sha256, "--keep", keep)
        return Release(self.name, uploaded.sha256, uploaded.name, previous=answer.get("previous"),
                       health=answer.get("health", {}), pruned=answer.get("pruned", []))

    def _check_ops_for_device(self, data: bytes, name: str) -> None:
        """Where edgelab knows the device runtime's op versions (``edgelab.compat``), refuse a
        model with newer ones here, before anything is sent. The device's smoke-load checks the rest."""
        if self._runtime is None:
            self._runtime = self.info().get("runtime") or {}
        backend, version = self._runtime.get("backend"), str(self._runtime.get("version", ""))
        try:
            from edgelab import compat
            from edgelab.convert import ConvertedModel
        except ImportError:
            return
        key = f"{backend} {'.'.join(version.split('.')[:2])}"
        if key not in compat.runtime_op_tables():
            return
        report = compat.check_op_versions(ConvertedModel.from_bytes(data, name), runtime=key)
        if not report.ok:
            raise ModelError(f"{self.name} runs {backend} {version}, which cannot load {name}: "
                             + "; ".join(report.problems) + " (checked on this machine; nothing was sent "
                             "to the device)")

    def rollback(self) -> Dict[str, Any]:
        """Switch back to the previous release (health-checked)."""
        return self.call("rollback")

    def health(self) -> Dict[str, Any]:
        """Load the serving model afresh and check it runs and gives finite outputs."""
        return self.call("health")

    def benchmark(self, model: Optional[ModelSource] = None, *, runs: int = 100, warmup_runs: int = 10,
                  num_threads: Optional[int] = None, name: Optional[str] = None) -> Dict[str, Any]:
        """Run the benchmark protocol ON the device; returns an ``edgelab.benchmark/1`` report.

        With ``model``, it is uploaded (not activated) and measured; otherwise the serving one.
        A simulated target's report says ``"simulated": true`` and scales the timings."""
        for label, value, low in (("runs", runs, 1), ("warmup_runs", warmup_runs, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 1_000_000:
                raise ValueError(f"{label} must be an integer from {low} to 1000000; got {value!r}")
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be an integer >= 1 or None; got {num_threads!r}")
        args: List[Any] = ["--runs", runs, "--warmup-runs", warmup_runs]
        if num_threads is not None:
            args += ["--num-threads", num_threads]
        if model is not None:
            args += ["--sha256", self.upload(model, name).sha256]
        return self.call("benchmark", *args)

    def predict(self, inputs: Union[Any, Sequence[Any]]) -> List[Any]:
        """Run the serving model on the device; ``inputs`` is one array or one per model input."""
        import numpy as np

        buffer = io.BytesIO()
        if isinstance(inputs, np.ndarray):
            np.save(buffer, inputs, allow_pickle=False)
        else:
            np.savez(buffer, *[np.asarray(x) for x in inputs])
        raw = self.call("predict", stdin=buffer.getvalue(), raw=True)
        with np.load(io.BytesIO(raw), allow_pickle=False) as outputs:
            return [outputs[f"arr_{i}"] for i in range(len(outputs.files))]

    def predict_each(self, model: ModelSource, x: Any, *, reference_kernels: bool = False) -> Any:
        """Float outputs, one row per sample, of ``model`` SERVING on the device for preprocessed
        float inputs ``x`` (shape ``(n, ...)``): what :func:`edgelab.evaluate.predict` computes
        here with the same file. The quantization of an int8 model is read from ``model`` here
        (the same bytes: its sha256 must be the serving release); the device runs the integers.
        ``reference_kernels``: run TFLite's reference kernels on the device (as
        ``evaluate.predict(..., reference_kernels=True)`` does here): int8 outputs then equal this
        machine's exactly, where the optimized kernels of another CPU may round a step apart."""
        import numpy as np

        from edgelab.evaluate import dequantize_output, quantize_input
        from edgelab.runtime import load_interpreter

        data, label = read_model_bytes(model)
        sha = hashlib.sha256(data).hexdigest()
        serving = self.status().get("current")
        if serving != sha:
            raise DeployError(f"{self.name} serves {str(serving)[:12]}, not {label} ({sha[:12]}): "
                              "deploy it first")
        loaded = load_interpreter(data)
        detail, out = loaded.input_details[0], loaded.output_details[0]
        x = np.asarray(x)
        expected = tuple(int(d) for d in detail["shape"][1:])
        if x.ndim < 1 or tuple(x.shape[1:]) != expected or len(x) == 0:
            raise ValueError(f"x must have shape (n, {', '.join(map(str, expected))}) with n >= 1; "
                             f"got {x.shape}")
        buffer = io.BytesIO()
        np.save(buffer, quantize_input(x, detail), allow_pickle=False)
        flags = ["--reference-kernels"] if reference_kernels else []
        raw = self.call("predict-each", *flags, stdin=buffer.getvalue(), raw=True)
        with np.load(io.BytesIO(raw), allow_pickle=False) as outputs:
            return dequantize_output(outputs["arr_0"], out)

    # -- far edge --

    def start_collect(self, collector: Union[Collector, str, None], *, key: Optional[str] = None,
                      interval: float = 1.0, count: Optional[int] = None, device_id: Optional[str] = None,
                      seed: int = 0, batch: int = 100, link_timeout: float = 5.0) -> None:
        """Start the collect loop in the background on the device (it survives this connection):
        predict on each reading, store it in the SQLite outbox, forward to ``collector``.

        ``collector`` is a :class:`~edgelab.deploy.collect.Collector` (the device is enrolled
        there and gets a new key), or its URL with the ``key`` it enrolled ``device_id`` with, or
        None (store only). The key is written to the device (mode 0600), never on a command line."""
        if not (isinstance(interval, (int, float)) and 0 < interval <= 86400):
            raise ValueError(f"interval must be from 0 to 86400 seconds; got {interval!r}")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError(f"count must be an integer >= 1 or None; got {count!r}")
        if device_id is not None:
            check_device_id(device_id)
        url = collector.url if isinstance(collector, Collector) else collector
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise ValueError("collector must be a Collector or an http:// or https:// URL; "
                             f"got {collector!r}")
        if isinstance(collector, str) and (key is None or device_id is None):
            raise ValueError("with a collector URL, key and device_id are required (the key the collector "
                             "enrolled device_id with: Collector.enroll(device_id)); or pass the Collector")
        if key is not None:
            check_key(key)
        args: List[Any] = ["--interval", interval, "--seed", seed, "--batch", batch,
                           "--link-timeout", link_timeout]
        if self.status()["current"] is None:
            raise DeployError(f"{self.name}: no model is deployed: deploy one before start_collect()")
        if self.outbox()["running"]:
            raise DeployError(f"{self.name}: collect is already running there; stop_collect() first")
        if isinstance(collector, Collector):
            device_id = device_id or check_device_id(self.info()["hostname"])
            key = collector.enroll(device_id, key)
        if url is not None:
            self._write_file(self.root, "collect.key", key.encode())
        for flag, value in (("--collector", url), ("--count", count), ("--device-id", device_id)):
            if value is not None:
                args += [flag, value]
        argv = self._agent_argv("collect", *args)
        log = f"{self.root}/collect.log"
        script = 'log="$1"; shift; nohup "$@" >>"$log" 2>&1 </dev/null & echo $!'
        result = self.transport.run(["sh", "-c", script, "sh", log, *argv])
        if result.returncode != 0:
            raise DeployError(f"{self.name}: cannot start collect: {result.stderr.decode(errors='replace')}")
        self._wait_collect_started(result.stdout.decode().strip(), log)

    def _wait_collect_started(self, pid: str, log: str, timeout: float = 30.0) -> None:
        """Return once the agent started as ``pid`` has registered as the collector; raise with
        the end of its log if it exited first."""
        probe = 'cat "$1" 2>/dev/null; echo; kill -0 "$2" 2>/dev/null && echo alive || echo dead'
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.transport.run(["sh", "-c", probe, "sh", f"{self.root}/collect.pid", pid]) \
                .stdout.decode().split()
            if lines and lines[0] == pid:
                return
            if lines and lines[-1] == "dead":
                tail = self.transport.run(["tail", "-n", "3", log]).stdout.decode(errors="replace").strip()
                raise DeployError(f"{self.name}: collect exited at once: {tail}")
            time.sleep(0.1)
        raise DeployError(f"{self.name}: collect did not start within {timeout:g} s "
                          f"(see {log} on the device)")

    def stop_collect(self, kill: bool = False) -> Dict[str, Any]:
        """Stop the collect loop (``kill=True``: SIGKILL, as a power cut would)."""
        return self.call("collect-stop", *(["--kill"] if kill else []))

    def outbox(self) -> Dict[str, Any]:
        """Readings waiting in the outbox, the next reading number, and whether collect runs."""
        return self.call("outbox")


def checked_model(model: ModelSource, name: Optional[str]) -> tuple[bytes, str, str]:
    """The model's bytes, where they came from, and its release name: read and loaded here first
    (for a target and a fleet alike), so a bad file fails before any device changes."""
    try:
        data, label = read_model_bytes(model)
        load_interpreter(data)
    except RuntimeMissingError:
        pass  # no runtime on this machine: the device's smoke-load still checks it
    except ModelError as exc:
        raise ModelError(f"{exc} (checked on this machine; nothing was sent to the device)") from None
    if name is None:
        is_bytes = isinstance(model, (bytes, bytearray, memoryview))
        name = "model" if is_bytes else Path(os.fspath(model)).name
    if not isinstance(name, str) or not name or len(name) > 200 or "\x00" in name:
        raise ValueError(f"name must be a non-empty string of at most 200 characters; got {name!r}")
    return data, label, name


def shell_join(argv: Sequence[str]) -> str:
    """The quoted command line (for messages and logs)."""
    return " ".join(shlex.quote(str(a)) for a in argv)
