"""Committed notebooks are clean, valid, and follow the lesson skeleton."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(str(p.relative_to(REPO))
                   for p in [*REPO.glob("lessons/*/*.ipynb"), *REPO.glob("demos/*.ipynb")])
LESSONS = sorted(str(p.relative_to(REPO)) for p in REPO.glob("lessons/*/*.ipynb"))


def cells(path: str) -> list[dict]:
    return json.loads((REPO / path).read_text())["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_valid_and_without_outputs(path: str) -> None:
    """The notebook validates against nbformat and has no outputs or execution counts."""
    nbformat.validate(nbformat.read(REPO / path, as_version=4))
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path


@pytest.mark.parametrize("path", LESSONS)
def test_lesson_skeleton(path: str) -> None:
    """Objectives first; an explorer widget (after lesson 00); a summary; sources last."""
    markdown = [text(c) for c in cells(path) if c["cell_type"] == "markdown"]
    assert re.search(r"objectives|in this lesson you will", markdown[0], re.I), "objectives first"
    headings = "\n".join(line for m in markdown for line in m.splitlines() if line.startswith("#"))
    assert re.search(r"^##.*summary", headings, re.I | re.M), "a Summary section"
    assert re.search(r"^##.*sources", headings, re.I | re.M), "a Sources section"
    assert "http" in markdown[-1], "the sources section links its sources"
    if "00-welcome" not in path:
        code = "\n".join(text(c) for c in cells(path) if c["cell_type"] == "code")
        assert re.search(r"edgelab\.widgets|_explorer\(", code), "an interactive explorer"
        assert re.search(r"^##.*(explore|explorer)", headings, re.I | re.M), "an Explore section"
        assert re.search(r"^##.*quiz", headings, re.I | re.M), "a Quiz section"


@pytest.mark.parametrize("path", LESSONS)
def test_graded_cells_are_named_and_documented(path: str) -> None:
    """Grade ids are unique and descriptive; test cells start with a docstring and have points."""
    seen = set()
    for cell in cells(path):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        grade_id = meta["grade_id"]
        assert grade_id not in seen and re.fullmatch(r"[a-z][a-z0-9_]{3,}", grade_id), grade_id
        seen.add(grade_id)
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("points", 0) > 0, grade_id
            tree = ast.parse(text(cell).replace("### BEGIN HIDDEN TESTS", "").replace(
                "### END HIDDEN TESTS", ""))
            assert ast.get_docstring(tree), f"{grade_id}: start the test cell with a one-line docstring"
            assert "### BEGIN HIDDEN TESTS" in text(cell), f"{grade_id}: hidden tests decide the grade"


def _messages(tree: ast.AST):
    """(line, message node) of every assert message and AssertionError argument."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            yield node.lineno, node.msg
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args \
                and getattr(node.exc.func, "id", "") == "AssertionError":
            yield node.lineno, node.exc.args[0]


@pytest.mark.parametrize("path", LESSONS)
def test_hidden_assertion_messages_never_show_a_value(path: str) -> None:
    """A failing hidden check says what is wrong in fixed words: its message is a plain string,
    never an expected value, a hidden input or anything computed (feedback keeps messages)."""
    from grader.feedback import hidden_regions

    for cell in nbformat.read(str(REPO / path), as_version=4).cells:
        regions, _ = hidden_regions(cell.source) if cell.cell_type == "code" else ([], [])
        if not regions:
            continue
        for line, message in _messages(ast.parse(cell.source)):
            if any(first <= line <= last for first, last in regions):
                assert isinstance(message, ast.Constant) and isinstance(message.value, str), \
                    f"{path}: hidden message on line {line} is `{ast.unparse(message)}`"


@pytest.mark.parametrize("path", LESSONS)
def test_check_cells_name_their_exercise_and_say_when_they_pass(path: str) -> None:
    """Each check cell's docstring starts with its exercise (what the Validate dialog shows), its
    visible part ends by saying it passed, and no cell looks answers up in globals() (a missing
    answer must be a NameError that says what to run, not a KeyError)."""
    for cell in nbformat.read(str(REPO / path), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        assert "globals()" not in cell.source, f"{path}: {cell.source[:80]}"
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        first, visible = cell.source.splitlines()[0], cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert re.match(r'^"""(Q\d+|\d+(\.\d+)?) · ', first), f"{path}: {first}"
        assert re.search(r'print\("[^"]*(passed the visible tests|a valid answer)[^"]*"\)\s*$', visible), \
            f"{path}: {meta['grade_id']}"


QUIZ_ANSWER = re.compile(r'^\s*(\w+) = "([a-e])"\s*$', re.M)
OPTION = re.compile(r"^- \*\*([a-e])\)\*\*", re.M)


@pytest.mark.parametrize("path", LESSONS)
def test_quizzes_are_scenarios_with_enough_options_and_a_small_share(path: str) -> None:
    """Each one-letter quiz answer follows a question with at least four options (its answer one
    of them), and quizzes give at most 20 % of the lesson's points: the grade rests on work."""
    nb = nbformat.read(str(REPO / path), as_version=4)
    quiz_points, total, quiz_answer = 0.0, 0.0, False
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            match = QUIZ_ANSWER.search(cell.source)
            quiz_answer = match is not None
            if quiz_answer:
                question = nb.cells[index - 1].source
                options = OPTION.findall(question)
                assert len(options) >= 4, f"{path}: {meta['grade_id']} offers {options}"
                assert match.group(2) in options, f"{path}: {meta['grade_id']}"
        elif meta.get("grade"):
            total += float(meta.get("points", 0))
            quiz_points += float(meta.get("points", 0)) if quiz_answer else 0.0
    assert total > 0 and quiz_points / total <= 0.2, f"{path}: quizzes give {quiz_points} of {total} points"


@pytest.mark.parametrize("path", LESSONS)
def test_a_figure_in_the_lesson(path: str) -> None:
    """Every lesson draws at least one edgelab figure in an instructor cell before its summary
    (where a learner would rather look than read)."""
    drawn = []
    for cell in cells(path):
        if cell["cell_type"] == "markdown" and re.match(r"##\s.*summary", text(cell), re.I):
            break
        if cell["cell_type"] == "code" and not cell["metadata"].get("nbgrader"):
            drawn += re.findall(r"\bfigures\.(\w+)\(", text(cell))
    assert drawn, "a figures.<name>(...) call in an instructor cell before the summary"
