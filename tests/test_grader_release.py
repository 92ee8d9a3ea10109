"""grader.release (`python -m grader release`): student versions, validated, with no leaks."""

from __future__ import annotations

import hashlib
import json
import os
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
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "answer_visible":
            cell["source"] = "### BEGIN SOLUTION\nanswer_visible = \"a\"\n### END SOLUTION\n"
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


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its sha256 and modification time (ns)."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_release_is_made_from_a_clean_copy_and_never_writes_the_source(tmp_path: Path) -> None:
    """Lesson 06 with leftovers of earlier runs (a digits_int8.tflite, a scratch.txt, a
    checkpoint) releases OK: the release holds only its notebook and declared data file, the
    source folder is unchanged (no file added, changed or touched), the gradebook knows the
    lesson, and the source check is not failed by LiteRT's XNNPACK stderr line."""
    lesson = tmp_path / "lessons" / "06-quantization"
    shutil.copytree(REPO / "lessons" / "06-quantization", lesson)
    (lesson / "digits_int8.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3 left by an earlier run")
    (lesson / "scratch.txt").write_text("notes\n")
    (lesson / ".ipynb_checkpoints").mkdir()
    (lesson / ".ipynb_checkpoints" / "quantization-checkpoint.ipynb").write_text("{}")
    (lesson / "data").mkdir()
    (lesson / "data" / "calibration.csv").write_text("x\n0.5\n")
    before = snapshot(lesson)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))  # a first run: the model is trained
    command = [sys.executable, "-m", "grader", "--root", str(tmp_path), "release", "06-quantization"]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "06-quantization: OK" in proc.stdout
    released = tmp_path / "release" / "06-quantization"
    assert sorted(str(p.relative_to(released)) for p in released.rglob("*") if p.is_file()) == [
        "data/calibration.csv", "quantization.ipynb"]
    assert snapshot(lesson) == before
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert [nb.name for nb in gb.find_assignment("06-quantization").notebooks] == ["quantization"]
