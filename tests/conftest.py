"""Shared fixtures: real models and real extra environments, built once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tools.arm_root import add_authorized_key, remove_authorized_key

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session", autouse=True)
def private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or fill the runner's ~/.cache/edgelab: one fresh cache per session."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


def require(condition: bool, what: str) -> None:
    """Skip when a real component is missing locally, but fail in CI (CI=true)."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{what} is missing in CI: .ci/run must install it")
        pytest.skip(f"{what} is not available here")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny Keras dense model converted by TensorFlow to .tflite (float32, and
    dynamic-range quantized: its FULLY_CONNECTED op is version 12, too new for
    tflite-runtime 2.14), with a probe input and the Keras output for it.
    TensorFlow runs in a subprocess so the test process stays light."""
    out = tmp_path_factory.mktemp("tiny_model")
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras, tensorflow as tf
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(3)])
        x = np.random.default_rng(0).normal(size=(1, 64)).astype("float32")
        np.save({str(out / "x.npy")!r}, x)
        np.save({str(out / "y.npy")!r}, model(x).numpy())
        data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        open({str(out / "tiny.tflite")!r}, "wb").write(data)
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        open({str(out / "tiny_dynamic.tflite")!r}, "wb").write(converter.convert())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    return {"path": out / "tiny.tflite", "dynamic_path": out / "tiny_dynamic.tflite",
            "x": np.load(out / "x.npy"), "y": np.load(out / "y.npy")}


def make_venv(path: Path, packages: list[str], no_deps: list[str] = ()) -> Path:
    """Create a venv at ``path`` with ``packages`` (and ``no_deps`` without dependencies)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + packages, check=True, timeout=600, capture_output=True)
    if no_deps:
        subprocess.run(pip + ["--no-deps", *no_deps], check=True, timeout=600, capture_output=True)
    return python


@pytest.fixture(scope="session")
def legacy_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv like an old Pi install: numpy<2 and tflite-runtime 2.14, no LiteRT, no TensorFlow."""
    return make_venv(tmp_path_factory.mktemp("legacy") / "venv",
                     ["numpy<2", "tflite-runtime==2.14.0"])


@pytest.fixture(scope="session")
def broken_legacy_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with numpy 2 and tflite-runtime 2.14 forced in: tflite-runtime cannot import."""
    return make_venv(tmp_path_factory.mktemp("legacy_np2") / "venv",
                     ["numpy>=2"], no_deps=["tflite-runtime==2.14.0"])


def run_edgelab(python: Path, code: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``code`` with ``python`` and this checkout's edgelab on the path (no install)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([str(python), "-c", textwrap.dedent(code)], env=env, text=True,
                          capture_output=True, timeout=120, **kwargs)


# --- A stand-in Raspberry Pi: real OpenSSH servers on loopback, user `pi`, a device venv. ---

