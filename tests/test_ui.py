"""edgelab.ui: the one wiring helper of the explorers and dashboards, and the kernel-side guard."""

from __future__ import annotations

import ipywidgets as w
import pytest

from edgelab import figures, ui

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _days(count: int, size: float) -> dict:
    """A numbers function: bytes per day of ``count`` messages of ``size`` bytes."""
    if size <= 0:
        raise ValueError(f"size must be > 0; got {size}")
    return {"bytes_per_day": count * size * 24}


def _build() -> ui.Explorer:
    controls = {"count": w.IntSlider(value=10, min=1, max=100, description="per hour"),
                "size": w.FloatSlider(value=200, min=-5, max=5000, description="bytes")}
    return ui.explorer(controls, _days, lambda n: figures.bytes_per_day({"messages": n["bytes_per_day"]}),
                       lambda n: f"<p>{n['bytes_per_day']:,.0f} B</p>")


def test_explorer_computes_draws_and_summarises_from_the_controls() -> None:
    """The numbers come from the controls' values by keyword, the plot is the drawing's PNG and
    the text the summary; both follow a change of any control."""
    box = _build()
    assert box.numbers == {"bytes_per_day": 10 * 200 * 24} and box.result is box.numbers
    assert bytes(box.plot.value) == figures.png(figures.bytes_per_day({"messages": 48_000}))
    assert box.text.value == "<p>48,000 B</p>"
    before = bytes(box.plot.value)
    box.controls["count"].value = 20
    assert box.numbers == {"bytes_per_day": 96_000} and box.text.value == "<p>96,000 B</p>"
    assert bytes(box.plot.value).startswith(PNG_MAGIC) and bytes(box.plot.value) != before
    assert box.text in box.children and box.plot in box.children


def test_a_value_the_numbers_refuse_is_shown_as_text_and_hides_the_plot() -> None:
    """A ValueError from the numbers function is shown (escaped), ``numbers`` is None and the
    plot hidden; a good value brings both back."""
    box = _build()
    box.controls["size"].value = -1
    assert box.numbers is None and "Cannot compute this" in box.text.value
    assert "size must be &gt; 0" in box.text.value and box.plot.layout.display == "none"
    box.controls["size"].value = 100
    assert box.numbers == {"bytes_per_day": 24_000} and box.plot.layout.display is None


def test_explorer_needs_controls() -> None:
    """An explorer without controls is refused with a clear error."""
    with pytest.raises(ValueError, match="controls"):
        ui.explorer({}, _days, lambda n: None, lambda n: "")


def test_two_columns_puts_three_controls_on_the_left() -> None:
    """Up to three controls sit in one row; more go into two columns, three on the left."""
    controls = {str(k): w.IntSlider(description=str(k)) for k in range(5)}
    text, plot = w.HTML(), w.Image()
    top, shown_text, shown_plot = ui.two_columns(controls, text, plot)
    assert (shown_text, shown_plot) == (text, plot)
    left, right = top.children
    assert [c.description for c in left.children] == ["0", "1", "2"]
    assert [c.description for c in right.children] == ["3", "4"]


def test_declared_range_of_each_kind_of_control() -> None:
    """A log slider's range is base**min .. base**max; a dropdown or checkbox has none."""
    assert ui.declared_range(w.FloatLogSlider(value=10, base=10, min=-1, max=4)) == pytest.approx((0.1, 1e4))
    assert ui.declared_range(w.IntSlider(min=3, max=9)) == (3, 9)
    assert ui.declared_range(w.Dropdown(options=["a", "b"])) is None
    assert ui.declared_range(w.Checkbox()) is None


def test_browser_state_is_clamped_and_outputs_accept_nothing() -> None:
    """What a page sends: only the value is taken, clamped into the declared range; a value that
    is not a finite number is dropped; the text and the plot take no state at all."""
    box = _build()
    slider = box.controls["count"]
    slider.set_state({"min": -1e12, "max": 1e12, "value": 1e12, "description": "hacked"})
    assert (slider.min, slider.max, slider.value, slider.description) == (1, 100, 100, "per hour")
    assert box.numbers == {"bytes_per_day": 100 * 200 * 24}
    slider.set_state({"value": float("nan")})
    assert slider.value == 100
    slider.set_state({"value": True})
    assert slider.value == 100
    box.text.set_state({"value": "<script>x</script>"})
    box.plot.set_state({"value": b"forged"})
    assert "script" not in box.text.value and bytes(box.plot.value).startswith(PNG_MAGIC)
