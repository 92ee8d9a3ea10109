"""Autograde a class of 30: `python -m grader autograde` (2 sandboxed workers: the student's
kernel and the checker per submission, plus the lesson's own solution checked first) vs
nbgrader's stock sequential `nbgrader autograde` (tests in the student's kernel), same
submissions, same scores; on 00-welcome and on 02-latency (cells that import edgelab and run
the simulator).

Goal: >= 1.5x faster on both lessons. The side-by-side class is honest (perfect, partial,
blank, one wrong answer, syntax error, sys.exit): stock nbgrader would wait 300 s on an endless
loop and give the attacks full marks, so the hostile class (every classgen kind) runs only
through the safe grader, after it, with its own time. Prints ratios and OK/MISSED; exits 1
if missed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.autograde import autograde, read_scores  # noqa: E402
from grader.classgen import KINDS, make_class  # noqa: E402
from grader.pipeline import REPO, nbgrader  # noqa: E402
from grader.sandbox import Limits  # noqa: E402

LESSONS = ("00-welcome", "02-latency")
SIZE = 30
WORKERS = 2
GOAL = 1.5
HONEST = ["perfect", "partial", "blank", "one_wrong", "syntax_error", "sys_exit"]


def course(base: Path, name: str, lesson: str) -> Path:
    root = base / name
    shutil.copytree(REPO / "lessons" / lesson, root / "lessons" / lesson)
    nbgrader(["generate_assignment", lesson, "--force"], root)
    return root


def stock_autograde(root: Path, lesson: str, empty: Path) -> None:
    """nbgrader as shipped: no course configuration (started in an empty folder)."""
    nbgrader(["autograde", lesson, "--create", "--force", f"--CourseDirectory.root={root}",
              "--CourseDirectory.source_directory=lessons", "--Execute.timeout=300"], root, timeout=3600,
             cwd=empty)


def compare(base: Path, lesson: str) -> bool:
    plain_root = course(base, f"plain-{lesson}", lesson)
    ours_root = base / f"ours-{lesson}"
    shutil.copytree(plain_root, ours_root)
    kinds = [HONEST[i % len(HONEST)] for i in range(SIZE)]
    students = make_class(lesson, plain_root, kinds=kinds)
    make_class(lesson, ours_root, kinds=kinds)
    expected = {s.name: s.expected for s in students}
    empty = base / "empty"
    empty.mkdir(exist_ok=True)

    start = time.perf_counter()
    stock_autograde(plain_root, lesson, empty)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    result = autograde(lesson, ours_root, workers=WORKERS)
    ours = time.perf_counter() - start
    same = read_scores(plain_root, lesson)[0] == read_scores(ours_root, lesson)[0] == expected
    per_run = sorted(r.seconds for nbs in result.runs.values() for r in nbs.values())
    ratio = plain / ours
    print(f"honest class of {SIZE}, lesson {lesson}")
    print(f"  stock nbgrader autograde (sequential)   {plain:7.1f} s  {plain / SIZE:5.2f} s/notebook")
    print(f"  python -m grader autograde ({WORKERS} workers) {ours:7.1f} s  {ours / SIZE:5.2f} s/notebook "
          f"(lesson's own solution first: {result.preflight_seconds:.1f} s; one notebook's run: median "
          f"{per_run[len(per_run) // 2]:.1f} s, slowest {per_run[-1]:.1f} s)")
    print(f"  same scores (stock == safe == expected): {same}")
    verdict = "OK" if ratio >= GOAL and same else "MISSED"
    print(f"  speed-up stock/safe = {ratio:.2f}x  (goal >= {GOAL}x)  {verdict}")
    return ratio >= GOAL and same


def hostile(base: Path, lesson: str) -> bool:
    root = course(base, f"hostile-{lesson}", lesson)
    kinds = [KINDS[i % len(KINDS)] for i in range(SIZE)]
    students = make_class(lesson, root, kinds=kinds)
    limits = Limits(wall_seconds=60, cell_seconds=20, cpu_seconds=60, memory_bytes=2 * 2**30)
    start = time.perf_counter()
    result = autograde(lesson, root, workers=WORKERS, limits=limits)
    took = time.perf_counter() - start
    right = sum(result.scores.get(s.name) == s.expected for s in students)
    slowest = max(r.seconds for nbs in result.runs.values() for r in nbs.values())
    print(f"hostile class of {SIZE} on {lesson} (every classgen kind), {WORKERS} workers: {took:.1f} s, "
          f"{took / SIZE:.2f} s/notebook, slowest notebook {slowest:.1f} s (limit {limits.wall_seconds:g} s)")
    verdict = "OK" if right == len(students) else "MISSED"
    print(f"  scores exactly as expected: {right}/{len(students)}  {verdict}")
    for s in students:
        if result.scores.get(s.name) != s.expected:
            got = result.scores.get(s.name) or {}
            print(f"    {s.name}: got {sum(v or 0 for v in got.values()):g}, expected "
                  f"{sum(s.expected.values()):g}; {result.could_not_run.get(s.name, '')}")
    return right == len(students)


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="bench-autograde-"))  # 0700: sources stay private
    try:
        ok = all([compare(base, lesson) for lesson in LESSONS])
        ok = hostile(base, "02-latency") and ok
        return 0 if ok else 1
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


if __name__ == "__main__":
    sys.exit(main())
