"""edgelab.device_report: choosing the lesson's device, checking a saved report, estimate vs measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgelab import bench, deploy, device_report, devices
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


def test_check_report_without_bars_ignores_accuracy_and_latency_values(tiny_model) -> None:
    """min_accuracy=None and max_p50_ms=None set no bar: a low accuracy and a slow p50 pass, a
    missing accuracy and another model's report still fail."""
    slow = local_report(tiny_model["path"], accuracy=0.1)
    slow["latency_ms"] = {k: v * 1e6 for k, v in slow["latency_ms"].items()}
    check = device_report.check_report(slow, tiny_model["path"], min_accuracy=None, max_p50_ms=None)
    assert check.ok and check.problems == [] and check.accuracy == 0.1, check.problems
    barred = device_report.check_report(slow, tiny_model["path"], max_p50_ms=slow["latency_ms"]["p50"] / 2)
    assert len(barred.problems) == 2 and "below the required" in barred.problems[0]
    unmeasured = local_report(tiny_model["path"], accuracy=None)
    check = device_report.check_report(unmeasured, tiny_model["dynamic_path"], min_accuracy=None,
                                       max_p50_ms=None)
    assert not check.ok and "not yours" in check.problems[0] and "no accuracy" in check.problems[1]


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


def test_lesson_target_names_the_device_python_and_key(tmp_path) -> None:
    """The device's Python and key come from python=/key= or EDGELAB_PI_PYTHON/EDGELAB_PI_KEY, and
    the target remembers which setting named the Python (for the error when it is wrong)."""
    known = tmp_path / "known_hosts"
    known.write_text("")
    key = tmp_path / "id"
    key.write_text("not read before connecting")
    env = {"EDGELAB_PI": "pi@pi5.local", "EDGELAB_PI_PYTHON": "~/tflite-venv/bin/python",
           "EDGELAB_PI_KEY": str(key)}
    from_env = device_report.lesson_target(env=env, known_hosts=str(known))
    assert from_env.python == "tflite-venv/bin/python" and "EDGELAB_PI_PYTHON" in from_env.python_named_by
    assert from_env.transport.key == key
    passed = device_report.lesson_target(python="/opt/py/bin/python", env=env, known_hosts=str(known))
    assert passed.python == "/opt/py/bin/python" and passed.python_named_by == "python= of lesson_target"
    passed_on = device_report.lesson_target(python=env["EDGELAB_PI_PYTHON"], env=env, known_hosts=str(known))
    assert "EDGELAB_PI_PYTHON" in passed_on.python_named_by  # lesson 08 passes the variable on
    default = device_report.lesson_target(env={"EDGELAB_PI": "pi@pi5.local"}, known_hosts=str(known))
    assert default.python == "edgelab-venv/bin/python"
    assert "set the EDGELAB_PI_PYTHON" in default.python_named_by
    with pytest.raises(ValueError, match="python must be a non-empty path string"):
        device_report.lesson_target(python=" ", env=env, known_hosts=str(known))


def _report(device: dict, p50: float = 1.0) -> dict:
    """A minimal report: only what device_kind, device_label and inconsistencies read."""
    return {"device": device, "latency_ms": {"p50": p50}}


PI5 = {"machine": "aarch64", "simulated": False, "cpu_model": "Raspberry Pi 5 Model B Rev 1.0",
       "device_tree_model": "Raspberry Pi 5 Model B Rev 1.0", "cpu_count": 4, "ram_bytes": 8 * 2**30,
       "emulated": False}


