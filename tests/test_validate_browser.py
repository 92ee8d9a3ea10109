"""nbgrader's Validate button in the student view (`make course`), clicked in real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from browser import CHROMIUM, SCREENSHOTS, chromium
from conftest import require
from test_course_launch import make_lab

REPO = Path(__file__).resolve().parent.parent
LESSON = "00-welcome"
NOTEBOOK = "welcome.ipynb"
TIMEOUT_MS = 180_000


def source_solutions(source: Path) -> dict[str, str]:
    """grade_id -> the source notebook's solution code, without nbgrader's markers."""
    answers = {}
    for cell in nbformat.read(str(source), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def student_cells(notebook: Path) -> tuple[dict[int, str], list[str]]:
    """{index: grade_id} of the solution cells, and the first line of each visible test cell."""
    cells = nbformat.read(str(notebook), as_version=4).cells
    solution = {i: c.metadata.nbgrader.grade_id for i, c in enumerate(cells)
                if c.metadata.get("nbgrader", {}).get("solution")}
    tests = [c.source.strip().splitlines()[0] for c in cells
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    return solution, tests


def validate(page, screenshot: str) -> tuple[str, str]:
    """Click Validate, wait for nbgrader's result dialog (screenshot in build/screenshots/);
    return the dialog's CSS classes and its text."""
    page.click(".validate-button")
    body = page.wait_for_selector(".jp-Dialog .validation-failed, .jp-Dialog .validation-success, "
                                  ".jp-Dialog .validation-changed, .jp-Dialog .validation-error",
                                  timeout=TIMEOUT_MS)
    classes, text = body.get_attribute("class") or "", body.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / screenshot))
    page.click(".jp-Dialog .jp-mod-accept")
    page.wait_for_selector(".jp-Dialog", state="detached")
    return classes, text


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_validate_lists_failing_tests_then_passes_once_answered(tmp_path: Path) -> None:
    """In the student view, lesson 00 run as is: Validate lists each failing visible test; with
    the answers filled in and saved, Validate says the notebook passes."""
    require(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    ws = tmp_path / "ws"
    with make_lab("course", tmp_path, f"WORKSPACE={ws}") as url, chromium() as browser:
        solution_cells, visible_tests = student_cells(ws / LESSON / NOTEBOOK)
        answers = source_solutions(REPO / "lessons" / LESSON / NOTEBOOK)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url, timeout=TIMEOUT_MS)  # the printed URL opens lesson 00
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=TIMEOUT_MS)
        page.wait_for_selector(".jp-NotebookPanel .validate-button", timeout=TIMEOUT_MS)
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('Idle')", timeout=TIMEOUT_MS)  # the kernel
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        page.wait_for_selector(".jp-OutputArea-output:has-text('NotImplementedError')", state="attached",
                               timeout=TIMEOUT_MS)

        classes, text = validate(page, "validate-failing.png")
        assert "validation-failed" in classes, text[:2000]
        assert text.count("The following cell failed:") == len(visible_tests), text[:3000]
        for first_line in visible_tests:  # each failing check named by its exercise ("3 · ...")
            assert re.match(r'^"""(Q\d+|\d+(\.\d+)?) · ', first_line), first_line
            assert first_line in text, f"{first_line!r} not listed:\n{text[:3000]}"

        cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        for index, grade_id in solution_cells.items():
            editor = cells.nth(index).locator(".cm-content")
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(answers[grade_id])
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !document.querySelector('.lm-DockPanel-tabBar .jp-mod-dirty')")
        classes, text = validate(page, "validate-passing.png")
        assert "validation-success" in classes, text[:3000]
        assert "Success! Your notebook passes all the tests." in text
        saved = nbformat.read(str(ws / LESSON / NOTEBOOK), as_version=4)
        assert all(answers[g].strip() in saved.cells[i].source for i, g in solution_cells.items())
