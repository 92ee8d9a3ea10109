"""edgelab.deploy over SSH: a real sshd on loopback, user `pi`, a device venv without TensorFlow."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import PI_HOME

from edgelab import ModelError, deploy
from edgelab.bench import validate_report
from edgelab.deploy.ssh import parse_target


def nan_model(path: Path) -> bytes:
    """The model with its first weight matrix set to NaN: it loads, but outputs NaN."""
    from edgelab import load_interpreter

    data = path.read_bytes()
    loaded = load_interpreter(data)
    weights = max((d for d in loaded.interpreter.get_tensor_details() if len(d["shape"]) == 2
                   and d["dtype"] == np.float32), key=lambda d: int(np.prod(d["shape"])))
    raw = loaded.interpreter.get_tensor(weights["index"]).tobytes()
    assert data.count(raw) == 1
    return data.replace(raw, np.full(len(raw) // 4, np.nan, np.float32).tobytes())


@pytest.fixture
def root(request: pytest.FixtureRequest) -> str:
    """A fresh device folder in pi's home for this test, removed afterwards."""
    name = "edgelab-test-" + request.node.name.replace("[", "-").strip("]")[:40]
    shutil.rmtree(PI_HOME / name, ignore_errors=True)
    yield f"~/{name}"
    shutil.rmtree(PI_HOME / name, ignore_errors=True)


def pi_target(server, keys: dict, python: Path, root: str, **kwargs) -> deploy.Target:
    options = dict(key=str(keys["good"]), known_hosts=str(server.known_hosts), python=str(python), root=root)
    options.update(kwargs)
    return deploy.ssh_target(f"pi@127.0.0.1:{server.port}", **options)


def serving(root: str) -> str:
    """The release `current` points at, read straight from the device's file system."""
    return os.readlink(PI_HOME / root[2:] / "current")


@pytest.mark.slow
def test_deploy_and_benchmark_on_the_device(sshd_servers, client_keys, pi_python, tiny_model, root) -> None:
    """Deploy + benchmark run on the device as `pi`, with the device's Python and LiteRT."""
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        info = pi.info()
        release = pi.deploy(tiny_model["path"])
        report = pi.benchmark(runs=20, warmup_runs=2)
        outputs = pi.predict(tiny_model["x"])
    probe = "import platform; print(platform.python_version())"
    device_python = subprocess.run([str(pi_python), "-c", probe], capture_output=True, text=True,
                                   check=True).stdout.strip()
    assert info["user"] == "pi" and info["python"] == device_python and not info["simulated"]
    assert info["runtime"]["backend"] == "ai-edge-litert" and info["ram_bytes"] > 0
    assert info["python_executable"].startswith(str(pi_python.parent.parent))
    assert serving(root) == f"releases/{release.sha256}" and release.health["ok"]
    assert validate_report(report) == []
    assert report["device"]["python"] == device_python and report["device"]["simulated"] is False
    assert report["model"]["sha256"] == release.sha256 and report["model"]["name"] == "tiny.tflite"
    assert report["runtime"]["backend"] == "ai-edge-litert" and report["settings"]["runs"] == 20
    np.testing.assert_allclose(outputs[0], tiny_model["y"], rtol=1e-5, atol=1e-6)


def test_unknown_host_key_is_refused_with_fingerprint(sshd_servers, client_keys, pi_python, tmp_path,
                                                      root) -> None:
    """A host missing from known_hosts is refused; the fingerprint and the trust command are shown."""
    server = sshd_servers[0]
    other = tmp_path / "known_hosts"
    other.write_text(sshd_servers[1].known_hosts_line)
    expected = subprocess.run(["ssh-keygen", "-lf", f"{server.host_key}.pub"], capture_output=True,
                              text=True, check=True).stdout.split()[1]
    pi = pi_target(server, client_keys, pi_python, root, known_hosts=str(other))
    with pytest.raises(deploy.HostKeyError) as caught:
        pi.info()
    message = str(caught.value)
    assert expected.startswith("SHA256:") and expected in message
    assert "ON THE DEVICE" in message and f"[127.0.0.1]:{server.port} ssh-ed25519" in message
    assert not (PI_HOME / root[2:]).exists()


def test_changed_host_key_is_refused(sshd_servers, client_keys, pi_python, tmp_path, root) -> None:
    """A host whose key differs from known_hosts (a MITM or a reinstall) is refused."""
    server = sshd_servers[0]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(sshd_servers[1].known_hosts_line.replace(str(sshd_servers[1].port), str(server.port)))
    pi = pi_target(server, client_keys, pi_python, root, known_hosts=str(wrong))
    with pytest.raises(deploy.HostKeyError, match="HOST KEY CHANGED.*SHA256:.*ssh-keygen -R"):
        pi.info()


