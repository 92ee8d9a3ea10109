"""Generate every lesson's student version and check it, from a clean copy of the lesson.

For each lesson under ``lessons/``, only its notebooks and declared data files
(:func:`grader.pipeline.lesson_data_files`: files under ``<lesson>/data/``) are copied into a
temporary course root; ``nbgrader generate_assignment`` runs there (recording the assignment
in the real course's gradebook) and the release is copied out to ``release/<lesson>/``,
replacing any older one. So a release holds only course content, whatever was run in the
lesson folder before (lesson 06 leaves ``digits_*.tflite`` next to its notebook), and the
source folder is never written to: the checks execute notebooks in the temporary root.

Every notebook must pass three checks:

* the source passes ``nbgrader validate`` (the solutions pass every test);
* the release fails its tests (``nbgrader validate --invert`` succeeds: no test passes);
* no solution code, hidden-test line or marker is in the release
  (:func:`grader.pipeline.leaks`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from grader.autograde import course_root, db_url
from grader.pipeline import REPO, leaks, lesson_data_files, lesson_notebooks, nbgrader


def all_lessons(root: Path) -> list[str]:
    """Every lesson folder under ``lessons/`` (sorted)."""
    return sorted(p.name for p in (Path(root) / "lessons").iterdir()
                  if p.is_dir() and not p.name.startswith(".") and lesson_notebooks(p))


def validate(notebook: Path, invert: bool = False) -> str | None:
    """None if nbgrader's validator (``nbgrader validate [--invert]``, run in this process
    with the course config) passes ``notebook``, else what it found."""
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "grader")).load_config()
    config.Validator.invert = invert
    results = Validator(config=config).validate(str(Path(notebook).resolve()))
    found = {key: [item.get("raw_error") or item.get("source", "") for item in value]
             for key, value in results.items() if value}
    return json.dumps(found, indent=1)[-2000:] if found else None


def course_content(lesson_dir: Path) -> list[Path]:
    """What a lesson's release is made of: its notebooks and its declared data files."""
    return lesson_notebooks(lesson_dir) + lesson_data_files(lesson_dir)


def clean_copy(lesson_dir: Path, root: Path) -> Path:
    """Copy the lesson's course content (nothing else) to ``root/lessons/<lesson>``; return it."""
    target = Path(root) / "lessons" / lesson_dir.name
    target.mkdir(parents=True)
    for path in course_content(lesson_dir):
        dest = target / path.relative_to(lesson_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return target


def _publish(built: Path, dest: Path) -> None:
    """Replace ``dest`` with a copy of ``built`` (copied next to it first, then swapped in)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(built, staging)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def release_lesson(root: Path, lesson: str, check: bool = True) -> list[str]:
    """Release one lesson from a clean copy into ``root/release/<lesson>``; return the problems."""
    with tempfile.TemporaryDirectory(prefix=f"release-{lesson}-") as tmp:
        scratch = Path(tmp)
        copy = clean_copy(root / "lessons" / lesson, scratch)
        gradebook = f"--CourseDirectory.db_url={db_url(root)}"  # the real course's gradebook
        nbgrader(["generate_assignment", lesson, "--force", gradebook], scratch)
        built = scratch / "release" / lesson
        if not built.is_dir():
            return [f"{lesson}: nbgrader generated no release"]
        _publish(built, root / "release" / lesson)  # before the checks execute anything in it
        found: list[str] = []
        for source in lesson_notebooks(copy):
            released = built / source.name
            if not released.exists():
                found.append(f"{source.name}: not released")
                continue
            found += [f"{source.name}: leak: {item}" for item in leaks(source, released)]
            if check:
                report = validate(source)
                if report:
                    found.append(f"{source.name}: the source fails its own tests:\n{report}")
                report = validate(released, invert=True)
                if report:
                    found.append(f"{source.name}: the release passes tests it must fail:\n{report}")
        return found


def release(root: Path | str | None = None, lessons: list[str] | None = None,
            check: bool = True) -> dict[str, list[str]]:
    """Release ``lessons`` (default: all) into ``release/``; return the problems found
    per lesson (empty lists: every check passed)."""
    root = course_root(root)
    known = all_lessons(root)
    lessons = known if lessons is None else list(lessons)
    unknown = [lesson for lesson in lessons if lesson not in known]
    if unknown:
        raise ValueError(f"lessons must be among {known}, got unknown {unknown}")
    return {lesson: release_lesson(root, lesson, check) for lesson in lessons}
