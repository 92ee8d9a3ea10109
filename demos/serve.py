"""Serve the demo gallery with Voila: `make demo` or `python demos/serve.py [--port N]`.

Voila's safe defaults are kept and made explicit: it binds to 127.0.0.1, shows no
tracebacks to visitors, serves only the files its allow/deny lists permit, and runs
notebooks, never arbitrary code from the visitor. Each visit gets a fresh kernel; the demos
import no TensorFlow, so a page is interactive in about 3-4 s (bench/bench_demos.py).
``--preheat`` keeps pre-executed kernels instead.

A visitor's kernel is shut down when the tab closes (Voila's page does that on unload); a
kernel whose visitor vanished without closing the tab (a crashed browser, a lost network)
is culled after ``--cull-after`` seconds without activity and without a connection.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parent
CONFIG = DEMOS / ".voila"  # voila.py: lets a closed tab shut its kernel down
ARTIFACTS = DEMOS.parent / "build" / "demo"


CULL_AFTER_S = 600


def voila_argv(port: int, ip: str = "127.0.0.1", preheat: bool = False,
               cull_after_s: int = CULL_AFTER_S) -> list[str]:
    """The Voila command line for the gallery; kernels idle and disconnected for ``cull_after_s``
    seconds are shut down."""
    if cull_after_s < 1:
        raise ValueError(f"cull_after_s must be >= 1 second; got {cull_after_s}")
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
        # connected kernels are never culled (cull_connected stays False): only abandoned ones
        f"--MappingKernelManager.cull_idle_timeout={cull_after_s}",
        f"--MappingKernelManager.cull_interval={max(1, min(60, cull_after_s // 2))}",
    ]
    if preheat:  # Voila refuses a prelaunch hook with preheated kernels: culling covers those
        argv += ["--preheat_kernel=True", "--pool_size=1"]
    else:
        argv += [f"--Voila.config_file_paths=['{CONFIG}']"]
    return argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--preheat", action="store_true",
                        help="keep a pre-executed kernel per demo (faster first paint; with several demos "
                             "on 2 cores a visit was seen to hang while the pools refilled)")
    parser.add_argument("--cull-after", type=int, default=CULL_AFTER_S, metavar="SECONDS",
                        help=f"shut down a kernel left idle and disconnected this long "
                             f"(default {CULL_AFTER_S})")
    args = parser.parse_args()
    if args.cull_after < 1:
        parser.error(f"--cull-after must be at least 1 second; got {args.cull_after}")
    argv = voila_argv(args.port, args.ip, preheat=args.preheat, cull_after_s=args.cull_after)
    # kernels run in demos/: tell the quantization demo where `make demo` built its models
    os.environ.setdefault("EDGELAB_DEMO_ARTIFACTS", str(ARTIFACTS))
    print(f"Edge AI demos: http://{args.ip}:{args.port}/voila/render/index.ipynb", flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
