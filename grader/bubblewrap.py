"""The command that starts a program in a sandbox, with bubblewrap (``bwrap``).

`bubblewrap <https://github.com/containers/bubblewrap>`_ is the sandbox Flatpak uses. Each
sandbox gets new PID, network, IPC, UTS and cgroup namespaces (no network at all: the kernel
talks to the grader over unix sockets in one bound folder), a private size-limited tmpfs for
its home, ``/tmp`` and ``/dev/shm``, and an **allowlist** view of the machine: an empty root
with only the system's own folders (``/usr``, ``/etc``, ``/lib``..., :data:`SYSTEM_PATHS`), the
Python installation and the course's packages bound in, read-only. Everything else (homes,
``/work``, ``/srv``, another checkout of the course wherever it lives, the course's sources,
submissions and repository) does not exist inside. Paths to hide that lie under a bound folder
are covered by empty ones. Mounts made by bubblewrap cannot be undone inside: the sandboxed
processes have no capabilities.

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

# The system's own folders, bound read-only (a symlink such as /bin -> usr/bin stays a symlink).
# Nothing else of the machine is visible inside.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")


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


def _under(path: str, folders: list[str]) -> bool:
    """Whether ``path`` is one of ``folders`` or lies below one of them."""
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _parents(path: str, made: list[str], bound: list[str]) -> list[str]:
    """``--dir`` options (mode 0755) for the parents of ``path`` that do not exist yet in the
    sandbox, so that its user reaches what is mounted at ``path``."""
    out: list[str] = []
    for parent in reversed(Path(path).parents[:-1]):
        text = str(parent)
        if text not in made and not _under(text, bound):
            out += ["--perms", "0755", "--dir", text]
            made.append(text)
    return out


def _bind(option: str, path: str, made: list[str], bound: list[str]) -> list[str]:
    """``option path path`` (a bind), with the parents it needs."""
    out = _parents(path, made, bound)
    bound.append(path)
    return out + [option, path, path]


def _system_binds() -> list[str]:
    """Read-only binds (or symlinks) of the system's own folders."""
    out: list[str] = []
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            out += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            out += ["--ro-bind", path, path]
    return out


def _hide(path: Path) -> list[str]:
    """An empty folder (or /dev/null) over ``path``."""
    if path.is_dir():
        return ["--size", "4096", "--perms", "0755", "--tmpfs", str(path)]
    return ["--ro-bind", "/dev/null", str(path)] if path.exists() else []


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
    args += _system_binds() + ["--proc", "/proc", "--dev", "/dev"]
    for private in ("/tmp", "/dev/shm"):
        args += ["--size", str(layout.tmp_bytes), "--perms", "1777", "--tmpfs", private]
    made = ["/tmp", "/dev/shm", "/dev", "/proc"]
    bound = [p for p in SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]
    read_only = [str(p) for p in layout.read_only]
    for path in read_only:
        args += _bind("--ro-bind", path, made, bound)
    # what must stay hidden but lies in a bound folder; the packages bound under it come back
    hidden = [p for p in layout.hidden if _under(str(p), bound) and not _under(str(p), ["/tmp", "/dev/shm"])]
    for path in hidden:
        args += _hide(path)
    for path in read_only:
        if _under(path, [str(h) for h in hidden if h.is_dir()]):
            args += ["--ro-bind", path, path]
    for path in layout.writable:
        args += _bind("--bind", str(path), made, bound)
    args += _parents(layout.home, made, bound)
    args += ["--size", str(layout.home_bytes), "--perms", "0777", "--tmpfs", layout.home,
             "--perms", "0777", "--dir", layout.workdir]
    fds = fds or {}
    for rel in sorted(layout.files):
        target = f"{layout.workdir}/{rel}"
        for parent in reversed(Path(rel).parents[:-1]):
            args += ["--perms", "0777", "--dir", f"{layout.workdir}/{parent}"]
        args += ["--perms", "0666", "--file", str(fds[rel]), target]
    args += ["--remount-ro", "/"]  # the root stays empty (the binds keep their own mode)
    args += ["--chdir", layout.workdir, "--clearenv"]
    for key, value in sorted(layout.env.items()):
        args += ["--setenv", key, value]
    args.append("--")
    if root:
        args += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
                 "--no-new-privs", "--"]
    return args + list(cmd)
