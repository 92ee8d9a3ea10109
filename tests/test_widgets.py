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
