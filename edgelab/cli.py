"""The ``edgelab`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgelab", description="Edge AI course tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("doctor", help="check that this machine is ready for the course")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``edgelab`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from edgelab.doctor import main as doctor_main

        return doctor_main()
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects others


if __name__ == "__main__":
    sys.exit(main())
