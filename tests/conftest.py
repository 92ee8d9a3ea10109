"""Shared fixtures: real models and real extra environments, built once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


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
