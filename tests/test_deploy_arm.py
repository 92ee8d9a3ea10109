"""edgelab.deploy on Pi stand-ins that really are ARM: Debian bookworm arm64 (ai-edge-litert) and
armhf (32-bit, tflite-runtime 2.14) roots under qemu-user, reached over SSH with host keys checked.

Outputs are compared with this machine's: float within 1e-5, int8 within one quantization step
with the optimized kernels (XNNPACK's int8 kernels round a requantization differently on ARM and
x86; measured here: a few values of 100 differ by one step, whatever core qemu emulates) and
exactly with TFLite's reference kernels on both sides, and with the same runtime on x86 for the
armhf root (tflite-runtime 2.14 on both: identical). Timings under emulation are not a
Pi's: the reports must say "emulated".
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from conftest import PI_HOME, REPO
from test_deploy_ssh import nan_model

from edgelab import ModelError, artifacts, bench, compat, deploy, device_report, evaluate

pytestmark = pytest.mark.slow
pytest_plugins = ["arm"]  # the stand-ins' fixtures: arm64_pi, armhf_pi, device_root


@pytest.fixture(scope="module")
def course_models(demo_artifacts) -> dict:
    """The course's two models (digits CNN, vibration) in their four variants, with test splits."""
    return artifacts.load(demo_artifacts)


@pytest.fixture(scope="module")
def vibration(course_models) -> artifacts.ModelArtifacts:
    """The course's vibration model in its four variants, with its test split."""
    return course_models["vibration"]


def one_step(model_path_or_bytes) -> float:
    """The output quantization step of an int8 model (the smallest difference it can show)."""
    from edgelab import load_interpreter

    return float(load_interpreter(model_path_or_bytes).output_details[0]["quantization"][0])


def test_arm64_stand_in_is_an_emulated_pi_5(arm64_pi, device_root) -> None:
    """Over SSH the stand-in is aarch64 with a Pi 5's cpuinfo, LiteRT and numpy 2; QEMU_CPU reaches
    the login's processes; the agent finds qemu and says so."""
    with arm64_pi.target(device_root) as pi:
        info = pi.info()
        shell = pi.transport.run(["sh", "-c", 'uname -m; echo "$QEMU_CPU"'])
    assert shell.stdout.decode().split() == ["aarch64", "cortex-a76"]
    assert info["machine"] == "aarch64" and info["user"] == "pi" and not info["simulated"]
    assert info["runtime"] == {"backend": "ai-edge-litert", "version": "2.3.0"}
    assert info["numpy"].startswith("2.")
    assert info["cpu"] == "Raspberry Pi 5 Model B Rev 1.0" and info["device_tree_model"] is None
    assert info["emulated"] is True and info["emulator"] == "qemu-user"
    assert any("qemu-aarch64" in line for line in info["emulation_evidence"]), info["emulation_evidence"]


def test_arm64_deploys_float32_and_int8_benchmarks_and_rolls_back(arm64_pi, device_root, vibration,
                                                                  tmp_path) -> None:
    """float32 and int8 deploy and run on the aarch64 root (outputs like this machine's), the
    benchmark report is labelled emulated, and manual and automatic rollback work."""
    x, y = vibration.x_test, vibration.y_test
    paths = {}
    for variant in ("float32", "int8"):
        paths[variant] = vibration.variants[variant].save(tmp_path / f"vibration_{variant}.tflite")
    with arm64_pi.target(device_root) as pi:
        first = pi.deploy(paths["float32"])
        on_device = pi.predict_each(paths["float32"], x)
        np.testing.assert_allclose(on_device, evaluate.predict(paths["float32"], x), atol=1e-5)
        second = pi.deploy(paths["int8"])
        quantized = pi.predict_each(paths["int8"], x)
        here = evaluate.predict(paths["int8"], x)
        assert np.max(np.abs(quantized - here)) <= one_step(paths["int8"]) * 1.0001
        assert np.mean(np.argmax(quantized, -1) == np.argmax(here, -1)) >= 0.99
        exact = pi.predict_each(paths["int8"], x, reference_kernels=True)  # the same integer maths
        np.testing.assert_array_equal(exact, evaluate.predict(paths["int8"], x, reference_kernels=True))
        report = dict(pi.benchmark(runs=20, warmup_runs=2),
                      accuracy=float(np.mean(np.argmax(quantized, -1) == y)))
        back = pi.rollback()
        with pytest.raises(deploy.DeployError, match="health check failed"):
            pi.deploy(nan_model(paths["float32"]), name="nan.tflite")
        status = pi.status()
    assert second.previous == first.sha256 and back["current"] == first.sha256
    assert status["current"] == first.sha256  # the NaN model was rolled back by itself
    assert bench.validate_report(report) == [] and len(report["samples_ms"]) == 20
    assert report["device"]["machine"] == "aarch64" and report["device"]["emulated"] is True
    assert device_report.device_kind(report) == device_report.EMULATED
    assert device_report.device_label(report).startswith("emulated aarch64")
    check = device_report.check_report(report, paths["int8"], max_p50_ms=1000)
    assert check.ok and check.real_hardware is False and check.flags == [], check
    assert "emulated aarch64" in str(check) and "real hardware" not in str(check)


