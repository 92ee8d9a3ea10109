"""Grading as an ordinary user (an instructor on the course hub): a real non-root Unix user runs
`python -m grader autograde` on a course in their home, with cgroups delegated by root.

The course's Python lives under /root here (pyenv), which no other user may traverse; the test
therefore starts the grader through a mount namespace where that installation and this checkout
are reachable read-only (what an instructor's readable venv would give), then drops to the user
with setpriv. Everything after that is the real unprivileged path: bubblewrap in a user
namespace, the user's delegated cgroups, the user's own files around the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import grading_sandbox_ready, require

from grader.bubblewrap import python_paths
from grader.classgen import make_class
from grader.pipeline import REPO, nbgrader

USER = "edgelab-instructor"
LESSON = "00-welcome"
pytestmark = pytest.mark.slow


def instructor() -> pwd.struct_passwd:
    """The non-root test instructor (created with a 0700 home if missing)."""
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True)
    entry = pwd.getpwnam(USER)
    os.chmod(entry.pw_dir, 0o700)
    return entry


def reachable(path: Path) -> list[str]:
    """bwrap options that make ``path`` reachable by any user: an empty tmpfs over its first
    closed ancestor, and the branch down to ``path`` bound back."""
    parts = path.parts
    for depth in range(2, len(parts) + 1):
        ancestor = Path(*parts[:depth])
        if not os.stat(ancestor).st_mode & 0o001 and depth < len(parts):
            branch = Path(*parts[:depth + 1])
            return ["--tmpfs", str(ancestor), "--ro-bind", str(branch), str(branch)]
    return []


def as_user(entry: pwd.struct_passwd, argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """``argv`` run as the user, with the Python installation and this checkout reachable."""
    view = ["bwrap", "--bind", "/", "/", "--dev-bind", "/dev", "/dev"]
    for path in sorted({*python_paths(), REPO}):
        view += reachable(path)
    view += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--chdir", str(cwd),
             "--clearenv"]
    for key, value in env.items():
        view += ["--setenv", key, value]
    return view + ["--", "setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
                   "--inh-caps=-all", "--", *argv]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_ordinary_user_grades_safely() -> None:
    """As a non-root user: honest students graded right, attacks (gradebook, sources, undoing the
    mounts) gain nothing and change nothing of the instructor's; the kernels ran as the user in a
    user namespace without capabilities."""
    require(os.geteuid() == 0, "root (to create the test instructor and delegate cgroups to them)")
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    entry = instructor()
    delegated = subprocess.run([sys.executable, "-m", "grader", "cgroups", "--delegate", USER], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
    assert delegated.returncode == 0, delegated.stderr
    home = Path(entry.pw_dir)
    root = home / "edge-ai"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "lessons" / LESSON, root / "lessons" / LESSON)
    nbgrader(["generate_assignment", LESSON, "--force"], root)
    students = make_class(LESSON, root, kinds=["perfect", "blank", "one_wrong", "gradebook_attack",
                                               "source_reader", "escape_mounts", "fork_orphans"])
    canary = home / "private-notes.txt"
    canary.write_text("the instructor's own file")
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(home)], check=True)
    before = {"lessons": digest(root / "lessons"), "release": digest(root / "release")}

    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "EDGELAB_COURSE_ROOT": str(root), "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "grader", "autograde", LESSON, "--workers", "2", "--wall-seconds", "60",
            "--cell-seconds", "20"]
    proc = subprocess.run(as_user(entry, argv, env, REPO), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    from grader.autograde import read_scores

    scores, _ = read_scores(root, LESSON)
    expected = json.loads((root / f"class-{LESSON}.json").read_text())
    assert {s: v["expected"] for s, v in expected.items()} == scores, proc.stdout
    assert digest(root / "lessons") == before["lessons"] and digest(root / "release") == before["release"]
    assert canary.read_text() == "the instructor's own file" and not (home / "escaped.txt").exists()
    escape = next(s.name for s in students if s.kind == "escape_mounts")
    printed = (root / "autograded" / escape / LESSON / "welcome.ipynb").read_text()
    assert "escape attempts" in printed and "('not written', '/home/escaped.txt', 30)" in printed  # EROFS
    assert not any(Path(p, "escaped.txt").exists() for p in ("/home", "/srv", "/dev/shm", root))
    assert "private-notes" not in printed and "edge-ai" not in printed
    assert "FLAGGED FOR REVIEW " + escape in proc.stdout
    deadline = time.monotonic() + 15  # killed processes may take a moment to be reaped
    while (left := _processes_of(entry.pw_uid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"processes of the instructor outlive the run: {left}"


def _processes_of(uid: int) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state, parent = status["State"].strip(), status["PPid"].strip()
                found.append(f"{proc.name} {state} ppid {parent}: {command[:200]}")
        except (OSError, KeyError, ValueError):
            continue
    return found
