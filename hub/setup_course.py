"""Create (or remove) the Unix side of the course hub: groups, users, homes, exchange.

Run as root on the hub's server, e.g.::

    sudo .venv/bin/python hub/setup_course.py create --instructor ada \\
        --student s001 --student s002 --exchange /srv/nbgrader/exchange

What it makes, and why each mode:

* groups ``<prefix>-instructors`` and ``<prefix>-students`` (the hub's roles);
* each user with a home of mode 0700: another student cannot read your notebooks,
  your fetched assignment or nbgrader's cache of your submissions;
* the exchange root, root-owned, mode 1777: anyone may create entries (nbgrader
  checks for ``rwxrwxrwx``), nobody may rename or delete another user's;
* ``<exchange>/<course>``, ``outbound`` (0755), ``inbound`` (2733: students can drop
  submissions but not list them) and ``feedback`` (0711), owned by the first
  instructor, made here so that no student can create the course folder first;
* ``~<instructor>/edge-ai/lessons``: a copy of the course's lessons (the sources,
  with solutions and hidden tests), readable by that instructor only;
* cgroups delegated to each instructor (``python -m grader cgroups --delegate``), so the
  safe grader can limit each submission's memory, processes and CPU when an instructor
  grades without root. cgroup v1 folders do not survive a reboot: run ``create`` again (it
  changes nothing else that exists) or that command at boot.

Users get no password here (``passwd USER`` sets one for PAM logins).
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "edge-ai"
COURSE_FOLDER = "edge-ai"
USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _check_name(value: str, parameter: str) -> str:
    if not isinstance(value, str) or not USERNAME.match(value):
        raise ValueError(f"{parameter} must be a Unix name: a lowercase letter or _, then up to 31 "
                         f"of a-z 0-9 _ -; got {value!r}")
    return value


def _run(*args: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")


def _group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run("groupadd", name)


def _user(name: str, group: str) -> pwd.struct_passwd:
    try:
        pwd.getpwnam(name)
        _run("usermod", "-a", "-G", group, name)
    except KeyError:
        _run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", group, name)
    entry = pwd.getpwnam(name)
    os.chmod(entry.pw_dir, 0o700)
    return entry


def _owned_dir(path: Path, mode: int, uid: int, gid: int) -> None:
    path.mkdir(exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # after chown: chown clears the setgid bit


def create_course(instructors: list[str], students: list[str], exchange: Path | str,
                  prefix: str = "edge-ai", lessons: Path | str = REPO / "lessons") -> None:
    """Create groups, users (homes 0700), the exchange and the instructors' course roots."""
    if not instructors:
        raise ValueError("instructors must name at least one user")
    prefix = _check_name(prefix, "prefix")
    for name in instructors:
        _check_name(name, "instructors")
    for name in students:
        _check_name(name, "students")
    overlap = set(instructors) & set(students)
    if overlap:
        raise ValueError(f"a user cannot be both instructor and student: {sorted(overlap)}")
    exchange = Path(exchange)
    if not exchange.is_absolute():
        raise ValueError(f"exchange must be an absolute path, got {str(exchange)!r}")
    if os.geteuid() != 0:
        raise PermissionError("create_course must run as root (it adds users and groups)")
    _group(f"{prefix}-instructors")
    _group(f"{prefix}-students")
    teachers = [_user(name, f"{prefix}-instructors") for name in instructors]
    for name in students:
        _user(name, f"{prefix}-students")

    exchange.mkdir(parents=True, exist_ok=True)
    os.chown(exchange, 0, 0)
    os.chmod(exchange, 0o1777)
    owner = teachers[0]
    course = exchange / COURSE_ID
    _owned_dir(course, 0o755, owner.pw_uid, owner.pw_gid)
    _owned_dir(course / "outbound", 0o755, owner.pw_uid, owner.pw_gid)
    _owned_dir(course / "inbound", 0o2733, owner.pw_uid, owner.pw_gid)
    _owned_dir(course / "feedback", 0o711, owner.pw_uid, owner.pw_gid)

    for entry in teachers:
        root = Path(entry.pw_dir) / COURSE_FOLDER
        if not (root / "lessons").exists():
            shutil.copytree(lessons, root / "lessons")
        for dirpath, _dirs, files in os.walk(root):
            os.chown(dirpath, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)
        _run(sys.executable, "-m", "grader", "cgroups", "--delegate", entry.pw_name, cwd=REPO)


def remove_course(users: list[str], exchange: Path | str | None = None, prefix: str = "edge-ai") -> None:
    """Remove ``users`` with their homes, the two groups, and the exchange folder if given.
    Stop the users' servers first: ``userdel`` refuses a user who still runs processes."""
    for name in users:
        _check_name(name, "users")
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        _run("userdel", "--remove", name)
    for group in (f"{prefix}-instructors", f"{prefix}-students"):
        try:
            grp.getgrnam(group)
        except KeyError:
            continue
        _run("groupdel", group)
    if exchange is not None:
        shutil.rmtree(exchange, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["create", "remove"])
    parser.add_argument("--instructor", action="append", default=[])
    parser.add_argument("--student", action="append", default=[])
    parser.add_argument("--exchange", default="/srv/nbgrader/exchange")
    parser.add_argument("--prefix", default="edge-ai", help="Unix group prefix (default edge-ai)")
    args = parser.parse_args(argv)
    if args.action == "create":
        create_course(args.instructor, args.student, args.exchange, args.prefix)
    else:
        remove_course(args.instructor + args.student, None, args.prefix)


if __name__ == "__main__":  # pragma: no cover
    main()