def test_wrong_key_is_refused(sshd_servers, client_keys, pi_python, root) -> None:
    """A key that is not in pi's authorized_keys is refused with what to do."""
    pi = pi_target(sshd_servers[0], client_keys, pi_python, root, key=str(client_keys["wrong"]))
    with pytest.raises(deploy.AuthError, match="refused the key .*ssh-copy-id"):
        pi.info()


def test_bad_target_and_key_path_fail_before_connecting(sshd_servers, tmp_path) -> None:
    """A malformed target, a missing key file and a missing known_hosts are ValueErrors."""
    with pytest.raises(ValueError, match="target must look like user@host"):
        deploy.ssh_target("pi@host; rm -rf ~", known_hosts=str(sshd_servers[0].known_hosts))
    with pytest.raises(ValueError, match="port must be from 1 to 65535"):
        parse_target("pi@host:70000")
    with pytest.raises(ValueError, match="key must be a private key file.*nope"):
        deploy.ssh_target("pi@127.0.0.1", key=str(tmp_path / "nope"),
                          known_hosts=str(sshd_servers[0].known_hosts))
    with pytest.raises(ValueError, match="known_hosts must be an existing file"):
        deploy.ssh_target("pi@127.0.0.1", known_hosts=str(tmp_path / "none"))


