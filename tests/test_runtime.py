"""edgelab.runtime: one way to load a .tflite model, and one clear error for bad ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import run_edgelab

from edgelab import ModelError, RuntimeMissingError, load_interpreter
from edgelab.runtime import backend_status, find_backend


def run(loaded, x: np.ndarray) -> np.ndarray:
    it = loaded.interpreter
    it.set_tensor(loaded.input_details[0]["index"], x)
    it.invoke()
    return it.get_tensor(loaded.output_details[0]["index"])


def test_prefers_litert_and_matches_keras(tiny_model: dict) -> None:
    """A valid model loads with LiteRT and reproduces the Keras output."""
    loaded = load_interpreter(tiny_model["path"])
    assert loaded.backend.name == "ai-edge-litert"
    assert loaded.size_bytes == tiny_model["path"].stat().st_size
    np.testing.assert_allclose(run(loaded, tiny_model["x"]), tiny_model["y"], rtol=1e-5, atol=1e-6)


def test_loads_from_bytes_and_with_threads(tiny_model: dict) -> None:
    """Model bytes work as well as a path, and num_threads is passed through."""
    loaded = load_interpreter(tiny_model["path"].read_bytes(), num_threads=2)
    np.testing.assert_allclose(run(loaded, tiny_model["x"]), tiny_model["y"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_tensorflow_backend_gives_same_output(tiny_model: dict) -> None:
    """Forcing the TensorFlow backend works and agrees with LiteRT."""
    loaded = load_interpreter(tiny_model["path"], backend="tensorflow")
    assert loaded.backend.name == "tensorflow"
    np.testing.assert_allclose(run(loaded, tiny_model["x"]), tiny_model["y"], rtol=1e-5, atol=1e-6)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file names the path and says what to do."""
    with pytest.raises(ModelError, match="not found: .*nope.tflite"):
        load_interpreter(tmp_path / "nope.tflite")


def test_empty_file(tmp_path: Path) -> None:
    """An empty file is reported as empty."""
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_interpreter(tmp_path / "empty.tflite")


@pytest.mark.parametrize("fraction", [0.01, 0.25, 0.5, 0.9, 0.99])
def test_truncated_file(tiny_model: dict, tmp_path: Path, fraction: float) -> None:
    """A model cut short anywhere is reported as truncated or corrupted."""
    data = tiny_model["path"].read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(data[: max(1, int(len(data) * fraction))])
    with pytest.raises(ModelError, match="truncated|not a TFLite"):
        load_interpreter(cut)


def test_not_tflite_files(tmp_path: Path) -> None:
    """Text, a zip (.keras), an HDF5 (.h5) file and a directory are each named for what they are."""
    (tmp_path / "notes.tflite").write_text("this is not a model " * 10)
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as z:
        z.writestr("config.json", "{}")
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    (tmp_path / "saved_model").mkdir()
    cases = {"notes.tflite": "no 'TFL3'", "model.keras": "zip", "model.h5": "HDF5",
             "saved_model": "directory"}
    for name, phrase in cases.items():
        with pytest.raises(ModelError, match=phrase):
            load_interpreter(tmp_path / name)


def test_bad_arguments(tiny_model: dict) -> None:
    """Bad num_threads or backend names raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match="num_threads"):
        load_interpreter(tiny_model["path"], num_threads=0)
    with pytest.raises(ValueError, match="backend must be one of"):
        find_backend("onnxruntime")


def test_backend_status_lists_every_candidate() -> None:
    """The status report lists every candidate, with a reason for each unusable one."""
    statuses = {s.name: s for s in backend_status(include_tensorflow=False)}
    assert set(statuses) == {"ai-edge-litert", "tflite-runtime", "tensorflow"}
    assert statuses["ai-edge-litert"].usable
    assert statuses["tflite-runtime"].reason


@pytest.mark.slow
def test_legacy_tflite_runtime_gives_clear_op_version_error(legacy_python: Path,
                                                            tiny_model: dict) -> None:
    """tflite-runtime 2.14 meets a TF 2.21 model: a ModelError naming the op, no crash.

    The float model still loads there; the dynamic-range one needs FULLY_CONNECTED v12."""
    proc = run_edgelab(legacy_python, f"""
        from edgelab import ModelError, load_interpreter
        try:
            load_interpreter({str(tiny_model['dynamic_path'])!r})
        except ModelError as exc:
            print("MODEL_ERROR:", exc)
    """)
    assert proc.returncode == 0, proc.stderr
    float_ok = run_edgelab(legacy_python, f"""
        from edgelab import load_interpreter
        print(load_interpreter({str(tiny_model['path'])!r}).backend.name)
    """)
    assert float_ok.stdout.strip() == "tflite-runtime", float_ok.stderr
    message = proc.stdout
    assert "MODEL_ERROR:" in message
    assert "FULLY_CONNECTED version 12" in message
    assert "tflite-runtime 2.14.0" in message
    assert "pip install ai-edge-litert" in message


@pytest.mark.slow
def test_legacy_tflite_runtime_under_numpy2_is_reported(broken_legacy_python: Path,
                                                        tiny_model: dict) -> None:
    """tflite-runtime under numpy 2 is refused with the reason, not a crash."""
    proc = run_edgelab(broken_legacy_python, f"""
        from edgelab import RuntimeMissingError, load_interpreter
        try:
            load_interpreter({str(tiny_model['path'])!r})
        except RuntimeMissingError as exc:
            print("MISSING:", exc)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "MISSING:" in proc.stdout
    assert "numpy<2" in proc.stdout and "ai-edge-litert" in proc.stdout


def test_runtime_missing_error_is_importerror() -> None:
    """RuntimeMissingError can be caught as ImportError by generic code."""
    assert issubclass(RuntimeMissingError, ImportError)
    assert issubclass(ModelError, ValueError)
