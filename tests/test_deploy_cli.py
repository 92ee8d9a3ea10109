"""`edgelab deploy ...`: the deploy workflow from a terminal, JSON out, one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import PI_HOME

from edgelab.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["deploy", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


@pytest.mark.slow
def test_cli_simulated_push_benchmark_fleet(capsys, tiny_model, tmp_path) -> None:
    """push, benchmark, status and fleet on simulated targets print JSON and exit 0."""
    sim = ["--home", str(tmp_path / "sim"), "--scale", "2"]
    code, release, _ = run_cli(capsys, "push", "sim:raspberry-pi-5", str(tiny_model["path"]), *sim)
    assert code == 0 and len(release["sha256"]) == 64
    code, report, _ = run_cli(capsys, "benchmark", "sim:raspberry-pi-5", "--runs", "5", *sim)
    assert code == 0 and report["device"]["simulated"] and report["model"]["sha256"] == release["sha256"]
    code, status, _ = run_cli(capsys, "status", "sim:raspberry-pi-5", *sim)
    assert status["current"] == release["sha256"]
    code, fleet, err = run_cli(capsys, "fleet", str(tiny_model["dynamic_path"]), "sim:raspberry-pi-4",
                               "sim:raspberry-pi-5", "--home", str(tmp_path / "fleet"), "--no-progress")
    assert code == 0 and fleet["ok"] and [d["status"] for d in fleet["devices"]] == ["deployed"] * 2
    assert "rollout OK" in err
    assert (tmp_path / "fleet" / "raspberry-pi-4" / "edgelab" / "current").is_symlink()


def test_cli_ssh_info_and_clear_errors(capsys, sshd_servers, client_keys, pi_python, tmp_path) -> None:
    """info over real SSH; a bad model, a bad target and a bad key are one `error:` line, exit 2."""
    server = sshd_servers[2]
    ssh = ["--key", str(client_keys["good"]), "--known-hosts", str(server.known_hosts),
           "--python", str(pi_python), "--root", "~/edgelab-test-cli"]
    try:
        code, info, _ = run_cli(capsys, "info", f"pi@127.0.0.1:{server.port}", *ssh)
        assert code == 0 and info["user"] == "pi" and info["runtime"]["backend"] == "ai-edge-litert"
        bad = tmp_path / "bad.tflite"
        bad.write_text("hello")
        for argv, phrase in ((["push", f"pi@127.0.0.1:{server.port}", str(bad), *ssh], "not a TFLite"),
                             (["info", "pi@@nowhere", *ssh], "target must look like"),
                             (["info", f"pi@127.0.0.1:{server.port}", *ssh, "--key", str(tmp_path / "k")],
                              "key must be a private key file")):
            code, out, err = run_cli(capsys, *argv)
            assert code == 2 and out == {} and err.startswith("error: ") and phrase in err
            assert "Traceback" not in err
    finally:
        shutil.rmtree(PI_HOME / "edgelab-test-cli", ignore_errors=True)
