"""edgelab.widgets: each explorer reacts to its controls."""

from __future__ import annotations

import ipywidgets as w

from edgelab.widgets import tier_explorer


def controls(box: w.Widget) -> dict[str, w.Widget]:
    """All value widgets inside a box, by description."""
    found = {}
    stack = [box]
    while stack:
        widget = stack.pop()
        if isinstance(widget, w.Box):
            stack.extend(widget.children)
        elif getattr(widget, "description", ""):
            found[widget.description] = widget
    return found


def test_tier_explorer_follows_its_controls() -> None:
    """Changing the network to 'none' moves the suggestion from cloud to far edge."""
    box = tier_explorer()
    assert "Cloud data centre" in box.result.value
    controls(box)["network"].value = "none"
    assert "Far edge" in box.result.value
    controls(box)["network"].value = "always"
    controls(box)["deadline (ms)"].value = 5
    assert "Near edge" in box.result.value


def test_latency_explorer_follows_its_controls() -> None:
    """A geostationary link misses a 100 ms deadline every time; a LAN to a slow edge shows a crossover."""
    from edgelab.widgets import latency_explorer

    box = latency_explorer(n=2_000)
    assert "4g-lte" in box.result.value and "p99" in box.result.value
    found = controls(box)
    found["link"].value = "geo-satellite"
    assert "geo-satellite" in box.result.value and "100.00%" in box.result.value
    found["link"].value = "ethernet-lan"
    found["edge inference (ms)"].value = 200
    assert "the edge wins (median) from a payload of" in box.result.value


def test_data_plan_explorer_follows_its_controls() -> None:
    """More cameras mean a bigger fleet total; the three modes are all shown."""
    from edgelab.widgets import data_plan_explorer

    box = data_plan_explorer()
    for mode in ("raw:", "compressed:", "events:"):
        assert mode in box.result.value
    controls(box)["cameras"].value = 1
    assert "fleet of 1:" in box.result.value
    controls(box)["cameras"].value = 5000
    assert "fleet of 5,000:" in box.result.value


def test_device_explorer_follows_its_controls() -> None:
    """A generous budget picks a device; a 20-dollar, 0.1 ms limit picks none."""
    from edgelab.widgets import device_explorer

    box = device_explorer()
    assert "pick: raspberry-pi-5" in box.result.value
    controls(box)["max cost ($)"].value = 20
    assert "pick: none" in box.result.value
