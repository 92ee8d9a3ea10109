"""The Debian packages `make test` needs, read from ``.ci/system-packages.txt`` (the one list).

``python3 -m tools.system_packages install`` installs the missing ones: with apt-get when
root, with ``sudo -n`` when that is allowed, otherwise it stops at once and prints the one
command to run. ``python3 -m tools.system_packages list`` prints what applies on this machine.
Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
LIST = REPO / ".ci" / "system-packages.txt"
WHEN_MISSING = "when-missing:"
APT_OPTIONS = ["-o", "DPkg::Lock::Timeout=300"]


@dataclass(frozen=True)
class Line:
    """One line of the list: its packages, installed only when ``when_missing`` (a command)
    is not found, if set; and what needs them."""

    packages: tuple[str, ...]
    when_missing: str | None
    why: str


def read_list(path: Path = LIST) -> list[Line]:
    """The lines of a package list (comments and blank lines skipped)."""
    lines = []
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        text, _, why = raw.partition("#")
        if not text.strip():
            continue
        packages_part, marker, command = text.partition(WHEN_MISSING)
        packages = tuple(packages_part.split())
        if not packages or (marker and len(command.split()) != 1):
            raise ValueError(f"{path}:{number}: expected `package ... [{WHEN_MISSING} COMMAND]  # why`, "
                             f"got {raw!r}")
        lines.append(Line(packages, command.strip() or None, why.strip()))
    return lines


def wanted(lines: list[Line], which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Every package that applies on this machine (a `when-missing` line only if its command
    is not found), in list order, without repeats."""
    found: list[str] = []
    for line in lines:
        if line.when_missing and which(line.when_missing):
            continue
        found += [p for p in line.packages if p not in found]
    return found


def missing(packages: list[str]) -> list[str]:
    """The packages dpkg does not list as installed."""
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *packages],
                          capture_output=True, text=True)
    installed = {line.split()[0] for line in proc.stdout.splitlines()
                 if line.split()[1:] == ["installed"]}
    return [p for p in packages if p not in installed]


def privilege() -> list[str] | None:
    """How to run apt-get: ``[]`` as root, ``["sudo", "-n"]`` when sudo needs no password,
    None when neither works."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def manual_command(packages: list[str]) -> str:
    """The one command a person with root rights runs to install ``packages``."""
    names = " ".join(packages)
    return f"sudo apt-get update && sudo apt-get install -y --no-install-recommends {names}"


def install(packages: list[str], how: list[str] | None, run: Callable = subprocess.run) -> int:
    """Install the missing ``packages`` with ``how`` (from :func:`privilege`); return 0 when
    they are all there, 1 (after printing the command to run) when they cannot be installed."""
    if not packages:
        return 0
    if how is None:
        print(f"make test needs these Debian packages, missing here: {' '.join(packages)}\n"
              f"Install them (root rights needed), then run make test again:\n\n"
              f"    {manual_command(packages)}\n", file=sys.stderr)
        return 1
    print(f"installing Debian packages: {' '.join(packages)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run([*how, "apt-get", "update", "-qq", *APT_OPTIONS], check=True, env=env)
    run([*how, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_OPTIONS, *packages],
        check=True, env=env, stdout=subprocess.DEVNULL)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``install`` (default) or ``list``."""
    parser = argparse.ArgumentParser(prog="python3 -m tools.system_packages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="install", choices=["install", "list"])
    parser.add_argument("--list", type=Path, default=LIST, help="the package list (default: %(default)s)")
    args = parser.parse_args(argv)
    packages = wanted(read_list(args.list))
    if args.command == "list":
        print(" ".join(packages))
        return 0
    if not shutil.which("dpkg-query"):
        print(f"not a Debian-based system (no dpkg-query): install the equivalents of "
              f"{' '.join(packages)} yourself", file=sys.stderr)
        return 1
    absent = missing(packages)
    return install(absent, privilege() if absent else [])


if __name__ == "__main__":
    sys.exit(main())
