"""The ``edgelab`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgelab", description="Edge AI course tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("doctor", help="check that this machine is ready for the course")
    from edgelab.deploy.cli import add_parser as add_deploy_parser  # light: no paramiko until used

    add_deploy_parser(commands)
    from edgelab.linkcheck.cli import add_parser as add_measure_link_parser

    add_measure_link_parser(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``edgelab`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from edgelab.doctor import main as doctor_main

        return doctor_main()
    if args.command == "deploy":
        from edgelab.deploy.cli import run as deploy_run

        return deploy_run(args)
    if args.command == "measure-link":
        from edgelab.linkcheck.cli import run_cli as measure_link_run

        return measure_link_run(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects others


if __name__ == "__main__":
    sys.exit(main())
