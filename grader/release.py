"""Generate every lesson's student version and check it.

For each lesson under ``lessons/``: ``nbgrader generate_assignment`` writes
``release/<lesson>/``; then every notebook must pass three checks:

* the source passes ``nbgrader validate`` (the solutions pass every test);
* the release fails its tests (``nbgrader validate --invert`` succeeds: no test passes);
* no solution code, hidden-test line or marker is in the release
  (:func:`grader.pipeline.leaks`).
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.autograde import course_root
from grader.pipeline import REPO, leaks, lesson_notebooks, nbgrader


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
    problems: dict[str, list[str]] = {}
    for lesson in lessons:
        nbgrader(["generate_assignment", lesson, "--force"], root)
        found: list[str] = []
        for source in lesson_notebooks(root / "lessons" / lesson):
            released = root / "release" / lesson / source.name
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
        problems[lesson] = found
    return problems