def test_an_emulated_report_passed_off_as_real_hardware_is_flagged(arm64_pi, device_root, vibration,
                                                                   tmp_path) -> None:
    """The emulated root's report with its emulation evidence removed claims a real Pi 5: its
    device facts (no device tree, 2 cores, the host's memory) betray it."""
    path = vibration.variants["int8"].save(tmp_path / "vibration_int8.tflite")
    with arm64_pi.target(device_root) as pi:
        pi.deploy(path)
        report = dict(pi.benchmark(runs=5, warmup_runs=1), accuracy=0.97)
    evidence = ("emulated", "emulator", "emulation_evidence")
    device = {k: v for k, v in report["device"].items() if k not in evidence}
    forged = dict(report, device=device)
    check = device_report.check_report(forged, path, max_p50_ms=1000)
    assert check.kind == device_report.REAL and not check.ok
    assert any("no device tree" in f for f in check.flags), check.flags
    if report["device"]["cpu_count"] != 4:  # this machine has 2 cores; a Pi 5 has 4
        assert any("CPU cores; a Raspberry Pi 5 has 4" in f for f in check.flags), check.flags


def test_armhf_stand_in_is_32_bit_pi_os_with_tflite_runtime(armhf_pi, device_root) -> None:
    """The 32-bit stand-in: armv7l, Debian's numpy < 2, tflite-runtime 2.14, QEMU_CPU pinned, emulated."""
    with armhf_pi.target(device_root) as pi:
        info = pi.info()
        shell = pi.transport.run(["sh", "-c", 'uname -m; echo "$QEMU_CPU"'])
    assert shell.stdout.decode().split() == ["armv7l", "cortex-a15"]
    assert info["machine"] == "armv7l"
    assert info["runtime"] == {"backend": "tflite-runtime", "version": "2.14.0"}
    assert info["numpy"].startswith("1.") and info["cpu"] == "Raspberry Pi 4 Model B Rev 1.4"
    assert info["emulated"] is True


def test_armhf_loads_what_tflite_runtime_2_14_knows_and_refuses_the_rest(armhf_pi, device_root, course_models,
                                                                          tiny_model, tmp_path) -> None:
    """Each variant of the course's models that edgelab.compat accepts for tflite-runtime 2.14 deploys
    and computes this machine's outputs on the armhf root; each it refuses is refused before sending
    and by the device itself; the device names the op version and what to do on 32-bit Pi OS."""
    accepted, refusals = [], []
    with armhf_pi.target(device_root) as pi:
        for name, model in course_models.items():
            x = model.x_test[:60]
            for variant, converted in model.variants.items():
                path = converted.save(tmp_path / f"{name}_{variant}.tflite")
                if not compat.check_op_versions(converted, runtime="tflite-runtime 2.14").ok:
                    with pytest.raises(ModelError, match="nothing was sent"):
                        pi.deploy(path)
                    sha = pi.upload(path).sha256  # past edgelab's own check: the device refuses too
                    with pytest.raises(deploy.DeployError) as refused:
                        pi.call("smoke-load", "--sha256", sha)
                    refusals.append(str(refused.value))
                    continue
                pi.deploy(path)
                on_device, here = pi.predict_each(path, x), evaluate.predict(path, x)
                tolerance = one_step(path) * 1.0001 if variant == "int8" else 1e-5
                assert np.max(np.abs(on_device - here)) <= tolerance, (name, variant)
                accepted.append(f"{name} {variant}")
        with pytest.raises(ModelError, match="FULLY_CONNECTED.*version 12.*nothing was sent"):
            pi.deploy(tiny_model["dynamic_path"])
        sha = pi.upload(tiny_model["dynamic_path"]).sha256
        with pytest.raises(deploy.DeployError) as refused:
            pi.call("smoke-load", "--sha256", sha)
        refusals.append(str(refused.value))
    print("loads on tflite-runtime 2.14 (armhf):", sorted(accepted))
    assert {f"vibration {v}" for v in ("float32", "float16", "dynamic", "int8")} <= set(accepted), accepted
    for message in refusals:
        assert "tflite-runtime 2.14.0 on the device cannot load the model" in message, message
        assert "no newer runtime exists for 32-bit Raspberry Pi OS" in message, message
    assert "version '12'" in refusals[-1]


