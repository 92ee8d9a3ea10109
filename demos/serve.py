"""Serve the demo gallery with Voila: `make demo` or `python demos/serve.py [--port N]`.

Voila's safe defaults are kept and made explicit: it binds to 127.0.0.1, shows no
tracebacks to visitors, serves only the files its allow/deny lists permit, and runs
notebooks, never arbitrary code from the visitor. Kernels are preheated so that a
visitor gets a running demo instead of waiting for TensorFlow-free imports and setup.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parent
ARTIFACTS = DEMOS.parent / "build" / "demo"


def voila_argv(port: int, ip: str = "127.0.0.1", preheat: bool = True) -> list[str]:
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
    parser.add_argument("--no-preheat", action="store_true", help="start kernels on each visit")
    args = parser.parse_args()
    argv = voila_argv(args.port, args.ip, preheat=not args.no_preheat)
    # kernels run in demos/: tell the quantization demo where `make demo` built its models
    os.environ.setdefault("EDGELAB_DEMO_ARTIFACTS", str(ARTIFACTS))
    print(f"Edge AI demos: http://{args.ip}:{args.port}/voila/render/index.ipynb", flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
