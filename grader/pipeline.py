"""The course's nbgrader plumbing: running the nbgrader CLI on a course root, a lesson's
notebooks and declared data files, and the leak check between a source notebook and its
release (no solution code, no hidden tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRADER_DIR = REPO / "grader"

COURSE_PARTS = ("edgelab", "grader", "nbgrader_config.py")  # what grading a lesson needs besides it
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def nbgrader(args: list[str], course_root: Path, timeout: float = 900, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the nbgrader CLI with the course config on ``course_root``; raise on failure.
    ``cwd`` (default grader/) is where nbgrader finds its ``nbgrader_config.py``."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, **(env or {}), EDGELAB_COURSE_ROOT=str(course_root),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))  # nbgrader runs alembic
    proc = subprocess.run([str(Path(bindir) / "nbgrader"), *args], cwd=cwd or GRADER_DIR, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def course_copy(place: str | Path, lesson: str) -> Path:
    """A copy of the course with only ``lesson`` (edgelab, grader, the nbgrader config), in a
    new folder under ``place`` (the system's temporary folder if ``place`` is not writable),
    as an instructor's checkout elsewhere would be."""
    base = Path(place if os.access(place, os.W_OK) else tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="edgelab-checkout-", dir=base)) / "edge-ai"
    root.mkdir()
    for name in COURSE_PARTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "gradebook.db"))
        else:
            shutil.copyfile(source, root / name)
    shutil.copytree(REPO / "lessons" / lesson, root / "lessons" / lesson)
    return root


def lesson_notebooks(lesson_dir: Path) -> list[Path]:
    """The notebooks of a lesson folder (hidden files left out)."""
    return sorted(p for p in lesson_dir.glob("*.ipynb") if not p.name.startswith("."))


DATA_DIR = "data"


def lesson_data_files(lesson_dir: Path) -> list[Path]:
    """The lesson's declared data files: every regular file under ``<lesson>/data/`` (no
    symlinks). Anything else in a lesson folder (models a run left behind) is not course
    content: releases and grading sandboxes leave it out."""
    folder = Path(lesson_dir) / DATA_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _split_lines(notebook: Path) -> tuple[list[str], list[str], set[str]]:
    """Solution lines, hidden-test lines and every other line of a source notebook
    (stripped, non-blank; comment-only solution lines are left out)."""
    solution: list[str] = []
    hidden: list[str] = []
    visible: set[str] = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        region = None
        for raw in "".join(cell["source"]).splitlines():
            line = raw.strip()
            if line in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
                region = line
            elif line in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
                region = None
            elif not line:
                continue
            elif region == SOLUTION_MARKERS[0]:
                if not line.startswith("#"):
                    solution.append(line)
            elif region == HIDDEN_MARKERS[0]:
                hidden.append(line)
            else:
                visible.add(line)
    return solution, hidden, visible


def leaks(source: Path, release: Path) -> list[str]:
    """Markers, solution lines or hidden-test lines of ``source`` found in ``release``.

    A line counts as leaked only if it does not also stand in the visible part of the
    source (a bare ``try:`` in a visible test is no leak)."""
    released = {line.strip() for cell in json.loads(release.read_text())["cells"]
                for line in "".join(cell["source"]).splitlines()}
    text = release.read_text()
    solution, hidden, visible = _split_lines(source)
    found = [f"marker {m}" for m in SOLUTION_MARKERS + HIDDEN_MARKERS if m in text]
    found += [f"solution: {line}" for line in solution if line in released and line not in visible]
    found += [f"hidden test: {line}" for line in hidden if line in released and line not in visible]
    return found


def secret_lines(source: Path) -> tuple[list[str], list[str]]:
    """The solution and hidden-test lines of a source notebook that are not also visible."""
    solution, hidden, visible = _split_lines(source)
    return ([line for line in solution if line not in visible],
            [line for line in hidden if line not in visible])
