"""No luck in the grades: each lesson that trains a model, graded with the model trained under
five other seeds (a different data split, initialisation and shuffling: what another machine's
arithmetic could also change) and on one core or two (another thread count for TensorFlow and
LiteRT), must give its solution full marks every time.

The seed is changed in a copy of the lesson, where the instructor's cells train (`seed=...`);
the cores with `taskset`. Prints one line per lesson and variant, e.g.
`06-quantization  seed 3  cores 0,1   full marks  (181.2 s)  OK`; exits 1 if a solution lost a
point. Usage: python bench/bench_robust.py [lesson ...]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nbformat  # noqa: E402

from grader import cells  # noqa: E402
from grader.autograde import read_scores  # noqa: E402
from grader.classgen import make_class  # noqa: E402
from grader.pipeline import REPO, course_copy, lesson_notebooks, nbgrader  # noqa: E402

VARIANTS = ((1, "0"), (2, "0,1"), (3, "0"), (4, "0,1"), (5, "0"))
TRAINING = re.compile(r"\b(train_digits_cnn|train_vibration_model|digits_model)\((seed=\d+,?\s*)?")


def trains(lesson: str) -> bool:
    """Does the lesson's instructor code train a model?"""
    return any(TRAINING.search(p.read_text()) for p in lesson_notebooks(REPO / "lessons" / lesson))


def with_seed(source: Path, seed: int) -> int:
    """Rewrite the notebook's training calls to use ``seed``; how many were changed."""
    nb = nbformat.read(str(source), as_version=4)
    changed = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cells.kind(cell) not in (cells.SOLUTION, cells.TEST):
            cell.source, n = TRAINING.subn(lambda m: f"{m.group(1)}(seed={seed}, ", cell.source)
            cell.source = cell.source.replace(", )", ")")
            changed += n
    nbformat.write(nb, str(source))
    return changed


def grade(lesson: str, seed: int, cores: str, base: Path) -> tuple[bool, str]:
    """Grade the solution of ``lesson`` trained with ``seed`` on ``cores``: (full marks?, the
    checks that lost points)."""
    root = course_copy(base, lesson)
    changed = sum(with_seed(p, seed) for p in lesson_notebooks(root / "lessons" / lesson))
    if not changed:
        raise SystemExit(f"{lesson}: no training call to give another seed")
    nbgrader(["generate_assignment", lesson, "--force"], root)
    make_class(lesson, root, kinds=["perfect"])
    env = dict(os.environ, PYTHONPATH=str(root), EDGELAB_COURSE_ROOT=str(root),
               XDG_CACHE_HOME=str(base / "cache"))
    proc = subprocess.run(["taskset", "-c", cores, sys.executable, "-m", "grader", "autograde", lesson,
                           "--workers", "1"], cwd=root, env=env, check=False, capture_output=True,
                          text=True, timeout=3600)
    scores, _ = read_scores(root, lesson)
    expected = json.loads((root / f"class-{lesson}.json").read_text())
    if len(scores) != 1:
        return False, "not graded: " + (proc.stdout + proc.stderr)[-500:]
    (name, got), = scores.items()
    lost = [check for check, points in expected[name]["expected"].items() if got.get(check) != points]
    return not lost, ", ".join(lost)


def main(argv: list[str]) -> int:
    lessons = argv or sorted(p.name for p in (REPO / "lessons").iterdir()
                             if p.is_dir() and lesson_notebooks(p) and trains(p.name))
    base = Path(tempfile.mkdtemp(prefix="bench-robust-"))
    ok = True
    try:
        for lesson in lessons:
            for seed, cores in VARIANTS:
                start = time.perf_counter()
                good, lost = grade(lesson, seed, cores, base)
                ok = ok and good
                marks = "full marks" if good else f"LOST POINTS in {lost}"
                print(f"{lesson:<28} seed {seed}  cores {cores:<4} {marks}  "
                      f"({time.perf_counter() - start:6.1f} s)  {'OK' if good else 'MISSED'}", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
