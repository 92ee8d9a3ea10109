"""edgelab.deploy.simulated_target: the same agent and workflow run locally, labelled simulated."""

from __future__ import annotations

import os

import numpy as np
import pytest

from edgelab import deploy
from edgelab.bench import validate_report
from edgelab.deploy.simulated import profile_scale


def test_simulated_deploy_benchmark_predict(tiny_model, tmp_path) -> None:
    """A simulated Pi deploys, predicts like Keras, and its report says simulated + the profile."""
    sim = deploy.simulated_target("raspberry-pi-4", home=tmp_path / "pi4")
    release = sim.deploy(tiny_model["path"])
    assert os.readlink(tmp_path / "pi4" / "edgelab" / "current") == f"releases/{release.sha256}"
    report = sim.benchmark(runs=30, warmup_runs=2)
    assert validate_report(report) == []
    assert report["device"]["simulated"] is True and report["device"]["profile"] == "raspberry-pi-4"
    info = sim.info()
    assert info["simulated"] and info["scale"] == pytest.approx(profile_scale("raspberry-pi-4"))
    np.testing.assert_allclose(sim.predict(tiny_model["x"])[0], tiny_model["y"], rtol=1e-5, atol=1e-6)


def test_simulated_timings_are_scaled(tiny_model, tmp_path) -> None:
    """The same model on a 1000x slower profile reports latencies about 1000x larger."""
    fast = deploy.simulated_target("raspberry-pi-5", scale=1.0, home=tmp_path / "fast")
    slow = deploy.simulated_target("raspberry-pi-5", scale=1000.0, home=tmp_path / "slow")
    p50 = [t.benchmark(tiny_model["path"], runs=200, warmup_runs=20)["latency_ms"]["p50"]
           for t in (fast, slow)]
    assert 100 < p50[1] / p50[0] < 10_000


def test_simulated_bad_input(tmp_path) -> None:
    """An unknown profile, a bad scale and a bad device Python fail clearly."""
    with pytest.raises(ValueError, match="unknown device profile 'pi-9'"):
        deploy.simulated_target("pi-9", home=tmp_path)
    with pytest.raises(ValueError, match="profile must be a device profile name"):
        deploy.simulated_target("../etc", home=tmp_path)
    with pytest.raises(ValueError, match="scale must be a number from 0 to 10000"):
        deploy.simulated_target("raspberry-pi-5", scale=-1, home=tmp_path)
    with pytest.raises(ValueError, match="has no fp32 throughput"):
        deploy.simulated_target("coral-usb-pi5", home=tmp_path)
    sim = deploy.simulated_target("raspberry-pi-5", home=tmp_path, python=str(tmp_path / "no-python"))
    with pytest.raises(deploy.DeployError, match="device's Python"):
        sim.info()


def test_rollback_without_previous_and_bad_inputs(tiny_model, tmp_path) -> None:
    """Nothing to roll back to, and inputs of the wrong shape, are clear errors; the model keeps serving."""
    sim = deploy.simulated_target("raspberry-pi-5", scale=1.0, home=tmp_path)
    release = sim.deploy(tiny_model["path"])
    with pytest.raises(deploy.DeployError, match="no previous release"):
        sim.rollback()
    with pytest.raises(deploy.DeployError, match=r"must have shape \(1, 64\) and dtype float32; got \(2, 3"):
        sim.predict(np.zeros((2, 3), np.float32))
    assert sim.status()["current"] == release.sha256


def test_a_tampered_agent_file_is_replaced(tmp_path) -> None:
    """A simulated device's agent file changed on disk is hashed, found different and uploaded
    again before the next command; an unchanged agent is not uploaded again."""
    from edgelab.deploy.releases import AGENT_FILES

    deploy.simulated_target("raspberry-pi-4", home=tmp_path).info()
    shipped = tmp_path / "edgelab" / "agent" / "agent.py"
    shipped.write_bytes(shipped.read_bytes().replace(b"AGENT_VERSION = 1", b"AGENT_VERSION = 666"))
    assert deploy.simulated_target("raspberry-pi-4", home=tmp_path).info()["agent_version"] == 1
    assert shipped.read_bytes() == AGENT_FILES["agent.py"].read_bytes()
    before = shipped.stat().st_mtime_ns
    deploy.simulated_target("raspberry-pi-4", home=tmp_path).info()
    assert shipped.stat().st_mtime_ns == before


def test_report_keeps_raw_timings_and_the_device_facts(tiny_model, tmp_path) -> None:
    """A benchmark report holds each timed run (scaled like the statistics, which they reproduce) and
    the facts the device read about itself; this machine shows no emulator."""
    sim = deploy.simulated_target("raspberry-pi-5", scale=3.0, home=tmp_path)
    report = sim.benchmark(tiny_model["path"], runs=40, warmup_runs=2)
    samples = np.asarray(report["samples_ms"])
    assert len(samples) == 40
    assert report["latency_ms"]["p50"] == pytest.approx(float(np.percentile(samples, 50)))
    assert report["latency_ms"]["max"] == pytest.approx(float(samples.max()))
    device = report["device"]
    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    assert device["ram_bytes"] == total_kb * 1024 and device["kernel"] == os.uname().release
    assert device["emulated"] is False and device["emulation_evidence"] == [] and device["emulator"] is None
    assert device["cpu_model"] and "device_tree_model" in device


def test_predict_each_runs_every_sample_on_the_device(tiny_model, tmp_path) -> None:
    """predict_each gives, for many samples, what evaluate.predict computes here (with the optimized
    or the reference kernels); it refuses a model the device does not serve and inputs of the wrong
    shape."""
    from edgelab import evaluate

    sim = deploy.simulated_target("raspberry-pi-4", home=tmp_path)
    sim.deploy(tiny_model["path"])
    x = np.random.default_rng(1).normal(size=(25, 64)).astype("float32")
    on_device = sim.predict_each(tiny_model["path"], x)
    np.testing.assert_array_equal(on_device, evaluate.predict(tiny_model["path"], x))
    exact = sim.predict_each(tiny_model["path"], x, reference_kernels=True)  # TFLite's reference kernels
    np.testing.assert_array_equal(exact, evaluate.predict(tiny_model["path"], x, reference_kernels=True))
    with pytest.raises(deploy.DeployError, match="deploy it first"):
        sim.predict_each(tiny_model["dynamic_path"], x)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 64\)"):
        sim.predict_each(tiny_model["path"], x[:, :10])