@pytest.mark.slow
def test_unreachable_host_fails_within_10_s(sshd_servers, client_keys, pi_python, root) -> None:
    """A closed port fails at once; a host that never answers fails within the 5 s default (< 10 s)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(deploy.ConnectError, match="cannot connect"):
        deploy.ssh_target(f"pi@127.0.0.1:{port}", key=str(client_keys["good"]),
                          known_hosts=str(sshd_servers[0].known_hosts)).info()
    assert time.monotonic() - start < 2
    # A listener whose backlog is full drops new SYNs: the connection hangs like a host that is off.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        fillers = []
        for _ in range(4):  # fill the backlog until a connection attempt hangs
            try:
                fillers.append(socket.create_connection(silent.getsockname(), timeout=0.3))
            except TimeoutError:
                break
        start = time.monotonic()
        with pytest.raises(deploy.ConnectError, match="unreachable|handshake"):
            deploy.ssh_target(f"pi@127.0.0.1:{silent.getsockname()[1]}", key=str(client_keys["good"]),
                              known_hosts=str(sshd_servers[0].known_hosts)).info()
        elapsed = time.monotonic() - start
        for filler in fillers:
            filler.close()
    assert elapsed < 10


def test_quoting_names_and_roots_with_shell_characters(sshd_servers, client_keys, pi_python, tiny_model,
                                                       tmp_path, root) -> None:
    """A model path, name and device folder with spaces, quotes and ';' are passed literally."""
    odd = tmp_path / "my model 'v2'; touch PWNED $(id).tflite"
    shutil.copy(tiny_model["path"], odd)
    odd_root = root + " it's; touch PWNED"
    try:
        with pi_target(sshd_servers[0], client_keys, pi_python, odd_root) as pi:
            release = pi.deploy(odd)
            status = pi.status()
        assert release.name == odd.name
        assert [r["name"] for r in status["releases"]] == [odd.name]
        assert (PI_HOME / odd_root[2:] / "current" / "model.tflite").is_file()
        assert not list(PI_HOME.glob("PWNED*")) and not list((PI_HOME / odd_root[2:]).glob("PWNED*"))
    finally:
        shutil.rmtree(PI_HOME / odd_root[2:], ignore_errors=True)


def test_not_tflite_fails_before_the_device_changes(sshd_servers, client_keys, pi_python, tiny_model,
                                                    tmp_path, root) -> None:
    """A file that is not TFLite is refused locally; the device keeps serving its model."""
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"PK\x03\x04" + bytes(100))
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        first = pi.deploy(tiny_model["path"])
        with pytest.raises(ModelError, match="zip archive.*nothing was sent"):
            pi.deploy(bad)
    assert serving(root) == f"releases/{first.sha256}"
    assert not list((PI_HOME / root[2:] / "incoming").iterdir())


def test_cut_upload_leaves_previous_model_serving(sshd_servers, client_keys, pi_python, tiny_model,
                                                  tmp_path, root) -> None:
    """The SSH connection dropped mid-upload: the previous model still serves, nothing half-written."""
    big = tmp_path / "big.tflite"  # a valid model padded to 300 kB: many chunks to cut between
    big.write_bytes(tiny_model["dynamic_path"].read_bytes() + bytes(300_000))
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        first = pi.deploy(tiny_model["path"])
        sent_before_cut = []

        def cut(sent: int, total: int) -> None:
            if sent >= total // 2 and not sent_before_cut:
                sent_before_cut.append(sent)
                pi.transport._client.get_transport().sock.close()  # the link really drops

        with pytest.raises(deploy.DeployError, match="lost|cut"):
            pi.deploy(big, progress=cut)
        assert sent_before_cut[0] < big.stat().st_size  # cut mid-transfer, not after it
        assert serving(root) == f"releases/{first.sha256}"
        assert pi.status()["releases"] == [pi.status()["releases"][0]]  # reconnects by itself
        assert pi.health()["ok"]
        np.testing.assert_allclose(pi.predict(tiny_model["x"])[0], tiny_model["y"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_failed_health_check_rolls_back(sshd_servers, client_keys, pi_python, tiny_model, tmp_path,
                                        root) -> None:
    """A model that loads but outputs NaN is switched in, fails its health check, and is rolled back."""
    bad = tmp_path / "nan.tflite"
    bad.write_bytes(nan_model(tiny_model["path"]))
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        first = pi.deploy(tiny_model["path"])
        expected = f"health check failed.*NaN.*rolled back to {first.sha256}"
        with pytest.raises(deploy.DeployError, match=expected):
            pi.deploy(bad)
        assert serving(root) == f"releases/{first.sha256}"
        assert [r["sha256"] for r in pi.status()["releases"]] == [first.sha256]


def test_failed_smoke_load_changes_nothing(sshd_servers, client_keys, pi_python, pi_bare_python, tiny_model,
                                           root) -> None:
    """On a device whose Python lost its runtime, the smoke-load fails and `current` is untouched."""
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        first = pi.deploy(tiny_model["path"])
    with pi_target(sshd_servers[0], client_keys, pi_bare_python, root) as broken:
        with pytest.raises(deploy.DeployError, match="smoke-load failed.*numpy is not installed"):
            broken.deploy(tiny_model["dynamic_path"])
    assert serving(root) == f"releases/{first.sha256}"


@pytest.mark.slow
def test_keep_last_releases_and_rollback(sshd_servers, client_keys, pi_python, tiny_model, tmp_path,
                                         root) -> None:
    """Only the last `keep` releases stay; rollback() returns to the previous one."""
    third = tmp_path / "third.tflite"
    third.write_bytes(tiny_model["path"].read_bytes() + b"\0" * 8)  # same graph, other bytes
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        a = pi.deploy(tiny_model["path"], keep=2)
        b = pi.deploy(tiny_model["dynamic_path"], keep=2)
        c = pi.deploy(third, keep=2)
        on_device = {p.name for p in (PI_HOME / root[2:] / "releases").iterdir()}
        assert on_device == {b.sha256, c.sha256} and a.sha256 not in on_device
        back = pi.rollback()
        assert back["current"] == b.sha256 and serving(root) == f"releases/{b.sha256}"


@pytest.mark.slow
def test_model_too_new_for_device_runtime(sshd_servers, client_keys, pi_legacy_python, tiny_model,
                                          root) -> None:
    """A Pi with numpy<2 and tflite-runtime 2.14 runs the float model (agent and benchmark work
    there); the dynamic-range model's newer op version is refused before anything is sent (from
    the device's runtime and edgelab's op table), and without that table by the smoke-load ON
    the device; the float model keeps serving."""
    with pi_target(sshd_servers[0], client_keys, pi_legacy_python, root) as old_pi:
        info = old_pi.info()
        assert info["runtime"] == {"backend": "tflite-runtime", "version": "2.14.0"}
        assert info["numpy"].startswith("1.")
        first = old_pi.deploy(tiny_model["path"])
        report = old_pi.benchmark(runs=5, warmup_runs=1)
        assert validate_report(report) == [] and report["runtime"]["backend"] == "tflite-runtime"
        with pytest.raises(ModelError, match="runs tflite-runtime 2.14.0.*FULLY_CONNECTED version 12.*"
                                             "nothing was sent"):
            old_pi.deploy(tiny_model["dynamic_path"])
        assert [r["sha256"] for r in old_pi.status()["releases"]] == [first.sha256]
        old_pi._runtime = {}  # as for a runtime edgelab has no op table for
        with pytest.raises(deploy.DeployError, match="smoke-load failed.*tflite-runtime 2.14.0.*"
                                                     "FULLY_CONNECTED.*version"):
            old_pi.deploy(tiny_model["dynamic_path"])
        assert serving(root) == f"releases/{first.sha256}"
        assert [r["sha256"] for r in old_pi.status()["releases"]] == [first.sha256]


@pytest.mark.slow
def test_a_tampered_agent_file_is_replaced(sshd_servers, client_keys, pi_python, root) -> None:
    """The host hashes the agent files on the device before trusting them: a file changed there
    is uploaded again before the next command, and the files are readable by `pi` only."""
    from edgelab.deploy.releases import AGENT_FILES

    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        pi.info()  # installs the agent
    shipped = PI_HOME / root[2:] / "agent" / "collect.py"
    shipped.write_bytes(shipped.read_bytes() + b"\nSEND_READINGS_ELSEWHERE = True\n")
    with pi_target(sshd_servers[0], client_keys, pi_python, root) as pi:
        assert pi.info()["user"] == "pi"
    assert shipped.read_bytes() == AGENT_FILES["collect.py"].read_bytes()
    assert shipped.stat().st_mode & 0o077 == 0
