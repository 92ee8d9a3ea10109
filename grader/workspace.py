"""A student's workspace: the student version of every lesson, kept up to date without
ever overwriting the student's own work.

``make course`` runs ``python -m grader.workspace sync [WORKSPACE]`` (default ``workspace/``
in the checkout), then opens JupyterLab with the workspace as its root, so the sources in
``lessons/`` (solutions, hidden tests) are not in the file browser.

The student versions are made by nbgrader's ``generate_assignment`` on a temporary copy of
each lesson holding only its notebooks and declared data files
(:func:`grader.pipeline.lesson_data_files`); nothing is executed. Syncing again (after
pulling a new version of the course) adds new lessons and files, updates a file the
student has not changed since it was written, and keeps every file the student changed.
A manifest in the workspace (``.edgelab-workspace.json``) records what was written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.pipeline import GRADER_DIR, REPO, lesson_data_files, lesson_notebooks

DEFAULT_WORKSPACE = REPO / "workspace"
LESSONS = REPO / "lessons"
MANIFEST = ".edgelab-workspace.json"
VIEW_CONFIG = ".jupyter"
# The student view hides nbgrader's instructor tools from JupyterLab's menus (their server
# extensions are off for that launch: see the Makefile's `course` target), and the assignment
# list: a student working alone has no exchange to fetch from or submit to (on the course hub,
# hub/jupyter/student keeps it). Validate stays.
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list")


@dataclass
class SyncReport:
    """What a sync did, as paths relative to the workspace."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)  # changed by the student; the course did not change
    kept: list[str] = field(default_factory=list)  # changed by the student, and the course has a newer one
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal: counts, and every file kept although the course has a
        newer version of it."""
        yours = len(self.edited) + len(self.kept)
        lines = [f"workspace: {len(self.added)} added, {len(self.updated)} updated, "
                 f"{yours} with your changes kept, {len(self.unchanged)} unchanged"]
        lines += [f"  kept your version of {path} (the course has a newer one: rename yours and run "
                  f"`make course` again to get it)" for path in self.kept]
        return "\n".join(lines)


def lessons_in(lessons_dir: Path) -> list[Path]:
    """Every lesson folder (one with notebooks) under ``lessons_dir``, sorted."""
    if not Path(lessons_dir).is_dir():
        raise ValueError(f"lessons_dir must be a folder of lessons, got {lessons_dir}")
    return sorted(p for p in Path(lessons_dir).iterdir()
                  if p.is_dir() and not p.name.startswith(".") and lesson_notebooks(p))


def generate(lessons_dir: Path, out: Path) -> list[Path]:
    """Write the student version of every lesson under ``lessons_dir`` to ``out/<lesson>/``;
    return the files written, relative to ``out``. Runs nbgrader's generate_assignment (no
    execution) on a temporary course root holding only the notebooks and data files."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    lessons = lessons_in(lessons_dir)
    # nbgrader's gradebook runs the `alembic` command installed next to this Python.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="edgelab-release-") as tmp:
        root = Path(tmp)
        for lesson in lessons:
            for path in lesson_notebooks(lesson) + lesson_data_files(lesson):
                dest = root / "lessons" / lesson.name / path.relative_to(lesson)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADER_DIR)).load_config()
        config.CourseDirectory.root = str(root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for lesson in lessons:
            result = api.generate_assignment(lesson.name, force=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not release {lesson.name}:\n{result['log'][-3000:]}")
        release = root / "release"
        written = sorted(p.relative_to(release) for p in release.rglob("*") if p.is_file())
        for rel in written:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(release / rel, out / rel)
    return written


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(source: Path, dest: Path) -> None:
    """Copy atomically: a reader never sees half a notebook."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)


def sync(workspace: Path = DEFAULT_WORKSPACE, lessons_dir: Path = LESSONS) -> SyncReport:
    """Bring ``workspace`` up to date with the student versions of ``lessons_dir``'s lessons:
    add what is missing, update what the student never changed, keep what they changed."""
    workspace = Path(workspace)
    if workspace.exists() and not workspace.is_dir():
        raise ValueError(f"workspace must be a folder, got the file {workspace}")
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    written: dict[str, str] = {}
    if manifest_path.exists():
        written = json.loads(manifest_path.read_text()).get("files", {})
    report = SyncReport()
    with tempfile.TemporaryDirectory(prefix="edgelab-student-") as tmp:
        fresh = Path(tmp)
        for rel in generate(lessons_dir, fresh):
            key, new, dest = rel.as_posix(), _sha256(fresh / rel), workspace / rel
            current = _sha256(dest) if dest.exists() else None
            if current is None:
                _write(fresh / rel, dest)
                report.added.append(key)
            elif current == new:
                report.unchanged.append(key)
            elif current == written.get(key):  # the student never changed it
                _write(fresh / rel, dest)
                report.updated.append(key)
            elif new == written.get(key):  # the student's edits, and the course did not change
                report.edited.append(key)
            else:
                report.kept.append(key)
                continue
            written[key] = new
    manifest_path.write_text(json.dumps({"files": dict(sorted(written.items()))}, indent=1) + "\n")
    write_view_config(workspace)
    return report


def write_view_config(workspace: Path) -> Path:
    """Write the student view's Jupyter configuration folder in ``workspace`` (JupyterLab
    page config hiding the instructor tools) and return it: the folder for
    ``JUPYTER_CONFIG_PATH``."""
    folder = Path(workspace) / VIEW_CONFIG
    page_config = folder / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True, exist_ok=True)
    data = {"disabledExtensions": {name: True for name in INSTRUCTOR_PLUGINS}}
    page_config.write_text(json.dumps(data, indent=1) + "\n")
    return folder


def main(argv: list[str] | None = None) -> int:
    """``sync [WORKSPACE]``: print what changed; exit 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m grader.workspace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sync", help="add new lessons and files to the workspace, keep the student's edits")
    p.add_argument("workspace", nargs="?", type=Path, default=DEFAULT_WORKSPACE,
                   help="the student workspace folder (default: %(default)s)")
    p.add_argument("--lessons", type=Path, default=LESSONS, help="the source lessons (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        report = sync(args.workspace, args.lessons)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