SSHD = Path("/usr/sbin/sshd")
DEVICE_PYTHON = Path("/usr/bin/python3")  # the pi user cannot reach root's pyenv
PI_HOME = Path("/home/pi")
PI_VENV = PI_HOME / "edgelab-venv"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pi_uid_gid() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("pi")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture(scope="session")
def pi_user() -> str:
    """A non-root user `pi` that can log in with a key only (created if missing)."""
    require(SSHD.exists(), "openssh-server (/usr/sbin/sshd)")
    require(os.geteuid() == 0, "root (to create the `pi` user and start sshd)")
    if subprocess.run(["id", "pi"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", "pi"], check=True)
    subprocess.run(["usermod", "-p", "*", "pi"], check=True)  # unlocked for keys, no password
    return "pi"


def _run_as_pi(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "pi", "--", *args], check=True, capture_output=True,
                          text=True, **kwargs)


@pytest.fixture(scope="session")
def pi_python(pi_user: str) -> Path:
    """The device environment of `pi`: a venv with numpy and ai-edge-litert, no TensorFlow."""
    require(DEVICE_PYTHON.exists(), "Debian python3 + python3-venv (the stand-in Pi's Python)")
    python = PI_VENV / "bin" / "python"
    probe = ["import numpy, ai_edge_litert.interpreter, importlib.util as u",
             "assert u.find_spec('tensorflow') is None"]
    if not (python.exists() and subprocess.run(
            ["runuser", "-u", "pi", "--", str(python), "-c", "; ".join(probe)],
            capture_output=True).returncode == 0):
        subprocess.run(["rm", "-rf", str(PI_VENV)], check=True)
        constraints = PI_HOME / ".edgelab-constraints.txt"  # the checkout may be unreadable to pi
        constraints.write_bytes((REPO / "constraints.txt").read_bytes())
        constraints.chmod(0o644)
        _run_as_pi([str(DEVICE_PYTHON), "-m", "venv", str(PI_VENV)], timeout=120)
        _run_as_pi([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-c", str(constraints), "numpy", "ai-edge-litert"], timeout=600)
    return python


@pytest.fixture(scope="session")
def pi_legacy_python(pi_user: str) -> Path:
    """A venv of `pi` like an old 32-bit Pi OS install: numpy<2 and tflite-runtime 2.14."""
    require(DEVICE_PYTHON.exists(), "Debian python3 + python3-venv (the stand-in Pi's Python)")
    path = PI_HOME / "legacy-venv"
    python = path / "bin" / "python"
    if not (python.exists() and subprocess.run(
            ["runuser", "-u", "pi", "--", str(python), "-c", "import tflite_runtime.interpreter"],
            capture_output=True).returncode == 0):
        subprocess.run(["rm", "-rf", str(path)], check=True)
        _run_as_pi([str(DEVICE_PYTHON), "-m", "venv", str(path)], timeout=120)
        _run_as_pi([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "numpy<2", "tflite-runtime==2.14.0"], timeout=600)
    return python


@pytest.fixture(scope="session")
def pi_bare_python(pi_user: str) -> Path:
    """A venv of `pi` without numpy or any TFLite runtime: a Pi nobody finished setting up."""
    require(DEVICE_PYTHON.exists(), "Debian python3 + python3-venv (the stand-in Pi's Python)")
    path = PI_HOME / "bare-venv"
    if not (path / "bin" / "python").exists():
        _run_as_pi([str(DEVICE_PYTHON), "-m", "venv", "--without-pip", str(path)], timeout=120)
    return path / "bin" / "python"


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory, pi_user: str) -> Iterator[dict]:
    """Two client keys: `good` is in pi's authorized_keys (beside other sessions' keys, until
    this session ends), `wrong` is not."""
    folder = tmp_path_factory.mktemp("client_keys")
    for name in ("good", "wrong"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"edgelab-test-{name}",
                        "-f", str(folder / name)], check=True)
    uid, gid = _pi_uid_gid()
    public = (folder / "good.pub").read_text()
    add_authorized_key(PI_HOME / ".ssh", public, uid, gid)
    yield {"good": folder / "good", "wrong": folder / "wrong"}
    remove_authorized_key(PI_HOME / ".ssh", public)


class SshServer:
    """One real sshd on 127.0.0.1 with its own host key and config (a stand-in Pi)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.host_key = folder / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)],
                       check=True)
        config = folder / "sshd_config"
        config.write_text(textwrap.dedent(f"""\
            Port {self.port}
            ListenAddress 127.0.0.1
            HostKey {self.host_key}
            PidFile {folder / "sshd.pid"}
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            UsePAM no
            AllowUsers pi
            MaxStartups 30
            MaxSessions 30
            """))
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=open(folder / "sshd.log", "w"))
        import socket
        import time

        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sshd did not start: " + (folder / "sshd.log").read_text()) from None
                time.sleep(0.02)

    @property
    def known_hosts_line(self) -> str:
        key_type, key = Path(str(self.host_key) + ".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}\n"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def sshd_servers(tmp_path_factory: pytest.TempPathFactory, pi_user: str, client_keys: dict) -> list:
    """Three real sshd instances (three stand-in Pis), and a known_hosts file trusting them."""
    servers = [SshServer(tmp_path_factory.mktemp(f"sshd{i}")) for i in range(3)]
    known_hosts = tmp_path_factory.mktemp("known_hosts") / "known_hosts"
    known_hosts.write_text("".join(s.known_hosts_line for s in servers))
    for server in servers:
        server.known_hosts = known_hosts
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def digits_variants(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The course's digits CNN trained once (seed 0) and converted to all four TFLite variants.

    Training and conversion run in a subprocess (TensorFlow stays out of the test process);
    returns the .keras path, the four .tflite paths, the test split and the Keras accuracy."""
    out = tmp_path_factory.mktemp("digits")
    script = textwrap.dedent(f"""
        import json, time
        import numpy as np
        from edgelab import convert, datasets, models
        start = time.perf_counter()
        trained = models.train_digits_cnn(seed=0)
        rep = datasets.representative_samples(trained.data.x_train, 200)
        variants = convert.convert_all(trained.model, rep, name="digits")
        paths = {{v: str(c.save({str(out)!r})) for v, c in variants.items()}}
        trained.model.save({str(out / "digits.keras")!r})
        np.savez({str(out / "data.npz")!r}, x_train=trained.data.x_train, y_train=trained.data.y_train,
                 x_test=trained.data.x_test, y_test=trained.data.y_test, rep=rep)
        json.dump({{"paths": paths, "keras_accuracy": trained.test_accuracy,
                   "train_seconds": trained.train_seconds,
                   "converter_paths": {{v: c.converter_path for v, c in variants.items()}},
                   "seconds": time.perf_counter() - start}}, open({str(out / "meta.json")!r}, "w"))
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    meta = json.loads((out / "meta.json").read_text())
    data = np.load(out / "data.npz")
    return {"dir": out, "keras": out / "digits.keras",
            "paths": {v: Path(p) for v, p in meta["paths"].items()}, **{k: data[k] for k in data.files},
            **{k: v for k, v in meta.items() if k != "paths"}}


@pytest.fixture(scope="session")
def demo_artifacts(digits_variants: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make demo` builds (edgelab.artifacts): the session's digits variants, plus the
    vibration model trained and converted in a subprocess (TensorFlow stays out of this one)."""
    from edgelab import artifacts
    from edgelab.convert import ConvertedModel

    out = tmp_path_factory.mktemp("demo_artifacts")
    variants = {v: ConvertedModel.load(p, name="digits") for v, p in digits_variants["paths"].items()}
    artifacts.write_model(out, "digits", variants, digits_variants["x_test"], digits_variants["y_test"],
                          digits_variants["keras_accuracy"])
    script = (f"from edgelab import artifacts; "
              f"artifacts.build({str(out)!r}, names=['vibration'], progress=False)")
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


# --- grader: one class of honest and hostile submissions, autograded once in sandboxes. ---

def grading_sandbox_ready() -> str:
    """Why the grader's sandbox cannot run here ('' when it can): bubblewrap and cgroups."""
    from grader.bubblewrap import SandboxUnavailable, check
    from grader.cgroups import CgroupsUnavailable, CgroupTree

    try:
        check()
        CgroupTree.create().close()
    except (SandboxUnavailable, CgroupsUnavailable) as exc:
        return str(exc)
    return ""


CLASS_LESSON = "02-latency"


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Lesson 02 (a lesson that imports edgelab and runs the simulator) released in a private
    course root, a class with every kind of submission (honest, accidents, attacks by a student
    who knows the grader), autograded with 2 sandboxed workers."""
    import shutil

    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    from grader.autograde import autograde
    from grader.classgen import KINDS, make_class
    from grader.pipeline import nbgrader
    from grader.sandbox import Limits

    root = tmp_path_factory.mktemp("graded_class")
    shutil.copytree(REPO / "lessons" / CLASS_LESSON, root / "lessons" / CLASS_LESSON)
    nbgrader(["generate_assignment", CLASS_LESSON, "--force"], root)
    students = make_class(CLASS_LESSON, root, kinds=list(KINDS))
    limits = Limits(wall_seconds=30, cell_seconds=10, cpu_seconds=30, memory_bytes=2 * 2**30)
    scratch_before = set(Path("/dev/shm").glob("edgelab-grading-*"))  # another session's may be there
    result = autograde(CLASS_LESSON, root, workers=2, limits=limits)
    scratch_left = set(Path("/dev/shm").glob("edgelab-grading-*")) - scratch_before
    return {"root": root, "lesson": CLASS_LESSON, "students": students, "result": result, "limits": limits,
            "scratch_left": scratch_left}
