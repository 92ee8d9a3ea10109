"""Time to interactive of each Voila demo vs a trivial one-slider notebook, same browser run.

Goal per demo: at most 2x the trivial notebook's time and at most 5 s. Voila serves a
copy of demos/ plus the trivial notebook, with the same settings as `make demo`
(a fresh kernel per visit; ``--preheat`` for `demos/serve.py --preheat`'s pool of
pre-executed kernels); each round visits every page once, in turn. Prints medians and
ratios; exits 1 if a goal is missed.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from browser import chromium, close, open_demo, voila_server  # noqa: E402

ROUNDS = 5
REFILL_S = 3  # let the previous visit's kernel shut down
GOAL_RATIO, GOAL_SECONDS = 2.0, 5.0
TRIVIAL = "trivial_slider.ipynb"


def main(argv: list[str]) -> int:
    preheat = "--preheat" in argv
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "demos"
        shutil.copytree(REPO / "demos", served)
        nb = new_notebook(cells=[new_code_cell("import ipywidgets\nipywidgets.IntSlider()")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, served / TRIVIAL)
        demos = (REPO / "demos").glob("*.ipynb")
        pages = [TRIVIAL] + sorted(p.name for p in demos if p.name != "index.ipynb")
        times: dict[str, list[float]] = {page: [] for page in pages}
        # the quantization demo reads models built by `make demo` (python -m edgelab.artifacts build/demo)
        env = {"EDGELAB_DEMO_ARTIFACTS": str(REPO / "build" / "demo")}
        with voila_server(demos_dir=served, env=env, preheat=preheat) as server, chromium() as browser:
            time.sleep(REFILL_S)
            for _ in range(ROUNDS):
                for page_name in pages:
                    page, _errors, seconds = open_demo(browser, f"{server.url}/voila/render/{page_name}")
                    times[page_name].append(seconds)
                    close(page)
                time.sleep(REFILL_S)
    base = statistics.median(times[TRIVIAL])
    print(f"kernels: {'preheated pool' if preheat else 'a fresh kernel per visit'}")
    print(f"{TRIVIAL:<28} median {base:6.2f} s  (baseline, {ROUNDS} visits)")
    ok = True
    for page_name in pages[1:]:
        median = statistics.median(times[page_name])
        ratio = median / base
        good = ratio <= GOAL_RATIO and median <= GOAL_SECONDS
        ok &= good
        print(f"{page_name:<28} median {median:6.2f} s  ratio {ratio:4.2f}x  "
              f"(goal <= {GOAL_RATIO}x and <= {GOAL_SECONDS} s)  {'OK' if good else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
