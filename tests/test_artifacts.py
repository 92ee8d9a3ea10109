"""edgelab.artifacts: demo models saved once with hashes, loaded with LiteRT only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser import copy_checkout
from conftest import REPO

from edgelab import EdgelabError, ModelError, artifacts


@pytest.fixture(scope="module")
def saved(demo_artifacts: Path) -> Path:
    return demo_artifacts


@pytest.mark.slow
def test_round_trip_without_tensorflow(saved: Path) -> None:
    """A fresh interpreter loads both models' four variants and evaluates them, never importing
    TensorFlow."""
    code = (f"import sys; from edgelab import artifacts; models = artifacts.load({str(saved)!r}); "
            "print(sorted(models)); "
            "[print(n, sorted(a.variants), round(a.variants['int8'].evaluate(a.x_test, a.y_test), 3)) "
            "for n, a in models.items()]; print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "['digits', 'vibration']" and lines[-1] == "False"
    for line in lines[1:3]:
        assert "['dynamic', 'float16', 'float32', 'int8']" in line
        assert float(line.split()[-1]) > 0.9, line


@pytest.mark.slow
def test_a_changed_model_is_refused(saved: Path, tmp_path: Path) -> None:
    """A model file that no longer matches the manifest's hash raises ModelError."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in saved.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    data = bytearray((copy / "digits_int8.tflite").read_bytes())
    data[-100] ^= 0xFF
    (copy / "digits_int8.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        artifacts.load(copy)
    manifest = json.loads((copy / artifacts.MANIFEST).read_text())
    assert manifest["models"]["digits"]["variants"]["int8"]["sha256"]


def test_an_old_build_asks_for_a_rebuild_and_is_replaced(saved: Path, tmp_path: Path) -> None:
    """A manifest from the one-model layout is refused with the rebuild command, and writing
    a model into that folder starts a new manifest."""
    (tmp_path / artifacts.MANIFEST).write_text(json.dumps({"model": "digits CNN", "variants": {}}))
    with pytest.raises(EdgelabError, match="older edgelab.*python -m edgelab.artifacts"):
        artifacts.load(tmp_path)
    assert list(artifacts.available(saved)) == ["digits", "vibration"]
    digits = artifacts.load(saved, names=["digits"])["digits"]
    artifacts.write_model(tmp_path, "digits", digits.variants, digits.x_test, digits.y_test,
                          digits.keras_accuracy)
    assert list(artifacts.load(tmp_path)) == ["digits"]
    with pytest.raises(ValueError, match=r"among the saved models \(digits\); got 'vibration'"):
        artifacts.load(tmp_path, names=["vibration"])
    with pytest.raises(ValueError, match="name must be one of digits, vibration"):
        artifacts.write_model(tmp_path, "resnet", digits.variants, digits.x_test, digits.y_test, 0.5)


def test_missing_artifacts_say_how_to_build_them(tmp_path: Path) -> None:
    """Loading from an empty folder names the build command."""
    with pytest.raises(EdgelabError, match="python -m edgelab.artifacts"):
        artifacts.load(tmp_path)


@pytest.mark.slow
def test_quantization_dashboard_follows_its_controls(saved: Path) -> None:
    """Switching int8 → float32 quadruples the size; a float model cannot run on the Edge TPU;
    switching to the tiny vibration model shows the whole table for that model."""
    from edgelab.dashboards import quantization_dashboard

    box = quantization_dashboard(str(saved))
    int8 = box.result["row"]
    assert int8["variant"] == "int8" and int8["size_ratio"] < 0.35 and int8["accuracy"] > 0.9
    box.controls["device"].value = "coral-usb-pi5"
    assert box.result["estimate"].runs and box.result["estimate"].fits
    histogram = bytes(box.plot.value)
    assert histogram.startswith(b"\x89PNG")
    box.controls["variant"].value = "float32"
    assert box.result["row"]["size_ratio"] == 1.0
    assert bytes(box.plot.value) != histogram  # the weight histogram is redrawn
    assert not (box.result["estimate"].runs and box.result["estimate"].fits)  # Edge TPU: int8 only
    box.controls["model"].value = "vibration"  # a model with under 5,000 weights
    assert box.controls["variant"].value == "float32" and box.result["rows"][0]["size_bytes"] < 20_000
    dynamic = next(r for r in box.result["rows"] if r["variant"] == "dynamic")
    assert dynamic["size_ratio"] > 0.9  # its tensors are too small for dynamic-range quantization


def built(folder: Path) -> Path:
    """A folder that looks built to :func:`artifacts.find` (a manifest, no models): enough for
    the lookup, without training anything."""
    folder.mkdir(parents=True)
    (folder / artifacts.MANIFEST).write_text(json.dumps({"format": artifacts.FORMAT, "models": {}}))
    return folder


def where(pythonpath: Path, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m edgelab.artifacts --where`` with edgelab imported from ``pythonpath``, the user
    cache at ``cache``, run in ``cwd`` and without EDGELAB_DEMO_ARTIFACTS."""
    env = {k: v for k, v in os.environ.items() if k != artifacts.ENV_VAR}
    env.update(PYTHONPATH=str(pythonpath), XDG_CACHE_HOME=str(cache))
    return subprocess.run([sys.executable, "-m", "edgelab.artifacts", "--where"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_environment_variable_alone_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EDGELAB_DEMO_ARTIFACTS, when set, is the only folder searched (no silent fallback)."""
    monkeypatch.setenv(artifacts.ENV_VAR, str(tmp_path / "nothing"))
    assert artifacts.search_path() == [tmp_path / "nothing"]
    with pytest.raises(EdgelabError, match=f"python -m edgelab.artifacts {tmp_path / 'nothing'}`;"):
        artifacts.find()
    monkeypatch.setenv(artifacts.ENV_VAR, str(built(tmp_path / "models")))
    assert artifacts.find() == tmp_path / "models"


def test_a_checkout_reads_its_own_build_folder_from_anywhere(tmp_path: Path) -> None:
    """Run from a checkout (any working directory), the demos read the checkout's build/demo,
    before the user cache; with neither, one line names the checkout's build command."""
    checkout = copy_checkout(tmp_path / "course")
    cache = tmp_path / "cache"
    proc = where(checkout, cache, cwd=checkout / "demos")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert (f"`python -m edgelab.artifacts {checkout / 'build' / 'demo'}` (or `make demo` in {checkout})"
            in proc.stderr)
    built(cache / "edgelab" / "demo")
    assert where(checkout, cache, cwd=tmp_path).stdout.strip() == str(cache / "edgelab" / "demo")
    built(checkout / "build" / "demo")
    assert where(checkout, cache, cwd=tmp_path).stdout.strip() == str(checkout / "build" / "demo")


def test_an_installed_edgelab_reads_the_user_cache(tmp_path: Path) -> None:
    """edgelab installed as a package (no checkout around it) reads and builds the per-user
    cache, $XDG_CACHE_HOME/edgelab/demo."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "edgelab", site / "edgelab", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    proc = where(site, cache, cwd=tmp_path)
    assert proc.returncode == 1 and "make demo" not in proc.stderr
    assert f"`python -m edgelab.artifacts {cache / 'edgelab' / 'demo'}`;" in proc.stderr
    built(cache / "edgelab" / "demo")
    proc = where(site, cache, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == str(cache / "edgelab" / "demo")
