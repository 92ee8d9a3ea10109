"""grader.safe_execute: plain `nbgrader autograde` (what the formgrader's button runs) is the safe grader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import grading_sandbox_ready, require

from grader.autograde import read_scores
from grader.classgen import make_class
from grader.pipeline import REPO, nbgrader

LESSON = "02-latency"
KINDS = ["perfect", "blank", "one_wrong", "fake_values", "early_result", "patched_libraries"]


@pytest.mark.slow
def test_nbgrader_autograde_runs_the_checker_not_the_students_kernel(tmp_path: Path) -> None:
    """With the course's configuration, nbgrader's own autograde command grades honest students
    exactly and gives the grader-aware attacks nothing, like `python -m grader autograde`."""
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    shutil.copytree(REPO / "lessons" / LESSON, tmp_path / "lessons" / LESSON)
    nbgrader(["generate_assignment", LESSON, "--force"], tmp_path)
    make_class(LESSON, tmp_path, kinds=KINDS)
    nbgrader(["autograde", LESSON, "--create", "--force", "--SafeExecute.wall_seconds=60",
              "--SafeExecute.cell_seconds=15"], tmp_path, timeout=1500)
    scores, _ = read_scores(tmp_path, LESSON)
    manifest = json.loads((tmp_path / f"class-{LESSON}.json").read_text())
    expected = {student: entry["expected"] for student, entry in manifest.items()}
    assert scores == expected
