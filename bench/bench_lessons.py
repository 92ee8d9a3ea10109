"""Each lesson's source notebook, executed top to bottom: goal <= 60 s on this machine.

Executes the instructor version (solutions in place), offline, with nbclient, in a
scratch copy of the lesson folder so nothing is written into lessons/. Prints the
wall time of each and exits 1 if one is over the goal.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 60.0


def run(notebook: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / notebook.parent.name
        shutil.copytree(notebook.parent, work)
        nb = nbformat.read(work / notebook.name, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(work)}}).execute()
        return time.perf_counter() - start


def main(argv: list[str]) -> int:
    notebooks = sorted(REPO.glob("lessons/*/*.ipynb"))
    if argv:
        notebooks = [n for n in notebooks if any(a in str(n) for a in argv)]
    ok = True
    for notebook in notebooks:
        seconds = run(notebook)
        good = seconds <= GOAL_S
        ok &= good
        print(f"{notebook.parent.name + '/' + notebook.name:<50} {seconds:6.1f} s  "
              f"(goal <= {GOAL_S:.0f} s)  {'OK' if good else 'MISSED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
