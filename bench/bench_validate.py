"""What a student waits for after pressing Validate: goal <= 10 s per lesson after its first run.

nbgrader's Validate runs the whole notebook in a fresh kernel. For each lesson this runs
nbgrader's Validator (with the course config, as ``grader.release.validate`` does) on the
SOURCE notebook in a scratch copy of the lesson (its notebooks and declared data files only,
as a student's workspace holds them), twice, with a fresh per-user cache
($XDG_CACHE_HOME, where edgelab keeps trained models): the first run fills the cache, the
second is what every later Validate costs. Prints one line per notebook and exits 1 if a
second run is over the goal or a source notebook fails its own tests. Each line also shows
the CPU seconds the kernel used and the load average: on a shared machine, wall times grow
with the other jobs' load.
Usage: ``python bench/bench_validate.py [lesson-name-part ...]``.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.pipeline import lesson_notebooks  # noqa: E402
from grader.release import clean_copy, validate  # noqa: E402

GOAL_S = 10.0


def timed_validate(notebook: Path) -> tuple[float, float, str | None]:
    """Wall seconds nbgrader's Validator took on ``notebook``, CPU seconds of the processes it
    started (the kernel: a figure the other jobs on a shared machine do not inflate as much),
    and its report (None: passed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    report = validate(notebook)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), report


def main(argv: list[str]) -> int:
    lessons = sorted(p for p in (REPO / "lessons").iterdir() if p.is_dir() and lesson_notebooks(p))
    if argv:
        lessons = [p for p in lessons if any(a in p.name for a in argv)]
    ok = True
    for lesson_dir in lessons:
        with tempfile.TemporaryDirectory(prefix="bench_validate_") as tmp:
            os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # the kernels inherit it
            work = clean_copy(lesson_dir, Path(tmp))
            for source in lesson_notebooks(work):
                first, first_cpu, first_report = timed_validate(source)
                second, second_cpu, second_report = timed_validate(source)
                good = second <= GOAL_S and first_report is None and second_report is None
                ok &= good
                failed = "" if first_report is None and second_report is None else "  (FAILS its tests)"
                print(f"{lesson_dir.name:<30} validate {second:5.1f} s (first run {first:5.1f} s) "
                      f"goal <= {GOAL_S:.0f} s {'OK' if good else 'MISSED'}{failed}  "
                      f"[kernel CPU {second_cpu:.1f} s, first {first_cpu:.1f} s; "
                      f"load {os.getloadavg()[0]:.1f}]", flush=True)
                for report in {first_report, second_report} - {None}:
                    print(report[-1500:], flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
