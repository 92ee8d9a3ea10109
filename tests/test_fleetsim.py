"""edgelab.fleetsim: the rollout policy and the store-and-forward queue, simulated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelab import fleetsim
from edgelab.deploy import plan_stages


def test_healthy_model_reaches_every_device_in_planned_stages() -> None:
    """With no failures every stage passes and every device gets the new model."""
    sim = fleetsim.simulate_rollout(25, 0.0, canary=2, stage_size=10)
    assert not sim.stopped and sim.count("new") == 25
    assert [list(s.devices) for s in sim.stages] == plan_stages(25, canary=2, stage_size=10)


def test_broken_model_stops_at_the_canary() -> None:
    """A model that fails everywhere reaches only the canary, which is rolled back."""
    sim = fleetsim.simulate_rollout(50, 1.0, canary=3, stage_size=10)
    assert sim.stopped and len(sim.stages) == 1
    assert sim.count("rolled_back") == 3 and sim.count("untouched") == 47


@given(n=st.integers(1, 300), p=st.floats(0, 1), canary=st.integers(1, 5),
       stage=st.integers(1, 50), seed=st.integers(0, 10))
def test_rollout_invariants(n: int, p: float, canary: int, stage: int, seed: int) -> None:
    """Only the last stage run may fail; devices after it are untouched; states add up to n."""
    canary = min(canary, n)
    sim = fleetsim.simulate_rollout(n, p, canary=canary, stage_size=stage, seed=seed)
    assert all(s.passed for s in sim.stages[:-1])
    touched = {d for s in sim.stages for d in s.devices}
    assert all(sim.states[d] == "untouched" for d in range(n) if d not in touched)
    assert sim.count("new") + sim.count("rolled_back") + sim.count("untouched") == n


@given(made=st.integers(0, 500), forward=st.integers(0, 1000), start=st.integers(0, 40),
       length=st.integers(0, 40))
def test_outbox_never_loses_a_reading(made: int, forward: int, start: int, length: int) -> None:
    """Produced = delivered + queued every hour, whatever the outage."""
    sim = fleetsim.simulate_outbox(readings_per_hour=made, forward_per_hour=forward,
                                   outage_start_h=start, outage_hours=length, total_hours=48)
    assert (sim.produced == sim.delivered + sim.queued).all() and sim.lost == 0


def test_outbox_drains_after_the_outage() -> None:
    """60 readings/h through a 12 h outage with 180/h forwarding: 720 queued, drained 6 h later."""
    sim = fleetsim.simulate_outbox(readings_per_hour=60, forward_per_hour=180, outage_start_h=6,
                                   outage_hours=12)
    assert sim.queued.max() == 720
    assert sim.drained_at_hour == 23  # 720 / (180 - 60) = 6 hours after the link returns at 18


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"n_devices": 0, "failure_rate": 0.1}, "n_devices"),
    ({"n_devices": 5, "failure_rate": 1.5}, "failure_rate"),
    ({"n_devices": 5, "failure_rate": 0.1, "canary": 9}, "canary"),
])
def test_bad_rollout_input(kwargs: dict, param: str) -> None:
    """Bad values raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match=param):
        fleetsim.simulate_rollout(**kwargs)
