"""The Voila demos render in real headless Chromium and react to their controls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import CHROMIUM, ERROR_TEXT, REPO, SCREENSHOTS, chromium, open_demo, voila_server, watch_errors
from conftest import require

GALLERY = "index.ipynb"
DEMOS = sorted(p.name for p in (REPO / "demos").glob("*.ipynb") if p.name != GALLERY)

# For each demo: how a visitor changes a control, and the element whose text must change.
INTERACTIONS = {
    "edge_tiers.ipynb": {"select": ("select >> nth=0", "none"), "watch": ".widget-html-content"},
    "fleet_rollout.ipynb": {"slider": ("failure rate", "End"), "watch": ".edgelab-rollout-counts"},
    "quantization_explorer.ipynb": {"select": ("select >> nth=0", "float32"), "watch": ".edgelab-estimate"},
    "latency_explorer.ipynb": {"select": ("select >> nth=0", "geo-satellite"),
                               "watch": ".edgelab-table"},
}


@pytest.fixture(scope="module")
def gallery(digits_variants: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo gallery served by Voila, with the quantization demo's models prebuilt."""
    require(os.path.exists(CHROMIUM), "Debian chromium (/usr/bin/chromium)")
    from edgelab import artifacts
    from edgelab.convert import ConvertedModel

    out = tmp_path_factory.mktemp("demo_artifacts")
    variants = {v: ConvertedModel.load(p, name="digits") for v, p in digits_variants["paths"].items()}
    artifacts.write_digits(out, variants, digits_variants["x_test"], digits_variants["y_test"],
                           digits_variants["keras_accuracy"])
    with voila_server(env={"EDGELAB_DEMO_ARTIFACTS": str(out)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.slow
def test_gallery_lists_every_demo(gallery: str, browser) -> None:
    """The gallery page links every demo notebook, and the links work."""
    page = browser.new_page()
    errors = watch_errors(page)
    page.goto(f"{gallery}/voila/render/{GALLERY}")
    for demo in DEMOS:
        page.locator(f"a[href='{demo}']").wait_for(timeout=60_000)
    assert errors == [], errors
    page.locator(f"a[href='{DEMOS[0]}']").click()
    page.wait_for_url(f"**/voila/render/{DEMOS[0]}", timeout=30_000)
    page.close()


def test_every_demo_has_an_interaction() -> None:
    """Each demo notebook has a browser interaction to test."""
    assert set(DEMOS) == set(INTERACTIONS)


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMOS)
def test_demo_renders_and_reacts(gallery: str, browser, demo: str) -> None:
    """No JavaScript errors, no error outputs, and changing a control changes what is shown."""
    page, errors, seconds = open_demo(browser, f"{gallery}/voila/render/{demo}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{Path(demo).stem}.png"), full_page=True)
    body = page.inner_text("body")
    assert ERROR_TEXT not in body and "Traceback" not in body
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    spec = INTERACTIONS[demo]
    watched = page.locator(spec["watch"]).first
    before = watched.inner_text()
    if "select" in spec:
        selector, value = spec["select"]
        page.locator(selector).select_option(value)
    if "slider" in spec:  # move the slider's handle with the keyboard, as a visitor can
        label, key = spec["slider"]
        handle = page.locator(".widget-slider", has_text=label).locator(".noUi-handle").first
        handle.click()
        page.keyboard.press(key)
    page.wait_for_function(
        "([sel, old]) => document.querySelector(sel) && document.querySelector(sel).innerText !== old",
        arg=[spec["watch"], before], timeout=20_000)
    assert watched.inner_text() != before
    page.screenshot(path=str(SCREENSHOTS / f"{Path(demo).stem}-changed.png"), full_page=True)
    assert errors == [], errors
    page.close()
