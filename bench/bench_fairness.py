"""Fair to honest students: every lesson's solution graded N times (default 10) on each path
that autogrades, with other work running beside it, must get full marks every time.

Paths: `python -m grader autograde` (the class in parallel) and `nbgrader autograde` with the
course configuration (what the formgrader's Autograde button runs: the same sandboxed run, one
submission at a time). Beside them, two processes keep both cores busy. Prints one line per
lesson and path, e.g. `06-quantization  python -m grader   10/10 full marks  OK`; exits 1 if
any solution lost a point. Usage: python bench/bench_fairness.py [N] [lesson ...]
"""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.autograde import autograde, read_scores  # noqa: E402
from grader.classgen import make_class  # noqa: E402
from grader.pipeline import REPO, lesson_notebooks, nbgrader  # noqa: E402


def busy(seconds: float) -> None:
    """Other work beside the grader: one core kept busy."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


def class_of_solutions(base: Path, lesson: str, count: int) -> Path:
    root = base / lesson
    shutil.copytree(REPO / "lessons" / lesson, root / "lessons" / lesson)
    nbgrader(["generate_assignment", lesson, "--force"], root)
    make_class(lesson, root, kinds=["perfect"] * count)
    return root


def full_marks(root: Path, lesson: str) -> tuple[int, int]:
    scores, max_scores = read_scores(root, lesson)
    return sum(s == max_scores for s in scores.values()), len(scores)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv and argv[0].isdigit() else 10
    lessons = [a for a in argv if not a.isdigit()] or sorted(
        p.name for p in (REPO / "lessons").iterdir() if p.is_dir() and lesson_notebooks(p))
    base = Path(tempfile.mkdtemp(prefix="bench-fairness-"))
    burners = [multiprocessing.Process(target=busy, args=(24 * 3600,), daemon=True) for _ in range(2)]
    for burner in burners:
        burner.start()
    ok = True
    try:
        for lesson in lessons:
            for path in ("python -m grader", "nbgrader autograde"):
                root = class_of_solutions(base / path.split()[0], lesson, count)
                start = time.perf_counter()
                if path == "python -m grader":
                    autograde(lesson, root, workers=2)
                else:
                    nbgrader(["autograde", lesson, "--create", "--force"], root, timeout=7200)
                full, graded = full_marks(root, lesson)
                good = full == graded == count
                ok = ok and good
                took = time.perf_counter() - start
                print(f"{lesson:<28} {path:<20} {full:>2}/{count} full marks  "
                      f"({took:6.1f} s, two busy cores beside)  {'OK' if good else 'MISSED'}", flush=True)
                shutil.rmtree(root, ignore_errors=True)
    finally:
        for burner in burners:
            burner.terminate()
        subprocess.run(["rm", "-rf", str(base)], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
