"""grader.cells: cell kinds, names, and which instructor cells the checker runs before each test."""

from __future__ import annotations

import nbformat
import pytest

from grader import cells
from grader.pipeline import REPO

LESSONS = sorted(p for p in (REPO / "lessons").glob("*/*.ipynb") if not p.name.startswith("."))


def notebook(*specs: tuple[str, str]):
    """A notebook from (kind, source) pairs: kind is instructor, solution or test:<grade id>."""
    nb = nbformat.v4.new_notebook()
    for kind, source in specs:
        cell = nbformat.v4.new_code_cell(source)
        if kind == "solution":
            cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": f"s{len(nb.cells)}"}
        elif kind.startswith("test:"):
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                         "grade_id": kind[5:], "points": 1}
        nb.cells.append(cell)
    return nb


def test_kinds() -> None:
    """Solution, test, instructor, hand-graded answer and markdown cells are told apart."""
    nb = notebook(("instructor", "x = 1"), ("solution", "y = 2"), ("test:t", "assert y"))
    nb.cells.append(nbformat.v4.new_markdown_cell("text"))
    answer = nbformat.v4.new_code_cell("")
    answer.metadata["nbgrader"] = {"solution": True, "grade": True}
    nb.cells.append(answer)
    assert [cells.kind(c) for c in nb.cells] == ["instructor", "solution", "test", "markdown", "answer"]


def test_bound_and_free_names() -> None:
    """Module-level bindings include loops, with, imports, walrus and blocks; free names are those
    read before the cell binds them, built-ins excluded."""
    source = ("import numpy as np\nfrom a.b import c as d\nfor i, j in pairs:\n    k = i\n"
              "with open(p) as fh:\n    pass\nif (w := 3):\n    def f(): return g\n"
              "try:\n    pass\nexcept ValueError as err:\n    e2 = err\nx, *y = z")
    assert cells.bound_names(source) == ["np", "d", "i", "j", "k", "fh", "w", "f", "err", "e2", "x", "y"]
    assert cells.free_names(source) == {"pairs", "p", "g", "z"}
    assert cells.free_names("total = 0\nfor v in values:\n    total += v\nprint(len(values))") == {"values"}
    assert cells.free_names("s = [100 * r for r in curve if r > limit]") == {"curve", "limit"}
    assert cells.free_names("def f(x):\n    return x + offset\noffset = 1") == set()
    assert cells.imported_modules("import a.b\nfrom c.d import e") == {"a", "a.b", "c", "c.d", "c.d.e"}
    assert cells.free_names("%matplotlib inline\nx = y") == {"y"} and cells.has_magic("%time x")


def test_refusals_come_from_without_lines() -> None:
    """`# without: a.b, c.d.e` lines name dotted library functions; anything else is ignored."""
    source = ("x = 1\n# without: edgelab.quantize.quantize, edgelab.drift.psi\n"
              "#without: os.system, not-a-name\n")
    assert cells.refusals(source) == ("edgelab.quantize.quantize", "edgelab.drift.psi", "os.system")
    assert cells.refusals("# refuse nothing") == ()


def test_plan_runs_what_the_tests_need_and_nothing_else() -> None:
    """Cells binding or changing what a test reads run before it; an unrelated cell, a solution
    cell and cells after the last test do not; the answers are the solution cells' names."""
    nb = notebook(
        ("instructor", "import math\ndata = [1, 2, 3]"),   # 0: binds data (needed)
        ("instructor", "unrelated = slow_explorer()"),      # 1: not needed
        ("instructor", "data.append(4)"),                   # 2: changes data (needed)
        ("solution", "total = sum(data)\ndef f(x):\n    return x"),  # 3: answers
        ("test:check_total", "assert total == sum(data) and math.isfinite(f(1))"),  # 4
        ("instructor", "import numpy as np\nlate = np.zeros(3)"),   # 5: needed by the next test
        ("test:check_late", "assert late.sum() == 0"),      # 6
        ("instructor", "print(data)"),                      # 7: after the last test
    )
    plan = cells.plan(nb)
    assert plan.answers == {"total", "f"}
    assert plan.tests == {"check_total": 4, "check_late": 6}
    assert plan.before == {"check_total": [0, 2], "check_late": [5]}
    assert {"math", "numpy"} <= plan.modules


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_lessons_are_checkable(path) -> None:
    """In every lesson: no name is both an answer and an instructor's variable, no instructor or
    test cell uses IPython magics (the checker runs plain Python), every test is planned."""
    nb = nbformat.read(str(path), as_version=4)
    plan = cells.plan(nb)
    instructor = set()
    for cell in nb.cells:
        if cells.kind(cell) in (cells.INSTRUCTOR, cells.TEST):
            assert not cells.has_magic(cell.source), cell.source[:80]
        if cells.kind(cell) == cells.INSTRUCTOR:
            instructor |= set(cells.bound_names(cell.source))
    assert not plan.answers & instructor
    tests = {cells.grade_id(c) for c in nb.cells if cells.kind(c) == cells.TEST}
    assert set(plan.tests) == tests and tests
