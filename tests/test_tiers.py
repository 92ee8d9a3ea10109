"""edgelab.tiers: sourced tier data and the placement rule of thumb."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelab import tiers


def test_every_tier_has_a_source_and_examples() -> None:
    """Each tier names its source and its RTT figure's source, with examples."""
    assert [t.id for t in tiers.tiers()] == ["cloud", "mec", "near-edge", "far-edge"]
    for t in tiers.tiers():
        assert t.source and t.rtt_source and t.examples


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"latency_budget_ms": 10}, "near-edge"),
    ({"latency_budget_ms": 10, "heavy_model": True}, "mec"),
    ({"latency_budget_ms": 500}, "cloud"),
    ({"latency_budget_ms": 500, "private_data": True}, "near-edge"),
    ({"latency_budget_ms": 500, "raw_data_mbps": 25, "uplink_mbps": 5}, "near-edge"),
    ({"latency_budget_ms": 500, "connectivity": "intermittent"}, "far-edge"),
    ({"latency_budget_ms": 5000, "power": "harvested"}, "far-edge"),
])
def test_place(kwargs: dict, expected: str) -> None:
    """Each constraint pushes the workload to the tier the lesson teaches."""
    placement = tiers.place(**kwargs)
    assert placement.tier.id == expected
    assert placement.reasons and str(placement).startswith(placement.tier.name)


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"latency_budget_ms": 0}, "latency_budget_ms"),
    ({"latency_budget_ms": math.nan}, "latency_budget_ms"),
    ({"latency_budget_ms": 10, "connectivity": "wifi"}, "connectivity"),
    ({"latency_budget_ms": 10, "power": "nuclear"}, "power"),
    ({"latency_budget_ms": 10, "raw_data_mbps": -1}, "raw_data_mbps"),
    ({"latency_budget_ms": 10, "uplink_mbps": 0}, "uplink_mbps"),
])
def test_bad_input_names_the_parameter(kwargs: dict, param: str) -> None:
    """Bad values raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match=param):
        tiers.place(**kwargs)


def test_unknown_tier_lists_known_ids() -> None:
    """An unknown tier id lists the ones that exist."""
    with pytest.raises(ValueError, match="cloud, mec, near-edge, far-edge"):
        tiers.tier("fog")


@given(budget=st.floats(min_value=0.001, max_value=1e6), connectivity=st.sampled_from(tiers.CONNECTIVITY),
       power=st.sampled_from(tiers.POWER), private=st.booleans(), heavy=st.booleans())
def test_place_always_answers_with_reasons(budget: float, connectivity: str, power: str,
                                           private: bool, heavy: bool) -> None:
    """Any valid description gets a tier and at least one reason; offline always means far edge."""
    placement = tiers.place(latency_budget_ms=budget, connectivity=connectivity, power=power,
                            private_data=private, heavy_model=heavy)
    assert placement.reasons
    if connectivity != "always":
        assert placement.tier.id == "far-edge"
