"""grader.release (`python -m grader release`): student versions, validated, with no leaks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.pipeline import REPO
from grader.release import all_lessons, release


@pytest.mark.slow
def test_release_passes_for_a_good_lesson_and_catches_a_wrong_solution(tmp_path: Path) -> None:
    """`python -m grader release`: 00-welcome is OK; a copy with a wrong solution fails (exit 1)."""
    shutil.copytree(REPO / "lessons" / "00-welcome", tmp_path / "lessons" / "00-welcome")
    broken = tmp_path / "lessons" / "99-broken"
    shutil.copytree(REPO / "lessons" / "00-welcome", broken)
    nb = json.loads((broken / "welcome.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "answer_runtime":
            cell["source"] = "### BEGIN SOLUTION\nanswer_runtime = \"a\"\n### END SOLUTION\n"
    (broken / "welcome.ipynb").write_text(json.dumps(nb))

    assert all_lessons(tmp_path) == ["00-welcome", "99-broken"]
    proc = subprocess.run([sys.executable, "-m", "grader", "--root", str(tmp_path), "release"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "00-welcome: OK" in proc.stdout and "99-broken: PROBLEMS" in proc.stdout
    assert "the source fails its own tests" in proc.stdout
    assert "the release passes tests it must fail" not in proc.stdout
    assert (tmp_path / "release" / "00-welcome" / "welcome.ipynb").exists()


def test_unknown_lesson_is_a_clear_error(tmp_path: Path) -> None:
    """Asking for a lesson that does not exist names the known ones."""
    shutil.copytree(REPO / "lessons" / "00-welcome", tmp_path / "lessons" / "00-welcome")
    with pytest.raises(ValueError, match="00-welcome"):
        release(tmp_path, ["no-such-lesson"])
