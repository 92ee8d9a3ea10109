"""edgelab.deploy.rollout: canary first, health gate, stages; real sshd devices and simulated ones."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import PI_HOME

from edgelab import ModelError, deploy
from edgelab.deploy import plan_stages


def test_plan_stages() -> None:
    """Canary first, then fixed-size stages; bad sizes are ValueErrors."""
    assert plan_stages(5, canary=1, stage_size=2) == [[0], [1, 2], [3, 4]]
    assert plan_stages(3) == [[0], [1, 2]]
    assert plan_stages(1) == [[0]]
    with pytest.raises(ValueError, match="canary must be an integer from 1 to the number of targets"):
        plan_stages(3, canary=4)
    with pytest.raises(ValueError, match="stage_size must be an integer >= 1"):
        plan_stages(3, stage_size=0)


@pytest.fixture
def fleet_roots():
    """Three fresh device folders in pi's home, removed afterwards."""
    names = [f"edgelab-fleet-{i}" for i in range(3)]
    for name in names:
        shutil.rmtree(PI_HOME / name, ignore_errors=True)
    yield names
    for name in names:
        shutil.rmtree(PI_HOME / name, ignore_errors=True)


@pytest.mark.slow
def test_fleet_of_three_stops_after_broken_canary(sshd_servers, client_keys, pi_python, pi_bare_python,
                                                  tiny_model, fleet_roots, capsys) -> None:
    """3 sshd devices: a rollout succeeds on all; then a broken canary stops the next at stage 0."""
    def fleet(canary_python):
        return [deploy.ssh_target(f"pi@127.0.0.1:{s.port}", key=str(client_keys["good"]),
                                  known_hosts=str(s.known_hosts), root=f"~/{root}",
                                  python=str(canary_python if i == 0 else pi_python))
                for i, (s, root) in enumerate(zip(sshd_servers, fleet_roots))]

    first = deploy.rollout(fleet(pi_python), tiny_model["path"])
    assert first.ok and [d.status for d in first.devices] == ["deployed"] * 3
    assert "rollout tiny.tflite" in capsys.readouterr().err  # the tqdm progress bar
    second = deploy.rollout(fleet(pi_bare_python), tiny_model["dynamic_path"], progress=False)
    assert not second.ok and second.stopped_at_stage == 0
    assert [d.status for d in second.devices] == ["failed", "skipped", "skipped"]
    assert "numpy is not installed" in second.devices[0].error
    for root in fleet_roots:  # every device still serves the first model
        assert os.readlink(PI_HOME / root / "current") == f"releases/{first.sha256}"
    assert "STOPPED at stage 0" in second.summary()


def test_simulated_fleet_rolls_back_failed_stage(tiny_model, pi_bare_python, tmp_path) -> None:
    """Simulated devices, same API: a stage with a broken device is rolled back; later stages skipped."""
    good = [deploy.simulated_target("raspberry-pi-5", scale=1.0, home=tmp_path / f"d{i}", name=f"sim-{i}")
            for i in range(4)]
    broken = deploy.simulated_target("raspberry-pi-5", scale=1.0, home=tmp_path / "broken",
                                     python=str(pi_bare_python), name="sim-broken")
    targets = [good[0], good[1], broken, good[2], good[3]]
    report = deploy.rollout(targets, tiny_model["path"], canary=1, stage_size=2, progress=False)
    by = report.by_target()
    assert report.stopped_at_stage == 1 and report.stages[1] == ["sim-1", "sim-broken"]
    assert by["sim-0"].status == "deployed" and by["sim-broken"].status == "failed"
    assert by["sim-1"].status == "rolled_back"
    assert by["sim-2"].status == by["sim-3"].status == "skipped"
    assert all(d.simulated for d in report.devices)
    assert good[0].status()["current"] == report.sha256
    assert good[1].status()["current"] is None  # back to what it served before: nothing
    assert report.to_dict()["devices"][2]["error"]


def test_rollout_checks_the_model_before_any_device(tmp_path) -> None:
    """A bad model or bad targets fail before any device is touched."""
    sim = deploy.simulated_target("raspberry-pi-5", scale=1.0, home=tmp_path / "d")
    bad = tmp_path / "bad.tflite"
    bad.write_text("not a model")
    with pytest.raises(ModelError, match="TFL3"):
        deploy.rollout([sim], bad, progress=False)
    assert not (tmp_path / "d" / "edgelab").exists()
    with pytest.raises(ValueError, match="targets must be a non-empty list"):
        deploy.rollout([], bad)
