"""Raspberry Pi stand-ins that really are ARM, for the deploy tests (tools.arm_root).

Each root (Debian bookworm arm64 with ai-edge-litert, armhf with tflite-runtime 2.14) is built
once and kept in the git-ignored ``build/arm-roots/`` (rebuilt when its recipe changes; a fresh
CI clone builds both: minutes each, mostly dpkg under emulation). As soon as collection shows a
test needs a root, its build starts in the background at the lowest CPU priority, and the tests
that need a root run last: the build uses the time other tests leave idle; the fixture waits for
it. Its sshd is started once per test session on a free loopback port with a key made for the
session. Test modules load this file with ``pytest_plugins = ["arm"]``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, require

from edgelab import deploy
from tools import arm_root

BUILD_SECONDS: dict[str, float] = {}  # how long each fixture waited for its root this session
BUILDS: dict[str, subprocess.Popen] = {}  # background builds started at collection


def _needs_a_stand_in(item: pytest.Item) -> bool:
    return any(f"{name}_pi" in getattr(item, "fixturenames", ()) for name in arm_root.ARCHES)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Run the tests that need a stand-in last (in their order), so that a root's background build
    overlaps the rest of the suite instead of holding it up."""
    items[:] = [item for item in items if not _needs_a_stand_in(item)] + \
               [item for item in items if _needs_a_stand_in(item)]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building, in the background and niced, each root a collected test needs."""
    for name in arm_root.ARCHES:
        arch = arm_root.arch_of(name)
        wanted = any(f"{name}_pi" in getattr(item, "fixturenames", ()) for item in session.items)
        if wanted and name not in BUILDS and not arm_root.missing_tools(arch) and not arm_root.is_built(arch):
            arm_root.BUILD.mkdir(parents=True, exist_ok=True)
            with open(arm_root.BUILD / f"build-{name}.log", "w") as log:
                BUILDS[name] = subprocess.Popen(["nice", "-n", "19", *arm_root.tool_argv("build", name)],
                                                cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop a background build the session did not wait for (it stopped early): the whole group."""
    for process in BUILDS.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@dataclass
class ArmPi:
    """One running stand-in: its sshd's port, a trusted known_hosts, a key that logs in as `pi`."""

    arch: str
    machine: str
    profile: str
    runtime: str
    port: int
    key: Path
    known_hosts: Path
    home: Path          # /home/pi of the root, seen from the host
    build_seconds: float

    def target(self, root: str, **kwargs) -> deploy.Target:
        """An SSH target of this stand-in with its device folder at ``root`` (``~/...``)."""
        options = dict(key=str(self.key), known_hosts=str(self.known_hosts), python=arm_root.DEVICE_PYTHON,
                       root=root)
        options.update(kwargs)
        return deploy.ssh_target(f"pi@127.0.0.1:{self.port}", connect_timeout=60, **options)

    def device_folder(self, root: str) -> Path:
        """The host path of the device folder ``~/...``."""
        return self.home / root[2:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_banner(port: int, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Return once an SSH banner comes from ``port`` (sshd under emulation starts in seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stand-in's sshd exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no SSH banner on port {port} within {timeout:.0f} s: {log.read_text()[-2000:]}")


def stand_in(name: str, tmp_path_factory: pytest.TempPathFactory):
    """Build (if needed) and start the ``name`` stand-in; yields an :class:`ArmPi`, stops its sshd."""
    arch = arm_root.arch_of(name)
    missing = arm_root.missing_tools(arch)
    require(not missing, f"the {name} Pi stand-in (needs {', '.join(missing)})")
    start = time.monotonic()
    if name in BUILDS:
        returncode = BUILDS[name].wait()
        log = arm_root.BUILD / f"build-{name}.log"
        assert returncode == 0, f"building the {name} root failed: {log.read_text()[-3000:]}"
    arm_root.build(name)  # nothing to do once built from this recipe
    BUILD_SECONDS[name] = time.monotonic() - start
    folder = tmp_path_factory.mktemp(f"arm-{name}")
    key = folder / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"edgelab-test-{name}",
                    "-f", str(key)], check=True)
    arm_root.authorize(name, Path(f"{key}.pub").read_text())
    port = _free_port()
    log = folder / "sshd.log"
    with open(log, "w") as err:
        process = subprocess.Popen(arm_root.serve_argv(name, port), cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=err)
    try:
        _wait_for_banner(port, process, log)
        known_hosts = folder / "known_hosts"
        known_hosts.write_text(arm_root.host_key_line(name, port))
        yield ArmPi(name, arch.machine, arch.profile, arch.runtime, port, key, known_hosts,
                    arm_root.root_of(arch) / "home" / arm_root.USER, BUILD_SECONDS[name])
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@pytest.fixture(scope="session")
def arm64_pi(tmp_path_factory: pytest.TempPathFactory):
    """The 64-bit stand-in (bookworm arm64, QEMU_CPU cortex-a76, a Pi 5's cpuinfo, ai-edge-litert)."""
    yield from stand_in("arm64", tmp_path_factory)


@pytest.fixture(scope="session")
def armhf_pi(tmp_path_factory: pytest.TempPathFactory):
    """The 32-bit stand-in (bookworm armhf, a Pi 4's 32-bit cpuinfo, python3-numpy, tflite-runtime 2.14)."""
    yield from stand_in("armhf", tmp_path_factory)


@pytest.fixture
def device_root(request: pytest.FixtureRequest) -> str:
    """A device folder name for this test (``~/edgelab-test-...``), removed from both roots after it."""
    name = "edgelab-test-" + request.node.name.replace("[", "-").strip("]")[:40]
    homes = [arm_root.root_of(a) / "home" / arm_root.USER for a in arm_root.ARCHES.values()]
    for home in homes:
        shutil.rmtree(home / name, ignore_errors=True)
    yield f"~/{name}"
    for home in homes:
        shutil.rmtree(home / name, ignore_errors=True)
