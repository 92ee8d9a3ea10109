"""Run every benchmark under bench/ (or those whose name contains an argument).

Each ``bench_*.py`` is a script that measures side by side in one run and prints
its ratios; this runner only finds and runs them, one after the other.
Usage: ``make bench`` or ``python bench/run.py [name ...]``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    if not scripts:
        print(f"no benchmark matches {argv}", file=sys.stderr)
        return 2
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        print(f"   ({time.perf_counter() - start:.1f} s)\n", flush=True)
        if proc.returncode != 0:
            failed.append(script.stem)
    if failed:
        print("goals missed or errors in: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
