"""grader.feedback: students learn which check failed and why, never the hidden test source."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.feedback import RedactHiddenTests, hidden_regions
from grader.pipeline import REPO, nbgrader, secret_lines


def page_text(path: Path) -> str:
    """What a student reads on a feedback page (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def leaked(text: str, source: Path) -> list[str]:
    _, hidden = secret_lines(source)
    return [line for line in hidden if line in text]


@pytest.mark.slow
def test_plain_nbgrader_leaks_but_ours_does_not(graded_class: dict, tmp_path: Path) -> None:
    """nbgrader 0.9.6's own feedback shows hidden tests (#917); with the course's configuration
    (`python -m grader feedback`, and `nbgrader generate_feedback` as the formgrader runs it) it does
    not, for any student of the hostile class, and still says which check failed and where."""
    root, lesson = graded_class["root"], graded_class["lesson"]
    source = REPO / "lessons" / lesson / "latency.ipynb"
    wrong = next(s.name for s in graded_class["students"] if s.kind == "one_wrong")
    partial = next(s.name for s in graded_class["students"] if s.kind == "partial")
    plain = tmp_path / "plain"
    shutil.copytree(root, plain, ignore=shutil.ignore_patterns("submitted"))
    stock = tmp_path / "stock"  # no course configuration here: nbgrader's own preprocessors
    stock.mkdir()
    nbgrader(["generate_feedback", lesson, "--force", f"--student={wrong}", f"--CourseDirectory.root={plain}",
              "--CourseDirectory.source_directory=lessons"], plain, cwd=stock)
    assert leaked(page_text(plain / "feedback" / wrong / lesson / "latency.html"), source)

    proc = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "feedback", lesson],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shutil.rmtree(plain / "feedback")  # the course configuration: what the formgrader's button runs
    nbgrader(["generate_feedback", lesson, "--force", f"--student={wrong}"], plain)
    assert not leaked(page_text(plain / "feedback" / wrong / lesson / "latency.html"), source)
    pages = sorted((root / "feedback").glob(f"*/{lesson}/latency.html"))
    assert len(pages) == len(graded_class["students"])
    for page in pages:
        assert not leaked(page_text(page), source), page
        assert "### BEGIN HIDDEN TESTS" not in page_text(page)

    text = page_text(root / "feedback" / wrong / lesson / "latency.html")
    check = next(c for c in nbformat.read(str(source), as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "check_quiz_payload")
    line = check.source.splitlines().index("### BEGIN HIDDEN TESTS") + 2  # the hidden assert
    assert f"a hidden check failed (line {line} of this cell" in text
    assert "hidden tests (1 line) are not shown" in text
    text = page_text(root / "feedback" / partial / lesson / "latency.html")
    assert "write your answer in the exercise's cell" in text  # a missing answer says what to do


def test_redaction_masks_printed_hidden_lines_and_keeps_visible_context() -> None:
    """A hidden line echoed by student code is masked; errors keep name, message and line."""
    source = 'x = 1\n### BEGIN HIDDEN TESTS\nassert secret_function(42) == 1234\n### END HIDDEN TESTS'
    cell = nbformat.v4.new_code_cell(source)
    echo = nbformat.v4.new_output("stream", name="stdout", text="assert secret_function(42) == 1234")
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                   traceback=["Cell In[3], line 3", "----> 3 assert secret_function(42)"])
    cell.outputs = [echo, error]
    nb, _ = RedactHiddenTests().preprocess(nbformat.v4.new_notebook(cells=[cell]), {})
    out = nb.cells[0]
    assert "secret_function" not in out.source and "secret_function" not in str(out.outputs)
    assert out.outputs[1].traceback[0].startswith("a hidden check failed (line 3")
    assert hidden_regions(source) == ([(2, 4)], ["assert secret_function(42) == 1234"])
