"""Environment failures are not grades: `python -m grader autograde` says so, exits non-zero and
records nothing for the submissions that could not run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import grading_sandbox_ready, require

from grader.autograde import read_scores
from grader.classgen import make_class
from grader.pipeline import REPO, nbgrader

LESSON = "04-hardware"
pytestmark = pytest.mark.slow


def course(tmp_path: Path) -> Path:
    """A copy of the course (edgelab, grader, lesson 04) with a class of three honest students."""
    root = tmp_path / "edge-ai"
    for name in ("edgelab", "grader"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "lessons" / LESSON, root / "lessons" / LESSON)
    nbgrader(["generate_assignment", LESSON, "--force"], root)
    make_class(LESSON, root, kinds=["perfect", "blank", "one_wrong"])
    return root


def autograde(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root), EDGELAB_COURSE_ROOT=str(root))
    return subprocess.run([sys.executable, "-m", "grader", "autograde", LESSON, "--workers", "2"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=900)


def test_a_broken_course_package_grades_nobody(tmp_path: Path) -> None:
    """A course package that does not import (here edgelab.budget is missing): the lesson's own
    solution fails first, the run stops loudly with exit 3, no grade is recorded."""
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    root = course(tmp_path)
    (root / "edgelab" / "budget.py").unlink()
    proc = autograde(root)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "NOTHING GRADED" in proc.stderr and "ImportError" in proc.stderr, proc.stderr
    assert read_scores(root, LESSON)[0] == {}


def test_a_submission_that_cannot_run_is_listed_not_graded(tmp_path: Path) -> None:
    """One submission breaks the course package inside its own kernel before an instructor cell
    needs it: it is 'could-not-run' in the summary, gets no grade, the others are graded, exit 1."""
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    root = course(tmp_path)
    broken = root / "submitted" / "s09-broken" / LESSON
    shutil.copytree(root / "release" / LESSON, broken)
    nb = nbformat.read(str(broken / "hardware.ipynb"), as_version=4)
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source = "import sys\nsys.modules['edgelab.stats'] = None  # a later instructor cell imports it"
    nbformat.write(nb, str(broken / "hardware.ipynb"))
    proc = autograde(root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "could-not-run" in proc.stdout and "NOT GRADED (could not run) s09-broken" in proc.stderr
    scores, max_scores = read_scores(root, LESSON)
    assert "s09-broken" not in scores and len(scores) == 3
    assert scores[next(s for s in scores if "perfect" in s)] == max_scores
