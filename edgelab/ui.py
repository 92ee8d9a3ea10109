"""The one UI layer of the notebook explorers (:mod:`edgelab.widgets`) and the Voila dashboards
(:mod:`edgelab.dashboards`).

Every explorer and dashboard is the same three parts, wired by :func:`explorer`:

- **controls**: ipywidgets, named after the keyword arguments of the numbers function;
- **numbers**: a plain function ``numbers(**control values) -> dict``, testable without widgets;
- **drawing**: ``draw(numbers)`` returns a figure (an :class:`edgelab.figures.Drawing` or a
  matplotlib Figure), shown as a PNG in an ``ipywidgets.Image`` (:func:`edgelab.figures.png`);
  ``summary(numbers)`` returns a short HTML text shown beside it.

What a browser may set on a control is checked in the kernel (:func:`guard_all`): Voila forwards
a page's widget messages to the kernel, so a visitor could otherwise send any state.
"""

from __future__ import annotations

import html
import math
from typing import Any, Callable, Iterable, Mapping, Optional

import ipywidgets as w

# Long descriptions ("deadline (ms)") are shown whole instead of cut to "deadline (...".
WIDE = {"description_width": "initial"}
# What a browser may set on a control: its value (a selection widget sends its index).
BROWSER_SETTABLE = ("value", "index")
Layout = Callable[[Mapping[str, w.Widget], w.HTML, w.Image], list]


def declared_range(control: w.Widget) -> Optional[tuple[float, float]]:
    """The (lowest, highest) value a numeric slider accepts as made now, or None for a
    control without a numeric range (a dropdown, a checkbox)."""
    if isinstance(control, w.FloatLogSlider):
        return control.base ** control.min, control.base ** control.max
    if isinstance(control, (w.IntSlider, w.FloatSlider, w.BoundedIntText, w.BoundedFloatText)):
        return control.min, control.max
    return None


def guard(control: w.Widget, settable: Iterable[str] = BROWSER_SETTABLE) -> w.Widget:
    """Let a browser set only ``settable`` state on ``control`` (its value or selected index),
    the value clamped to the range the control was made with.

    Voila forwards a page's widget messages to the kernel, so a visitor can send any state
    (a slider's ``max`` and ``value`` far beyond its range). Checked here, in the kernel: other
    keys are ignored and a value outside the declared range is clamped into it, so a forged
    message runs the dashboard's code only with values its controls offer. The kernel itself
    may still change the control (e.g. lower a slider's ``max``)."""
    allowed = tuple(settable)
    bounds = declared_range(control)
    accept = control.set_state  # what a front-end update message calls (Widget._handle_msg)

    def set_state(sync_data: dict) -> None:
        state = {key: value for key, value in sync_data.items() if key in allowed}
        if "value" in state and bounds is not None:
            value = state["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                del state["value"]
            else:
                state["value"] = type(control.value)(min(max(value, bounds[0]), bounds[1]))
        if state:
            accept(state)

    control.set_state = set_state
    return control


def guard_all(controls: Iterable[w.Widget], outputs: Iterable[w.Widget] = ()) -> None:
    """:func:`guard` each of ``controls``; ``outputs`` accept nothing from a browser."""
    for control in controls:
        guard(control)
    for output in outputs:
        guard(output, settable=())


def pre(text: str) -> str:
    """Plain text as an HTML ``<pre>`` block (escaped)."""
    return f"<pre style='line-height:1.3'>{html.escape(text)}</pre>"


def two_columns(controls: Mapping[str, w.Widget], text: w.HTML, plot: w.Image) -> list:
    """The default layout: the controls in two columns (three on the left), the text, the plot."""
    shown = list(controls.values())
    if len(shown) <= 3:
        top = w.HBox(shown)
    else:
        top = w.HBox([w.VBox(shown[:3]), w.VBox(shown[3:])])
    return [top, text, plot]


class Explorer(w.VBox):
    """An explorer or dashboard made by :func:`explorer`. ``controls`` maps each keyword of the
    numbers function to its control; ``numbers`` holds the last numbers computed (None when the
    controls' values could not be computed); ``text`` is the summary, ``plot`` the picture (PNG).
    ``result`` is another name for ``numbers``."""

    @property
    def result(self) -> Optional[dict]:
        """The last numbers (the dashboards' older name for them)."""
        return self.numbers


def explorer(controls: Mapping[str, w.Widget], numbers: Callable[..., dict], draw: Callable[[dict], Any],
             summary: Callable[[dict], str], layout: Layout = two_columns) -> Explorer:
    """Wire ``controls`` to ``numbers``, ``draw`` and ``summary``: compute, draw and summarise
    now and on every change of a control's value.

    ``numbers(**{name: control.value})`` returns the numbers; a ValueError it raises (values the
    engines refuse, e.g. a request rate a server cannot keep up with) is shown as the text, the
    plot hidden and ``numbers`` None. ``layout(controls, text, plot)`` returns the children of
    the box (default :func:`two_columns`). Each control is :func:`guard`-ed; the text and the
    plot accept nothing from a browser.

    Plots are shown as PNG images rather than printed into an ``Output`` widget: while Voila
    executes a notebook, output captured by an ``Output`` widget is synced back to the kernel on
    the shell socket that Voila is polling for the execute reply, and now and then the reply was
    never noticed and the page hung (Voila issue #1428; seen here about once in 20 visits)."""
    from edgelab import figures

    if not controls:
        raise ValueError("controls must name at least one control")
    text = w.HTML()
    plot = w.Image(format="png")
    box = Explorer()
    box.controls = dict(controls)
    box.text = text
    box.plot = plot
    box.numbers = None

    def update(*_: object) -> None:
        try:
            found = numbers(**{name: control.value for name, control in box.controls.items()})
        except ValueError as exc:
            box.numbers = None
            text.value = f"<p class='edgelab-error'><b>Cannot compute this:</b> {html.escape(str(exc))}</p>"
            plot.layout.display = "none"
            return
        box.numbers = found
        plot.value = figures.png(draw(found))
        plot.layout.display = None
        text.value = summary(found)

    guard_all(box.controls.values(), [text, plot])
    for control in box.controls.values():
        control.observe(update, names="value")
    box.children = layout(box.controls, text, plot)
    update()
    return box
