"""Every lesson, graded by the real `python -m grader autograde`, from checkouts outside this one.

For each lesson a copy of the course (edgelab, grader, the lesson) is made in an ordinary place
(/srv, a folder under /home, /tmp, /work), the lesson is released there, and three students
submit: the source solution (full marks), the untouched release (zero), the solution with
one wrong quiz answer (loses exactly that item), and the shortcuts in ``tests/shortcuts/<lesson>/``:
``<answer id>.library.py`` calls the library function an exercise teaches to do by hand,
``<answer id>.copied.py`` copies what the screen shows (the visible examples, printed figures);
each must lose exactly its exercise's points. The grader is started from that copy, with the
copy's edgelab first on the path, as an instructor would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import grading_sandbox_ready, require

from grader import cells
from grader.autograde import read_scores
from grader.classgen import add_student, make_class
from grader.pipeline import REPO, course_copy, leaks, lesson_notebooks, nbgrader

LESSONS = sorted(p.name for p in (REPO / "lessons").iterdir() if p.is_dir() and lesson_notebooks(p))
PLACES = ("/srv", "/home", "/tmp", "/work")
SHORTCUTS = Path(__file__).with_name("shortcuts")
WITHOUT = "# without:"


def shortcuts(lesson: str) -> dict[str, dict[str, str]]:
    """The lesson's shortcut answers by variant ("library", "copied"): grade id -> cell source."""
    variants: dict[str, dict[str, str]] = {}
    for path in sorted((SHORTCUTS / lesson).glob("*.py")):
        grade_id, variant = path.name.removesuffix(".py").rsplit(".", 1)
        variants.setdefault(variant, {})[grade_id] = path.read_text()
    return variants


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_graded_safely_from_a_checkout_elsewhere(lesson: str) -> None:
    """Solution full marks, untouched release zero, one wrong answer loses exactly its item; the
    release leaks nothing; the run says it graded all three and flags nobody."""
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    place = PLACES[LESSONS.index(lesson) % len(PLACES)]
    root = course_copy(place, lesson)
    try:
        nbgrader(["generate_assignment", lesson, "--force"], root)
        for source in lesson_notebooks(root / "lessons" / lesson):
            assert leaks(source, root / "release" / lesson / source.name) == []
        students = make_class(lesson, root, kinds=["perfect", "blank", "one_wrong"])
        for variant, replaced in shortcuts(lesson).items():
            students.append(add_student(lesson, root, f"s-{variant}-shortcuts", replaced))
        env = dict(os.environ, PYTHONPATH=str(root), EDGELAB_COURSE_ROOT=str(root))
        proc = subprocess.run([sys.executable, "-m", "grader", "autograde", lesson, "--workers", "2"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        graded = f"{len(students)} submissions graded"
        assert graded in proc.stdout and "FLAGGED" not in proc.stdout, proc.stdout
        scores, max_scores = read_scores(root, lesson)
        expected = json.loads((root / f"class-{lesson}.json").read_text())
        for student in students:
            assert scores[student.name] == expected[student.name]["expected"], (student.name, proc.stdout)
        perfect = next(s.name for s in students if s.kind == "perfect")
        assert scores[perfect] == max_scores and len(max_scores) >= (2 if lesson.startswith("00") else 3)
        wrong = next(s for s in students if s.kind == "one_wrong")
        assert sum(wrong.expected.values()) < sum(max_scores.values())
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_by_hand_exercise_has_a_library_shortcut(lesson: str) -> None:
    """Each exercise whose hidden tests refuse library functions has a shortcut that calls them."""
    missing = []
    for source in lesson_notebooks(REPO / "lessons" / lesson):
        nb = nbformat.read(str(source), as_version=4)
        answer_id = None
        for cell in nb.cells:
            if cells.kind(cell) == cells.SOLUTION:
                answer_id = cells.grade_id(cell)
            elif cells.kind(cell) == cells.TEST and WITHOUT in cell.source:
                if not (SHORTCUTS / lesson / f"{answer_id}.library.py").is_file():
                    missing.append(answer_id)
    assert missing == [], f"write tests/shortcuts/{lesson}/<id>.library.py for {missing}"