def test_device_kind_and_label_tell_real_emulated_and_simulated_apart() -> None:
    """The agent's emulation evidence makes a report 'emulated' (never a Pi's timings), a profile
    'simulated'; a real Pi is named by its device tree."""
    assert device_report.device_kind(_report(PI5)) == device_report.REAL
    label = device_report.device_label(_report(PI5))
    assert label == "real hardware: Raspberry Pi 5 Model B Rev 1.0 (aarch64)"
    emulated = dict(PI5, emulated=True, emulator="qemu-user", device_tree_model=None, machine="armv7l")
    assert device_report.device_kind(_report(emulated)) == device_report.EMULATED
    assert device_report.device_label(_report(emulated)) == "emulated armv7 (qemu-user): not a Pi's timings"
    simulated = {"machine": "x86_64", "simulated": True, "profile": "raspberry-pi-4"}
    assert device_report.device_label(_report(simulated)) == "SIMULATED (raspberry-pi-4)"
    assert device_report.claimed_profile(_report(simulated)) == "raspberry-pi-4"
    assert device_report.device_kind(_report({})) == device_report.UNKNOWN
    assert device_report.claimed_profile(_report(PI5)) == "raspberry-pi-5"
    assert device_report.claimed_profile(_report({"machine": "x86_64", "simulated": False})) is None


def test_inconsistencies_of_a_claimed_pi() -> None:
    """A real Pi's facts pass; an x86 CPU, a missing device tree, 2 cores, 25 GiB and a p50 below
    the Pi's peak are each named; an emulated or simulated report is labelled, not flagged."""
    stats = ModelStats("m", macs=10_000_000, params=1000, weight_bytes=1000, precision="int8")
    floor = 2 * 10_000_000 / (614.4e9) * 1000  # the Pi 5's int8 peak (devices.json)
    assert device_report.inconsistencies(_report(PI5, p50=floor * 1.01), stats) == []
    fake = dict(PI5, machine="x86_64", device_tree_model=None, cpu_count=2, ram_bytes=25 * 2**30)
    flags = device_report.inconsistencies(_report(fake, p50=floor * 0.99), stats)
    assert len(flags) == 5, flags
    for text in ("its CPU is x86_64 (not ARM)", "it has no device tree",
                 "it has 2 CPU cores; a Raspberry Pi 5 has 4",
                 "25.0 GiB of memory; a Raspberry Pi 5 has at most 16 GB", "faster than a raspberry-pi-5"):
        assert any(text in f for f in flags), (text, flags)
    assert device_report.inconsistencies(_report(dict(fake, emulated=True), p50=1e-9), stats) == []
    laptop = {"machine": "x86_64", "simulated": False, "cpu_model": "Intel(R) Core(TM) i7", "cpu_count": 8}
    assert device_report.inconsistencies(_report(laptop, p50=1e-9), stats) == []


def test_check_report_fails_an_inconsistent_report(tiny_model) -> None:
    """check_report keeps a report's contradictions as flags, and fails it."""
    report = dict(local_report(tiny_model["path"]), accuracy=0.95)
    report["device"] = dict(report["device"], cpu_model="Raspberry Pi 4 Model B Rev 1.4",
                            device_tree_model=None)
    check = device_report.check_report(report, tiny_model["path"], max_p50_ms=1000)
    assert check.problems == [] and not check.ok and check.kind == device_report.REAL
    assert any("no device tree" in f for f in check.flags) and "INCONSISTENT" in str(check)


@pytest.mark.slow
def test_a_wrong_device_python_names_the_setting_to_fix(sshd_servers, client_keys, pi_legacy_python) -> None:
    """On a stand-in Pi whose Python is not ~/edgelab-venv, EDGELAB_PI_PYTHON makes the lesson's
    route work; a wrong one fails saying it was EDGELAB_PI_PYTHON."""
    server = sshd_servers[0]
    env = {"EDGELAB_PI": f"pi@127.0.0.1:{server.port}", "EDGELAB_PI_KEY": str(client_keys["good"]),
           "EDGELAB_PI_PYTHON": str(pi_legacy_python)}
    with device_report.lesson_target(env=env, known_hosts=str(server.known_hosts)) as pi:
        assert pi.info()["runtime"]["backend"] == "tflite-runtime"
    wrong = dict(env, EDGELAB_PI_PYTHON="~/no-such-venv/bin/python")
    with device_report.lesson_target(python=wrong["EDGELAB_PI_PYTHON"], env=wrong,
                                     known_hosts=str(server.known_hosts)) as pi:
        with pytest.raises(deploy.DeployError, match="set by the EDGELAB_PI_PYTHON environment variable"):
            pi.info()
