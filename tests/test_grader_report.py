"""grader.report: grades CSV, per-item difficulty, histogram and most failed items."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.pipeline import REPO
from grader.report import ClassReport, ItemStats, class_report


@pytest.mark.slow
def test_report_and_csv_match_the_gradebook(graded_class: dict, tmp_path: Path) -> None:
    """`python -m grader report` writes a CSV of every student and an HTML page with a plot, tables and
    the lines flagged for review."""
    root, lesson = graded_class["root"], graded_class["lesson"]
    proc = subprocess.run([sys.executable, "-m", "grader", "--root", str(root), "report", lesson,
                           "--csv", str(tmp_path / "grades.csv"), "--html", str(tmp_path / "report.html")],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    expected = {s.name: sum(s.expected.values()) for s in graded_class["students"]}
    assert {r["student_id"]: float(r["raw_score"]) for r in rows} == expected
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and "Most often failed" in page
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"

    report = class_report(lesson, root)
    for item in report.items:
        got = [s.expected[item.grade_id] for s in graded_class["students"]]
        assert item.mean_score == pytest.approx(sum(got) / len(got))
        assert item.failed == sum(1 for g in got if g < item.max_score)
        assert f"<td>{item.grade_id}</td>" in page
    faker = next(s.name for s in graded_class["students"] if s.kind == "fake_values")
    assert "Flagged for review" in page and f"<td>{faker}</td>" in page
    assert "differently from what they hold" in page and "class Anything(float):" in page
    assert f"flagged for review: {faker}" in proc.stdout
    honest = next(s.name for s in graded_class["students"] if s.kind == "perfect")
    assert honest not in report.flags


def test_most_failed_orders_by_failures_then_difficulty() -> None:
    """The item most students missed comes first; difficulty is 1 - mean/max."""
    items = [ItemStats("easy", 1, 0.9, 1, 10), ItemStats("hard", 2, 0.2, 9, 10),
             ItemStats("mid", 1, 0.5, 5, 10)]
    report = ClassReport("x", items, {"a": 1.0}, 4.0)
    assert [i.grade_id for i in report.most_failed(2)] == ["hard", "mid"]
    assert items[1].difficulty == pytest.approx(0.9)


@pytest.mark.slow
def test_report_without_grades_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lesson with no graded submissions is a ValueError that says to autograde first."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # nbgrader's alembic
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("00-welcome")
    with pytest.raises(ValueError, match="autograde first"):
        class_report("00-welcome", tmp_path)
