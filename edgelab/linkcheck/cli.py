"""``edgelab measure-link``: one request shape through a real shaped link, measured vs simulated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgelab import network


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``edgelab measure-link`` to the command line."""
    p = commands.add_parser("measure-link", help="shape a real veth link to a profile and compare real "
                            "round trips with the simulation (needs root)")
    p.add_argument("profile", help="link profile name, e.g. 4g-lte")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the profile's RTTs (e.g. 0.1 for "
                   "geo-satellite to finish quickly); the simulation uses the same scaled figures")
    p.add_argument("-n", "--requests", type=int, default=200, help="round trips to measure (default 200)")
    p.add_argument("--payload", type=int, default=1000, help="request body in bytes (default 1000)")
    p.add_argument("--response", type=int, default=200, help="answer body in bytes (default 200)")
    p.add_argument("--connection", choices=("reused", "new"), default="reused",
                   help="a kept-alive connection used after an idle, or a new one per request")
    p.add_argument("--congestion-control", choices=network.CONGESTION_CONTROLS, default="cubic")
    p.add_argument("--model", default=None, help=".tflite model to serve (default: a small demo model)")
    p.add_argument("--seed", type=int, default=0)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``edgelab measure-link``: print measured vs simulated; 2 on bad input, 1 if it cannot run."""
    from edgelab.linkcheck.demo_model import demo_model
    from edgelab.linkcheck.measure import measure_link
    from edgelab.linkcheck.testbed import missing

    try:
        link_profile = network.as_link(args.profile)
        problems = missing()
        if problems:
            print("measure-link needs " + "; ".join(problems), file=sys.stderr)
            return 1
        model = Path(args.model) if args.model else demo_model()
        result = measure_link(link_profile, model, n=args.requests, payload_bytes=args.payload,
                              response_bytes=args.response, connection=args.connection,
                              congestion_control=args.congestion_control, scale=args.scale, seed=args.seed)
    except ValueError as exc:
        print(f"edgelab measure-link: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"edgelab measure-link: {exc}", file=sys.stderr)
        return 1
    result.summary()
    return 0
