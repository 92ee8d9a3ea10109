"""Every lesson survives nbgrader's release → autograde pipeline."""

from pathlib import Path

import pytest

from grader.pipeline import REPO, run_pipeline

LESSONS = sorted(p.name for p in (REPO / "lessons").iterdir() if p.is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_full_marks_release_zero_no_leaks(lesson: str, tmp_path: Path) -> None:
    """Source solutions score full marks, the untouched release scores zero, nothing leaks."""
    result = run_pipeline(lesson, tmp_path)
    assert result.max_scores, f"{lesson} has no graded items"
    # The welcome lesson has one quiz and one code item; every module after it at least three.
    assert len(result.max_scores) >= (2 if lesson.startswith("00") else 3)
    assert result.scores["solutions"] == result.max_scores
    assert all(score == 0 for score in result.scores["untouched"].values()), result.scores
    assert set(result.scores["untouched"]) == set(result.max_scores)
    assert result.leaks and not any(result.leaks.values()), result.leaks
