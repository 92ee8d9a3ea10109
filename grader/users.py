"""The Unix users submissions run as.

Run as root, the grader gives each worker slot its own unprivileged system user
(``edgelab-grader<N>``, no home, no shell, no supplementary groups), created when missing.
Run as an ordinary user (an instructor on the course hub), submissions run as that user,
inside a user namespace without capabilities (:mod:`grader.bubblewrap`).
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

USER_PREFIX = "edgelab-grader"


def slot_user(slot: int) -> tuple[int, int]:
    """uid and gid of the sandbox user for worker ``slot``, created if missing (root only)."""
    if not isinstance(slot, int) or not 0 <= slot < 1000:
        raise ValueError(f"slot must be an integer from 0 to 999, got {slot!r}")
    name = f"{USER_PREFIX}{slot}"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if os.geteuid() != 0:
            raise PermissionError(f"sandbox user {name} is missing; create it as root") from None
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise PermissionError(f"sandbox user {name} must not be root")
    return entry.pw_uid, entry.pw_gid


def unreadable_by(uid: int, gid: int, path: Path) -> bool:
    """Whether ``uid``/``gid`` (no supplementary groups) cannot read ``path`` by its mode bits
    and those of its parent folders (before any mount hides it)."""
    path = Path(path).resolve()
    for parent in reversed(path.parents):
        if not _allowed(parent.stat(), uid, gid, 0o1):
            return True
    return not _allowed(path.stat(), uid, gid, 0o4)


def _allowed(st: os.stat_result, uid: int, gid: int, bit: int) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & (bit << 6))
    if st.st_gid == gid:
        return bool(st.st_mode & (bit << 3))
    return bool(st.st_mode & bit)
