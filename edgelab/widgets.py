"""Interactive explorers for the lessons and demos (ipywidgets).

Each explorer wraps a plain edgelab function (function first, widget second, as in
the ipywidgets Lorenz example): the function is tested with pytest, the widget by
setting its controls' ``.value``.
"""

from __future__ import annotations

import ipywidgets as w

from edgelab import tiers

# Long descriptions ("deadline (ms)") are shown whole instead of cut to "deadline (...".
WIDE = {"description_width": "initial"}


def tier_explorer() -> w.VBox:
    """Controls for :func:`edgelab.tiers.place` and the placement it suggests."""
    budget = w.FloatLogSlider(value=100, base=10, min=0, max=4, step=0.05,
                              description="deadline (ms)", readout_format=".0f", style=WIDE)
    connectivity = w.Dropdown(options=tiers.CONNECTIVITY, value="always", description="network", style=WIDE)
    power = w.Dropdown(options=tiers.POWER, value="mains", description="power", style=WIDE)
    private = w.Checkbox(value=False, description="raw data must stay on site")
    heavy = w.Checkbox(value=False, description="model needs a server")
    raw = w.FloatSlider(value=0.1, min=0, max=50, step=0.1, description="sensor Mbit/s", style=WIDE)
    uplink = w.FloatSlider(value=10, min=0.1, max=100, step=0.1, description="uplink Mbit/s", style=WIDE)
    result = w.HTML()

    def update(*_: object) -> None:
        placement = tiers.place(latency_budget_ms=budget.value, connectivity=connectivity.value,
                                power=power.value, private_data=private.value,
                                raw_data_mbps=raw.value, uplink_mbps=uplink.value,
                                heavy_model=heavy.value)
        items = "".join(f"<li>{reason}</li>" for reason in placement.reasons)
        result.value = (f"<b>Suggested tier: {placement.tier.name}</b>"
                        f"<ul>{items}</ul><i>{placement.tier.description}</i>")

    controls = (budget, connectivity, power, private, heavy, raw, uplink)
    for control in controls:
        control.observe(update, names="value")
    update()
    box = w.VBox([w.HBox([w.VBox(list(controls[:3])), w.VBox(list(controls[3:]))]), result])
    box.result = result  # for tests and callers that read the outcome
    return box
