"""Which profile figures rest on an assumption, and how lessons list them (edgelab.sources)."""

from __future__ import annotations

import pytest

from edgelab import devices, network, sources


def test_assumption_lines_name_profile_field_value_and_reason() -> None:
    """edgelab.sources lists each assumed figure with its value and the reason from the data."""
    pi4 = devices.device("raspberry-pi-4")
    lines = sources.assumption_lines([pi4], ["overhead_ms"])
    reason = pi4.sources["overhead_ms"].split(":", 1)[1].strip()
    assert lines == [f"raspberry-pi-4 overhead_ms = {pi4.overhead_ms}: {reason}"]
    link_lines = sources.assumption_lines([network.link("5g")])
    assert any(line.startswith("5g radio = lte: ") for line in link_lines)
    assert all(not line.startswith("5g rtt_ms.median") for line in link_lines)  # a sourced field
    with pytest.raises(ValueError, match="profile must be"):
        sources.assumptions("raspberry-pi-4")


def test_fields_limit_the_lines() -> None:
    """Only the asked fields are listed, and a sourced field is never listed."""
    pi5 = devices.device("raspberry-pi-5")
    assert sources.assumption_lines([pi5], ["overhead_ms", "active_w"]) == [
        f"raspberry-pi-5 overhead_ms = {pi5.overhead_ms}: {sources.assumptions(pi5)['overhead_ms']}"]
    assert sources.assumption_lines([pi5], ["active_w"]) == []