def test_armhf_int8_equals_the_same_runtime_on_x86(armhf_pi, device_root, vibration, sshd_servers,
                                                   client_keys, pi_legacy_python, tmp_path) -> None:
    """tflite-runtime 2.14 on the emulated armv7l root and on an x86 stand-in Pi give the same int8
    outputs, bit for bit, and the same float32 outputs within 1e-5; on the armv7l root the benchmark
    report is labelled emulated armv7 and a rollback brings back the int8 release."""
    x = vibration.x_test
    x86_root = f"{device_root}-x86"
    x86 = deploy.ssh_target(f"pi@127.0.0.1:{sshd_servers[2].port}", key=str(client_keys["good"]),
                            known_hosts=str(sshd_servers[2].known_hosts), python=str(pi_legacy_python),
                            root=x86_root)
    outputs, releases = {}, {}
    try:
        with armhf_pi.target(device_root) as arm, x86:
            assert x86.info()["runtime"]["backend"] == "tflite-runtime"
            for variant in ("int8", "float32"):
                path = vibration.variants[variant].save(tmp_path / f"vibration_{variant}.tflite")
                releases[variant] = arm.deploy(path)
                x86.deploy(path)
                outputs[variant] = (arm.predict_each(path, x), x86.predict_each(path, x))
            report = arm.benchmark(runs=10, warmup_runs=1)
            back = arm.rollback()
    finally:
        shutil.rmtree(PI_HOME / x86_root[2:], ignore_errors=True)
    np.testing.assert_array_equal(*outputs["int8"])
    np.testing.assert_allclose(*outputs["float32"], atol=1e-5)
    assert report["model"]["sha256"] == releases["float32"].sha256 and bench.validate_report(report) == []
    assert report["device"]["machine"] == "armv7l" and report["runtime"]["backend"] == "tflite-runtime"
    assert device_report.device_label(report).startswith("emulated armv7 (qemu-user)")
    assert back["current"] == releases["int8"].sha256


def test_lesson_08_on_the_arm64_stand_in(arm64_pi, tmp_path) -> None:
    """Lesson 08's solution (hidden tests cleared), run as a learner runs it with EDGELAB_PI,
    EDGELAB_PI_KEY and EDGELAB_PI_PYTHON naming the stand-in (its host key in ~/.ssh/known_hosts),
    deploys and measures both models on the aarch64 root: no error, and the saved reports say
    emulated aarch64, agree with this machine and pass the lesson's check; then the lesson with its
    hidden tests, run as the grader runs it (simulated Pi, saved reports read), passes every check."""
    import nbformat
    from nbclient import NotebookClient
    from nbgrader.preprocessors import ClearHiddenTests

    from tools import arm_root

    work = tmp_path / "lesson"
    shutil.copytree(REPO / "lessons" / "08-deploy-to-a-pi", work)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copyfile(arm64_pi.known_hosts, home / ".ssh" / "known_hosts")
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), XDG_STATE_HOME=str(tmp_path / "state"),
               EDGELAB_PI=f"pi@127.0.0.1:{arm64_pi.port}", EDGELAB_PI_KEY=str(arm64_pi.key),
               EDGELAB_PI_PYTHON=arm_root.DEVICE_PYTHON)
    nb = nbformat.read(str(work / "deploy_to_a_pi.ipynb"), as_version=4)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    try:
        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(work)}}).execute(env=env)
    finally:
        shutil.rmtree(arm64_pi.home / "edgelab", ignore_errors=True)  # the lesson's device folder
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert [o for o in outputs if o["output_type"] == "error"] == []
    printed = "".join(o.get("text", "") for o in outputs)
    assert "EMULATED: an emulator runs this device's code" in printed
    for variant in ("float32", "int8"):
        report = json.loads((work / f"device_report_{variant}.json").read_text())
        assert report["device"]["machine"] == "aarch64" and report["device"]["emulated"] is True
        assert device_report.device_label(report).startswith("emulated aarch64")
        assert report["agreement"] >= 0.99 and report["runtime"]["backend"] == "ai-edge-litert"
        check = device_report.check_report(report, work / f"vibration_{variant}.tflite", min_accuracy=None,
                                           max_p50_ms=None)
        assert check.ok and check.kind == device_report.EMULATED, check
        print(variant, "on the arm64 stand-in:", bench.summarize([report]), "agreement", report["agreement"],
              "max |diff|", report["max_abs_diff"])
    graded = nbformat.read(str(work / "deploy_to_a_pi.ipynb"), as_version=4)
    env.update(NBGRADER_EXECUTION="autograde")  # the grader's run: no device, the saved reports
    NotebookClient(graded, timeout=600, resources={"metadata": {"path": str(work)}}).execute(env=env)
    errors = [o for cell in graded.cells for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
