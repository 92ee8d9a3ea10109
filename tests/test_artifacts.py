"""edgelab.artifacts: demo models saved once with hashes, loaded with LiteRT only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from edgelab import EdgelabError, ModelError, artifacts
from edgelab.convert import ConvertedModel


@pytest.fixture(scope="module")
def saved(digits_variants: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    variants = {v: ConvertedModel.load(p, name="digits") for v, p in digits_variants["paths"].items()}
    artifacts.write_digits(out, variants, digits_variants["x_test"], digits_variants["y_test"],
                           digits_variants["keras_accuracy"])
    return out


@pytest.mark.slow
def test_round_trip_without_tensorflow(saved: Path) -> None:
    """A fresh interpreter loads all four variants and evaluates them, never importing TensorFlow."""
    code = (f"import sys; from edgelab import artifacts; a = artifacts.load_digits({str(saved)!r}); "
            "print(sorted(a.variants), round(a.variants['int8'].evaluate(a.x_test, a.y_test), 3), "
            "'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    accuracy, tf_loaded = proc.stdout.split()[-2:]
    assert "['dynamic', 'float16', 'float32', 'int8']" in proc.stdout
    assert float(accuracy) > 0.9 and tf_loaded == "False"


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
        artifacts.load_digits(copy)
    assert json.loads((copy / artifacts.MANIFEST).read_text())["variants"]["int8"]["sha256"]


def test_missing_artifacts_say_how_to_build_them(tmp_path: Path) -> None:
    """Loading from an empty folder names the build command."""
    with pytest.raises(EdgelabError, match="python -m edgelab.artifacts"):
        artifacts.load_digits(tmp_path)


@pytest.mark.slow
def test_quantization_dashboard_follows_its_controls(saved: Path) -> None:
    """Switching int8 → float32 quadruples the size; a float model cannot run on the Edge TPU."""
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
