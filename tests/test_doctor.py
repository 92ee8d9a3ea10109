"""`edgelab doctor` passes in the course environment and names each problem otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_edgelab

BIN = Path(sys.executable).parent


def doctor(env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "edgelab"), "doctor"], capture_output=True, text=True,
                          timeout=120, env=env)


def test_doctor_passes_in_course_environment() -> None:
    """Exit 0, with the Python version, architecture, stack versions and backend printed."""
    proc = doctor()
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    for name in ("python", "architecture", "tensorflow", "nbgrader", "ai-edge-litert",
                 "interpreter backend", "lab extension @jupyter/nbgrader",
                 "lab extension @jupyter-widgets/jupyterlab-manager",
                 "server extension nbgrader.server_extensions.formgrader"):
        assert name in out, name
    assert "ai-edge-litert 2." in out
    assert "All checks passed" in out


def test_doctor_flags_a_disabled_lab_extension(tmp_path: Path) -> None:
    """Disabling the nbgrader lab extension (the real jupyter command) makes doctor fail."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path),
               PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([str(BIN / "jupyter"), "labextension", "disable", "--level=user",
                    "@jupyter/nbgrader"], check=True, capture_output=True, env=env, timeout=120)
    proc = doctor(env)
    assert proc.returncode == 1
    assert "PROBLEM: @jupyter/nbgrader is disabled" in proc.stdout


@pytest.mark.slow
def test_doctor_fails_without_litert(legacy_python: Path) -> None:
    """Where LiteRT is missing (an old Pi-style install), doctor exits 1 and says why."""
    proc = run_edgelab(legacy_python, "from edgelab.cli import main; raise SystemExit(main(['doctor']))")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PROBLEM: ai-edge-litert is missing" in proc.stdout
    assert "PROBLEM: tensorflow is missing" in proc.stdout
    assert "interpreter backend" in proc.stdout and "tflite-runtime 2.14.0" in proc.stdout


@pytest.mark.slow
def test_doctor_explains_legacy_runtime_under_numpy2(broken_legacy_python: Path) -> None:
    """tflite-runtime under numpy 2 is reported as unusable legacy, with LiteRT as the fix."""
    proc = run_edgelab(broken_legacy_python,
                       "from edgelab.cli import main; raise SystemExit(main(['doctor']))")
    assert proc.returncode == 1
    assert "LiteRT is missing or broken" in proc.stdout
    assert "built for numpy<2" in proc.stdout
