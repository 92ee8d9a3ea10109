"""``edgelab deploy ...``: the deploy workflow from a terminal.

A target is ``user@host[:port]`` (a real device over SSH) or ``sim:<profile>`` (a simulated
one). Every command prints JSON on stdout; a failure prints ``error: ...`` on stderr and
exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED = 2
DESCRIPTION = """Deploy a .tflite model to a Raspberry Pi over SSH, to a simulated Pi, or to a fleet.

TARGET is user@host[:port] (a real device; its host key must be in --known-hosts) or
sim:PROFILE (a simulated device, e.g. sim:raspberry-pi-5). Results are JSON on stdout;
a failure is one `error: ...` line on stderr and exit status 2."""


def add_parser(commands: Any) -> None:
    """Add the ``deploy`` command and its subcommands to the ``edgelab`` parser."""
    parser = commands.add_parser("deploy", help="deploy a model to a Pi, a simulated Pi or a fleet",
                                 description=DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--key", default=None, help="private key file (default: use ssh-agent)")
    common.add_argument("--known-hosts", default="~/.ssh/known_hosts", help="known_hosts file")
    common.add_argument("--python", default=None,
                        help="the device's Python (default ~/edgelab-venv/bin/python)")
    common.add_argument("--root", default="~/edgelab", help="device folder holding the releases")
    common.add_argument("--home", default=None,
                        help="simulated targets: folder of the simulated devices (HOME/<profile>)")
    common.add_argument("--scale", type=float, default=None, help="simulated targets: latency scale")
    common.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (default 5)")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=[common])

    action("info", "device info: arch, CPU, RAM, OS, Python, runtime").add_argument("target")
    action("status", "current and previous release, history").add_argument("target")
    p = action("push", "upload, verify, smoke-load, switch atomically, health-check")
    p.add_argument("target")
    p.add_argument("model")
    p.add_argument("--name", default=None)
    p.add_argument("--keep", type=int, default=3)
    p = action("benchmark", "run the benchmark protocol on the device (JSON report)")
    p.add_argument("target")
    p.add_argument("model", nargs="?", default=None, help="default: the serving model")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--warmup-runs", type=int, default=10)
    p.add_argument("--num-threads", type=int, default=None)
    action("rollback", "switch back to the previous release").add_argument("target")
    action("health", "health-check the serving model").add_argument("target")
    p = action("fleet", "roll out to several targets: canary, health gate, stages")
    p.add_argument("model")
    p.add_argument("targets", nargs="+")
    p.add_argument("--canary", type=int, default=1)
    p.add_argument("--stage-size", type=int, default=None)
    p.add_argument("--keep", type=int, default=3)
    p.add_argument("--no-progress", action="store_true")


def make_target(spec: str, args: argparse.Namespace) -> Any:
    """``sim:<profile>`` or ``user@host[:port]`` to a deploy target."""
    from edgelab import deploy

    if spec.startswith("sim:"):
        profile = spec[4:]
        home = None if args.home is None else Path(args.home).expanduser() / profile
        return deploy.simulated_target(profile, scale=args.scale, home=home, python=args.python,
                                       root=args.root)
    return deploy.ssh_target(spec, key=args.key, known_hosts=args.known_hosts,
                             python=args.python or deploy.DEFAULT_PYTHON, root=args.root,
                             connect_timeout=args.connect_timeout,
                             python_named_by="--python" if args.python else "default (set it: --python)")


def _execute(args: argparse.Namespace) -> Any:
    from dataclasses import asdict

    from edgelab.deploy import rollout

    action = args.deploy_command
    if action == "fleet":
        targets = [make_target(t, args) for t in args.targets]
        report = rollout(targets, args.model, canary=args.canary, stage_size=args.stage_size, keep=args.keep,
                         progress=not args.no_progress)
        print(report.summary(), file=sys.stderr)
        return report.to_dict()
    with make_target(args.target, args) as target:
        if action == "push":
            return asdict(target.deploy(args.model, name=args.name, keep=args.keep))
        if action == "benchmark":
            return target.benchmark(args.model, runs=args.runs, warmup_runs=args.warmup_runs,
                                    num_threads=args.num_threads)
        return {"info": target.info, "status": target.status, "rollback": target.rollback,
                "health": target.health}[action]()


def run(args: argparse.Namespace) -> int:
    """Run one ``edgelab deploy`` action; errors are one clear line, not a traceback."""
    from edgelab.errors import EdgelabError

    try:
        result = _execute(args)
    except (EdgelabError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result, indent=2))
    if args.deploy_command == "fleet" and not result["ok"]:
        return EXIT_FAILED
    return 0
