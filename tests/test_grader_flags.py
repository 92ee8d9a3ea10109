"""grader.flags: code aimed at the grader is flagged for review; honest solutions are not."""

from __future__ import annotations

import nbformat
import pytest

from grader.classgen import ATTACKS, build
from grader.flags import flag_notebook, flag_source
from grader.pipeline import REPO

LESSONS = sorted(p for p in (REPO / "lessons").glob("*/*.ipynb") if not p.name.startswith("."))


def release_of(source):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(source), as_version=4))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
    return nb


def test_the_classic_tricks_are_named() -> None:
    """Patching a module, faking comparisons, touching IPython or sys.modules: each is flagged
    with its line and a reason."""
    source = ("import numpy as np\nimport sys\nnp.allclose = lambda *a, **k: True\n"
              "class F(float):\n    def __eq__(self, o):\n        return True\n"
              "get_ipython().ast_transformers.append(None)\nsys.modules['math'] = None\nx = 1\n")
    found = {(f.line, f.reason) for f in flag_source(source, imported={"np"})}
    assert (3, "changes the module np (a patch)") in found
    assert any(line == 4 and "differently from what they hold" in reason for line, reason in found)
    assert (7, "uses IPython's shell object") in found and (7, "rewrites every later cell") in found
    assert (8, "touches sys.modules") in found
    assert not any(line == 9 for line, _ in found)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_every_attack_is_flagged_and_honest_work_is_not(path) -> None:
    """In every lesson, each generated attack has flagged lines; the perfect and blank students none."""
    source = nbformat.read(str(path), as_version=4)
    release = release_of(source)
    for kind in ("perfect", "blank"):
        assert flag_notebook(build(kind, source, release)[0], source) == [], kind
    for kind in ATTACKS:
        assert flag_notebook(build(kind, source, release)[0], source), kind
