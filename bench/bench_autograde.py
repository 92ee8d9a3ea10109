"""Autograde a class of 30: `python -m grader autograde` (2 sandboxed workers) vs plain
sequential `nbgrader autograde`, same submissions, same scores.

Goal: >= 1.7x faster. The side-by-side class is honest (perfect, partial, blank, syntax
error, sys.exit): plain nbgrader would wait 300 s on an endless loop, let a memory hog
take the machine's RAM and let a gradebook attack fail every later student, so the
full hostile class (every kind of classgen) runs only through the sandbox, after it,
with its own time and per-notebook time. Prints ratios and OK/MISSED; exits 1 if missed.
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
from grader.classgen import class_kinds, make_class  # noqa: E402
from grader.pipeline import REPO, nbgrader  # noqa: E402
from grader.sandbox import Limits  # noqa: E402

LESSON = "00-welcome"
SIZE = 30
WORKERS = 2
GOAL = 1.7
HONEST = ["perfect", "partial", "blank", "syntax_error", "sys_exit"]


def course(base: Path, name: str) -> Path:
    root = base / name
    shutil.copytree(REPO / "lessons" / LESSON, root / "lessons" / LESSON)
    nbgrader(["generate_assignment", LESSON, "--force"], root)
    return root


def main() -> int:
    if shutil.which("unshare") is None:
        print("unshare (util-linux) is missing: the sandbox cannot run")
        return 1
    base = Path(tempfile.mkdtemp(prefix="bench-autograde-"))  # 0700: sources stay private
    try:
        plain_root = course(base, "plain")
        ours_root = base / "ours"
        shutil.copytree(plain_root, ours_root)
        kinds = [HONEST[i % len(HONEST)] for i in range(SIZE)]
        students = make_class(LESSON, plain_root, kinds=kinds)
        make_class(LESSON, ours_root, kinds=kinds)
        expected = {s.name: s.expected for s in students}

        start = time.perf_counter()
        nbgrader(["autograde", LESSON, "--create", "--force"], plain_root)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        autograde(LESSON, ours_root, workers=WORKERS)
        ours = time.perf_counter() - start
        plain_scores = read_scores(plain_root, LESSON)[0]
        ours_scores = read_scores(ours_root, LESSON)[0]
        same = plain_scores == ours_scores == expected

        ratio = plain / ours
        print(f"honest class of {SIZE}, lesson {LESSON}")
        print(f"plain nbgrader autograde (sequential)  {plain:7.1f} s  {plain / SIZE:5.2f} s/notebook")
        print(f"python -m grader autograde ({WORKERS} workers) {ours:7.1f} s  {ours / SIZE:5.2f} s/notebook")
        print(f"same scores (plain == sandboxed == expected): {same}")
        print(f"speed-up plain/sandboxed = {ratio:.2f}x  (goal >= {GOAL}x)  "
              f"{'OK' if ratio >= GOAL and same else 'MISSED'}")

        hostile_root = course(base, "hostile")
        hostile = make_class(LESSON, hostile_root, kinds=class_kinds(SIZE))
        limits = Limits(wall_seconds=60, cell_seconds=20, cpu_seconds=60, memory_bytes=2 * 2**30)
        start = time.perf_counter()
        result = autograde(LESSON, hostile_root, workers=WORKERS, limits=limits)
        took = time.perf_counter() - start
        right = sum(result.scores.get(s.name) == s.expected for s in hostile)
        slowest = max(r.seconds for nbs in result.runs.values() for r in nbs.values())
        print(f"hostile class of {SIZE} (every classgen kind), {WORKERS} workers: {took:.1f} s, "
              f"{took / SIZE:.2f} s/notebook, slowest notebook {slowest:.1f} s "
              f"(limit {limits.wall_seconds:g} s)")
        print(f"hostile class scores exactly as expected: {right}/{len(hostile)}  "
              f"{'OK' if right == len(hostile) else 'MISSED'}")
        ok = ratio >= GOAL and same and right == len(hostile)
        return 0 if ok else 1
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


if __name__ == "__main__":
    sys.exit(main())
