"""Serve the demo gallery with Voila: `make demo` or `python demos/serve.py [--port N]`.

Voila's safe defaults are kept and made explicit: it binds to 127.0.0.1, shows no
tracebacks to visitors, serves only the files its allow/deny lists permit, and runs
notebooks, never arbitrary code from the visitor (what a page sends to its kernel is
checked there: edgelab.ui.guard). Each visit gets a fresh kernel; the demos import no
TensorFlow, so a page is interactive in about 3-4 s (bench/bench_demos.py).

Limits, so that visitors (or a script) cannot exhaust the machine (demos/.voila/admission.py,
checked before Voila reads the notebook, so a refusal costs next to nothing): at most
``--max-kernels`` kernels alive (default 4 per CPU) and ``--max-renders`` notebooks executing
at once (default CPUs - 1, at least 1); per client address, one page loading at a time and
``--client-burst`` renders in a row, then one every ``--client-refill`` seconds (429). A visit
past the render cap waits up to 15 s, the client that asked for fewest pages first; a render
of a client asking for 3 or more pages in 10 s gives way to a visitor who is not. Otherwise
a "busy, retry in N s" page (503, Retry-After) that reloads itself.

A visitor's kernel is shut down when the tab closes (Voila's page does that on unload). A
kernel whose page was served but no browser ever connected to (a script) is shut down
``--unclaimed-after`` seconds later, at once if room is needed; one whose visitor vanished
without closing the tab (a crashed browser, a lost network) is culled after ``--cull-after``
seconds without activity and without a connection. ``--preheat`` keeps pre-executed kernels
instead, without these limits: for this machine only (127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parent
CONFIG = DEMOS / ".voila"  # voila.py: lets a closed tab shut its kernel down
ARTIFACTS = DEMOS.parent / "build" / "demo"


CULL_AFTER_S = 120
UNCLAIMED_AFTER_S = 10
CPUS = os.cpu_count() or 1
MAX_KERNELS = 4 * CPUS
MAX_RENDERS = max(1, CPUS - 1)
CLIENT_BURST = 20
CLIENT_REFILL_S = 3


def _at_least(name: str, value: float, low: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be a number >= {low}; got {value!r}")


def _cull_interval(cull_after_s: float, unclaimed_after_s: float) -> int:
    """Seconds between culling rounds: half the shorter wait, 1 to 60."""
    return max(1, int(min(60, cull_after_s, unclaimed_after_s) // 2))


def voila_argv(port: int, ip: str = "127.0.0.1", preheat: bool = False, cull_after_s: int = CULL_AFTER_S,
               *, max_kernels: int = MAX_KERNELS, max_renders: int = MAX_RENDERS,
               client_burst: int = CLIENT_BURST, client_refill_s: float = CLIENT_REFILL_S,
               unclaimed_after_s: float = UNCLAIMED_AFTER_S) -> list[str]:
    """The Voila command line for the gallery, with the limits of this module's docstring;
    kernels idle and disconnected for ``cull_after_s`` seconds are shut down."""
    for name, value, low in (("cull_after_s", cull_after_s, 1), ("max_kernels", max_kernels, 1),
                             ("max_renders", max_renders, 1), ("client_burst", client_burst, 1),
                             ("client_refill_s", client_refill_s, 0.1),
                             ("unclaimed_after_s", unclaimed_after_s, 1)):
        _at_least(name, value, low)
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
        f"--MappingKernelManager.cull_interval={_cull_interval(cull_after_s, unclaimed_after_s)}",
    ]
    if preheat:  # Voila refuses a prelaunch hook with preheated kernels: culling covers those
        return argv + ["--preheat_kernel=True", "--pool_size=1"]
    return argv + [
        f"--Voila.config_file_paths=['{CONFIG}']",  # admission.py's kernel manager and hook
        f"--DemoKernelManager.max_kernels={int(max_kernels)}",
        f"--DemoKernelManager.max_renders={int(max_renders)}",
        f"--DemoKernelManager.client_burst={int(client_burst)}",
        f"--DemoKernelManager.client_refill_s={float(client_refill_s)}",
        f"--DemoKernelManager.unclaimed_after_s={float(unclaimed_after_s)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--preheat", action="store_true",
                        help="keep a pre-executed kernel per demo (faster first paint; without the "
                             "limits below, so 127.0.0.1 only; with several demos on 2 cores a visit "
                             "was seen to hang while the pools refilled)")
    parser.add_argument("--cull-after", type=int, default=CULL_AFTER_S, metavar="SECONDS",
                        help=f"shut down a kernel left idle and disconnected this long "
                             f"(default {CULL_AFTER_S})")
    parser.add_argument("--unclaimed-after", type=float, default=UNCLAIMED_AFTER_S, metavar="SECONDS",
                        help="shut down a kernel no browser connected to this long after its page was "
                             f"served (default {UNCLAIMED_AFTER_S})")
    parser.add_argument("--max-kernels", type=int, default=MAX_KERNELS,
                        help=f"kernels alive at most (default 4 per CPU: {MAX_KERNELS})")
    parser.add_argument("--max-renders", type=int, default=MAX_RENDERS,
                        help=f"notebooks executing at once (default CPUs - 1, at least 1: {MAX_RENDERS})")
    parser.add_argument("--client-burst", type=int, default=CLIENT_BURST,
                        help=f"renders one client address may start in a row (default {CLIENT_BURST})")
    parser.add_argument("--client-refill", type=float, default=CLIENT_REFILL_S, metavar="SECONDS",
                        help=f"then one more render every this many seconds (default {CLIENT_REFILL_S})")
    args = parser.parse_args()
    if args.preheat and args.ip not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--preheat has no per-visitor limits: use it on 127.0.0.1 only")
    try:
        argv = voila_argv(args.port, args.ip, preheat=args.preheat, cull_after_s=args.cull_after,
                          max_kernels=args.max_kernels, max_renders=args.max_renders,
                          client_burst=args.client_burst, client_refill_s=args.client_refill,
                          unclaimed_after_s=args.unclaimed_after)
    except ValueError as exc:
        parser.error(str(exc).replace("_s ", " ").replace("_", "-"))
    # kernels run in demos/: tell the quantization demo where `make demo` built its models
    os.environ.setdefault("EDGELAB_DEMO_ARTIFACTS", str(ARTIFACTS))
    print(f"Edge AI demos: http://{args.ip}:{args.port}/voila/render/index.ipynb", flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
