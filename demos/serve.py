"""Serve the demo gallery with Voila: `make demo` or `python demos/serve.py [--port N]`.

Voila's safe defaults are kept and made explicit: it binds to 127.0.0.1, shows no
tracebacks to visitors, serves only the files its allow/deny lists permit, and runs
notebooks, never arbitrary code from the visitor. Each visit gets a fresh kernel; the demos
import no TensorFlow, so a page is interactive in about 3-4 s (bench/bench_demos.py).
``--preheat`` keeps pre-executed kernels instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parent
ARTIFACTS = DEMOS.parent / "build" / "demo"


def voila_argv(port: int, ip: str = "127.0.0.1", preheat: bool = False) -> list[str]:
    """The Voila command line for the gallery."""
    argv = [
        sys.executable, "-m", "voila", str(DEMOS),
        f"--Voila.ip={ip}", f"--port={port}", "--no-browser",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.file_allowlist=['.*\\.(png|jpg|gif|svg|css)']",
        "--theme=light",
        # JupyterLab extensions installed for the course that do not belong in a dashboard
        # (the notebook one fails to load there: "getter for the shared module").
        "--VoilaConfiguration.extension_denylist=['@jupyter-notebook/lab-extension', "
        "'@jupyter/nbgrader', '@voila-dashboards/jupyterlab-preview']",
    ]
    if preheat:
        argv += ["--preheat_kernel=True", "--pool_size=1"]
    return argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--preheat", action="store_true",
                        help="keep a pre-executed kernel per demo (faster first paint; with several demos "
                             "on 2 cores a visit was seen to hang while the pools refilled)")
    args = parser.parse_args()
    argv = voila_argv(args.port, args.ip, preheat=args.preheat)
    # kernels run in demos/: tell the quantization demo where `make demo` built its models
    os.environ.setdefault("EDGELAB_DEMO_ARTIFACTS", str(ARTIFACTS))
    print(f"Edge AI demos: http://{args.ip}:{args.port}/voila/render/index.ipynb", flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
