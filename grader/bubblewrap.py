"""The command that starts a program in a sandbox, with bubblewrap (``bwrap``).

`bubblewrap <https://github.com/containers/bubblewrap>`_ is the sandbox Flatpak uses. Each
sandbox gets new PID, network, IPC, UTS and cgroup namespaces (no network at all: the kernel
talks to the grader over unix sockets in one bound folder), a read-only view of the machine,
a private size-limited tmpfs for its home, ``/tmp`` and ``/dev/shm``, and empty folders over
the places where other people's files live (``/home``, ``/root``, ``/work``, ``/srv``...),
the course's sources and submissions and the repository. Only the Python installation and
the course's packages are bound back, read-only. Mounts made by bubblewrap cannot be undone
inside: the sandboxed processes have no capabilities.

Two modes, chosen by who runs the grader:

* as **root**, bubblewrap runs privileged and the command inside starts through ``setpriv``
  as the worker's own unprivileged user, without supplementary groups, with
  ``no_new_privs`` and no capabilities;
* as an **ordinary user**, bubblewrap runs unprivileged in a new user namespace (the
  process keeps the user's uid, has no capabilities, and cannot create further user
  namespaces). Where the kernel refuses unprivileged user namespaces, :func:`check`
  says so and the grader does not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Other people's and other projects' files: empty inside (the Python installation and the
# course's packages are bound back where they live under one of these).
CLOSED_TOPS = ("/home", "/root", "/work", "/srv", "/mnt", "/media", "/opt", "/run", "/var/tmp")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox here; the message says what to do."""


@dataclass
class Layout:
    """What one sandbox sees: read-only binds, hidden paths, writable binds, its home and
    working folder (tmpfs, seeded with ``files``), environment and sizes."""

    read_only: list[Path]
    hidden: list[Path]
    writable: list[Path] = field(default_factory=list)
    home: str = "/home/student"
    files: dict[str, Path] = field(default_factory=dict)  # path in the working folder -> host file
    env: dict[str, str] = field(default_factory=dict)
    home_bytes: int = 512 * 2**20
    tmp_bytes: int = 256 * 2**20

    @property
    def workdir(self) -> str:
        return f"{self.home}/work"


def python_paths() -> list[Path]:
    """The Python installation this grader runs (base prefix, virtual environment)."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent}
    return sorted(paths)


def package_paths(names: tuple[str, ...]) -> list[Path]:
    """Where the packages ``names`` are imported from (an editable install lives in its checkout)."""
    import importlib.util

    found: list[Path] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise SandboxUnavailable(f"package {name} is not importable by the grader's Python "
                                     f"{sys.executable}")
        locations = list(spec.submodule_search_locations or []) or [str(Path(spec.origin).parent)]
        found += [Path(p).resolve() for p in locations]
    return found


def check() -> None:
    """Raise :class:`SandboxUnavailable` unless bubblewrap can make a sandbox here, as this user."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        raise SandboxUnavailable("setpriv (util-linux) is not installed: apt-get install util-linux")
    probe = command(Layout(read_only=[], hidden=[]), ["/bin/true"], uid=os.getuid(), gid=os.getgid())
    proc = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        hint = ("" if os.geteuid() == 0 else
                " (an ordinary user needs unprivileged user namespaces: sysctl "
                "kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0, and no AppArmor "
                "restriction on them; or grade as root)")
        raise SandboxUnavailable(f"bubblewrap cannot make a sandbox here: {proc.stderr.strip()[-500:]}{hint}")


def _dirs_for(path: str, tops: set[str]) -> list[str]:
    """``--dir`` options (mode 0755) for the parents of ``path`` below a covered top folder,
    so that the folder bound there is reachable by the sandbox's user."""
    parts = Path(path).parts
    out: list[str] = []
    for depth in range(2, len(parts)):
        parent = str(Path(*parts[:depth]))
        if any(parent == t or parent.startswith(t + "/") for t in tops):
            out += ["--perms", "0755", "--dir", parent]
    return out


def command(layout: Layout, cmd: list[str], uid: int, gid: int,
            fds: dict[str, int] | None = None) -> list[str]:
    """The bwrap command line running ``cmd`` in ``layout``. ``fds`` maps each file of
    ``layout.files`` to an open file descriptor the caller passes to bwrap (``pass_fds``)."""
    root = os.geteuid() == 0
    args = ["bwrap", "--die-with-parent", "--new-session"]
    if root:
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
    args += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    tops = {t for t in CLOSED_TOPS if os.path.isdir(t) and not os.path.islink(t)}
    for top in sorted(tops):
        args += ["--size", str(64 * 1024), "--perms", "0755", "--tmpfs", top]
    for private in ("/tmp", "/dev/shm"):
        args += ["--size", str(layout.tmp_bytes), "--perms", "1777", "--tmpfs", private]
    covered = tops | {"/tmp", "/dev/shm"}
    for path in layout.hidden:
        text = str(path)
        if any(text == t or text.startswith(t + "/") for t in covered):
            continue  # already under an empty folder
        if path.is_dir():
            args += ["--size", "4096", "--perms", "0755", "--tmpfs", text]
            covered.add(text)
        elif path.exists():
            args += ["--ro-bind", "/dev/null", text]
    for path in layout.read_only:
        args += _dirs_for(str(path), covered) + ["--ro-bind", str(path), str(path)]
    for path in layout.writable:
        args += _dirs_for(str(path), covered) + ["--bind", str(path), str(path)]
    args += _dirs_for(layout.home, covered)
    args += ["--size", str(layout.home_bytes), "--perms", "0777", "--tmpfs", layout.home,
             "--perms", "0777", "--dir", layout.workdir]
    fds = fds or {}
    for rel in sorted(layout.files):
        target = f"{layout.workdir}/{rel}"
        for parent in reversed(Path(rel).parents[:-1]):
            args += ["--perms", "0777", "--dir", f"{layout.workdir}/{parent}"]
        args += ["--perms", "0666", "--file", str(fds[rel]), target]
    for top in sorted(tops):
        args += ["--remount-ro", top]  # the empty folders stay empty (their binds keep their own mode)
    args += ["--chdir", layout.workdir, "--clearenv"]
    for key, value in sorted(layout.env.items()):
        args += ["--setenv", key, value]
    args.append("--")
    if root:
        args += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
                 "--no-new-privs", "--"]
    return args + list(cmd)
