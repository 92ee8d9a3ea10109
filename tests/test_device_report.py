"""edgelab.device_report: choosing the lesson's device, checking a saved report, estimate vs measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgelab import bench, device_report, devices
from edgelab.runtime import load_interpreter
from edgelab.stats import ModelStats


def local_report(model_path: Path, accuracy=0.95) -> dict:
    """A real benchmark report of the model on this machine (LiteRT)."""
    loaded = load_interpreter(model_path)
    return bench.run_benchmark(loaded.interpreter, model_name=model_path.name,
                               model_bytes=model_path.read_bytes(), warmup_runs=2, runs=20,
                               accuracy=accuracy)


def test_lesson_target_never_uses_ssh_while_autograding(tmp_path) -> None:
    """A configured Pi is an SSH target, except while nbgrader runs: then the simulated Pi."""
    pi = {"EDGELAB_PI": "pi@raspberrypi.local"}
    known = tmp_path / "known_hosts"
    known.write_text("")
    real = device_report.lesson_target(env=pi, known_hosts=str(known), home=tmp_path / "a")
    assert not real.simulated and "raspberrypi.local" in real.name  # nothing connects yet
    grading = device_report.lesson_target(env=dict(pi, NBGRADER_EXECUTION="autograde"), home=tmp_path / "b")
    assert grading.simulated and grading.profile == "raspberry-pi-4"
    assert device_report.lesson_target(env={}, home=tmp_path / "c").simulated
    assert device_report.lesson_target("pi@other:2222", known_hosts=str(known), env={}).name.endswith(":2222")
    assert device_report.configured_pi({"EDGELAB_PI": "  "}) is None
    with pytest.raises(ValueError, match="pi must be a string"):
        device_report.lesson_target(42, env={})


def test_use_saved_report_only_while_autograding(tmp_path) -> None:
    """The saved report replaces the measurement only when grading and when it exists."""
    path = tmp_path / "device_report.json"
    grading = {"NBGRADER_EXECUTION": "autograde"}
    assert not device_report.use_saved_report(path, env=grading)
    path.write_text("{}")
    assert device_report.use_saved_report(path, env=grading)
    assert not device_report.use_saved_report(path, env={})


def test_check_report_passes_a_good_report_and_records_real_hardware(tiny_model, tmp_path) -> None:
    """A report of this model file, accurate and fast enough, passes; a non-simulated one counts as real."""
    path = tmp_path / "device_report.json"
    bench.write_report(local_report(tiny_model["path"]), path)
    check = device_report.check_report(path, tiny_model["path"], min_accuracy=0.9, max_p50_ms=1000)
    assert check.ok and check.problems == [] and check.real_hardware is True
    assert check.sha256 == bench.read_report(path)["model"]["sha256"] and check.accuracy == 0.95
    assert str(check).startswith("PASS") and "real hardware" in str(check)
    same = device_report.check_report(json.loads(path.read_text()), tiny_model["path"].read_bytes())
    assert same.ok


def test_check_report_lists_each_problem(tiny_model, tmp_path) -> None:
    """Another model, no accuracy, too slow, unrecorded device kind, missing or bad files: each is named."""
    report = local_report(tiny_model["path"], accuracy=None)
    check = device_report.check_report(report, tiny_model["dynamic_path"], max_p50_ms=1e-9)
    assert not check.ok and len(check.problems) == 3, check.problems
    assert "not yours" in check.problems[0] and "no accuracy" in check.problems[1]
    assert "above the budget" in check.problems[2]
    low = device_report.check_report(dict(report, accuracy=0.5), tiny_model["path"], min_accuracy=0.9)
    assert low.problems == ["accuracy 0.500 is below the required 0.900"]
    device = {k: v for k, v in report["device"].items() if k != "simulated"}
    unrecorded = dict(report, accuracy=0.95, device=device)
    check = device_report.check_report(unrecorded, tiny_model["path"])
    assert check.real_hardware is None and any("device.simulated" in p for p in check.problems)
    anonymous = dict(report, accuracy=0.95, device=dict(report["device"], simulated=True, profile=None))
    problems = device_report.check_report(anonymous, tiny_model["path"]).problems
    assert "must name the device profile" in problems[0]
    missing = device_report.check_report(tmp_path / "nothing.json", tiny_model["path"])
    assert not missing.ok and "report file not found" in missing.problems[0]
    (tmp_path / "bad.json").write_text("{not json")
    assert "is not JSON" in device_report.check_report(tmp_path / "bad.json", tiny_model["path"]).problems[0]
    gone = device_report.check_report(dict(report, accuracy=0.95), tmp_path / "gone.tflite")
    assert gone.problems == [f"model file not found: {tmp_path / 'gone.tflite'}"]


def test_check_report_rejects_bad_thresholds(tiny_model) -> None:
    """Thresholds out of range are ValueErrors naming the parameter and the range."""
    with pytest.raises(ValueError, match="min_accuracy must be a number from 0 to 1"):
        device_report.check_report({}, tiny_model["path"], min_accuracy=1.5)
    with pytest.raises(ValueError, match="max_p50_ms must be a number"):
        device_report.check_report({}, tiny_model["path"], max_p50_ms=-1)
    with pytest.raises(ValueError, match="model must be a .tflite path"):
        device_report.check_report({}, 3.5)


@pytest.mark.slow
def test_simulated_device_report_end_to_end(tiny_model, tmp_path) -> None:
    """Deploy to a simulated Pi, benchmark there, save: the check passes and says SIMULATED."""
    target = device_report.lesson_target(env={"NBGRADER_EXECUTION": "autograde", "EDGELAB_PI": "pi@x"},
                                         home=tmp_path / "pi")
    target.deploy(tiny_model["path"])
    report = dict(target.benchmark(runs=10, warmup_runs=2), accuracy=1.0)
    bench.write_report(report, tmp_path / "r.json")
    check = device_report.check_report(tmp_path / "r.json", tiny_model["path"], max_p50_ms=1000)
    assert check.ok and check.real_hardware is False and check.profile == "raspberry-pi-4"
    assert "SIMULATED (raspberry-pi-4)" in str(check)


def test_compare_with_estimate(tiny_model) -> None:
    """The comparison puts the report's p50 next to devices.estimate_latency for the same profile."""
    report = local_report(tiny_model["path"])
    stats = ModelStats("tiny", macs=64 * 64 + 64 * 3, params=64 * 64 + 64 + 64 * 3 + 3,
                       weight_bytes=4 * (64 * 64 + 64 + 64 * 3 + 3), precision="fp32")
    comparison = device_report.compare_with_estimate(report, stats, profile="raspberry-pi-5")
    assert comparison.estimate_ms == devices.estimate_latency("raspberry-pi-5", stats).ms
    assert comparison.measured_ms == report["latency_ms"]["p50"] and not comparison.simulated
    assert comparison.ratio == pytest.approx(comparison.measured_ms / comparison.estimate_ms)
    assert "measured on the device" in str(comparison)
    assert device_report.compare_with_estimate(report, stats).profile == "raspberry-pi-4"
    with pytest.raises(ValueError, match="not a valid benchmark report"):
        device_report.compare_with_estimate({"schema": "x"}, stats)
