"""Per-submission limits on memory, processes and CPU, with Linux control groups (v1).

Every sandboxed process of a submission (the student's kernel and everything it forks; the
checker) starts inside its job's cgroups, so one student's memory balloon across many
processes, fork flood or busy children hit that student's limits, never the class's. The
kernel's OOM killer stops a job that passes its memory limit (its kernel dies, the grader
restarts it for the next cells); a fork past the process limit fails with EAGAIN.

Root creates the jobs' cgroups below its own. An ordinary user needs a delegated parent,
made once by root with ``python -m grader cgroups --delegate USER`` (cgroup v1 folders do not
survive a reboot: run it at boot). Without cgroups the grader refuses to run rather than run
without limits. Machines with only the unified (v2) hierarchy are not supported yet.
"""

from __future__ import annotations

import os
import pwd
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu")
DELEGATED = "edgelab-grader-{user}"


class CgroupsUnavailable(RuntimeError):
    """The per-submission limits cannot be set up here; the message says what to do."""


def mounts() -> dict[str, Path]:
    """Where each cgroup v1 controller we use is mounted."""
    found: dict[str, Path] = {}
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            dash = fields.index("-")
            fstype, options = fields[dash + 1], fields[dash + 3].split(",")
            if fstype != "cgroup":
                continue
            for controller in CONTROLLERS:
                if controller in options:
                    found.setdefault(controller, Path(fields[4]))
    return found


def own_paths() -> dict[str, str]:
    """This process's cgroup path in each v1 controller."""
    paths: dict[str, str] = {}
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(","):
                paths[name] = path
    return paths


@dataclass
class JobLimits:
    """One job's limits: bytes of memory (RAM + swap, tmpfs files included), processes and
    threads, and CPUs (a share of a second of CPU time per second)."""

    memory_bytes: int
    processes: int
    cpus: float


class JobCgroup:
    """One job's cgroups (one folder per controller)."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def join(self) -> None:
        """Move the calling process into the job's cgroups (call it in the child before exec)."""
        pid = str(os.getpid()).encode()
        for path in self.paths.values():
            fd = os.open(path / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def pids(self) -> set[int]:
        """Processes in the job's cgroups now."""
        found: set[int] = set()
        for path in self.paths.values():
            try:
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except OSError:
                continue
        return found

    def memory_peak(self) -> int:
        """Highest memory use of the job so far, in bytes."""
        try:
            return int((self.paths["memory"] / "memory.max_usage_in_bytes").read_text())
        except (OSError, KeyError, ValueError):
            return 0

    def oom_killed(self) -> int:
        """How many of the job's processes the OOM killer stopped."""
        try:
            for line in (self.paths["memory"] / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, KeyError, ValueError):
            pass
        return 0

    def kill(self, seconds: float = 10.0) -> None:
        """SIGKILL every process left in the job's cgroups, until none is left."""
        deadline = time.monotonic() + seconds
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        """Kill what is left and remove the job's cgroup folders."""
        self.kill()
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


class CgroupTree:
    """The grader's own cgroup folders, one per controller, under which each job gets its own."""

    def __init__(self, parents: dict[str, Path]) -> None:
        self.parents = parents
        self._count = 0

    @classmethod
    def create(cls) -> CgroupTree:
        """Folders for this grading run: below this process's cgroups (root) or below the
        user's delegated ones. Raises :class:`CgroupsUnavailable` with what to do."""
        where = mounts()
        missing = [c for c in CONTROLLERS if c not in where]
        if missing:
            unified = Path("/sys/fs/cgroup/cgroup.controllers").exists()
            raise CgroupsUnavailable(
                f"the cgroup v1 controller(s) {', '.join(missing)} are not mounted"
                + (" (this machine uses the unified cgroup v2 hierarchy, which the grader does not "
                   "support yet)" if unified else "")
                + ": the grader cannot limit each submission's memory, processes and CPU, so it does not run")
        own = own_paths()
        user = pwd.getpwuid(os.geteuid()).pw_name
        parents: dict[str, Path] = {}
        for controller in CONTROLLERS:
            if os.geteuid() == 0:
                base = where[controller] / own.get(controller, "/").lstrip("/")
            else:
                base = where[controller] / DELEGATED.format(user=user)
                writable = os.access(base, os.W_OK) and os.access(base / "cgroup.procs", os.W_OK)
                if not (base.is_dir() and writable):
                    raise CgroupsUnavailable(
                        f"no cgroup delegated to {user} for {controller} ({base}): as root, run once "
                        f"(and after each reboot): python -m grader cgroups --delegate {user}")
            parent = base / f"edgelab-grading-{os.getpid()}"
            parent.mkdir(exist_ok=True)
            parents[controller] = parent
        if "memory" in parents:
            _write(parents["memory"] / "memory.use_hierarchy", "1", missing_ok=True)
        return cls(parents)

    def job(self, limits: JobLimits) -> JobCgroup:
        """A new job's cgroups with ``limits`` set (not yet joined by anything)."""
        self._count += 1
        paths = {c: p / f"job{self._count}" for c, p in self.parents.items()}
        for path in paths.values():
            path.mkdir()
        memory = paths["memory"]
        _write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
        _write(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes), missing_ok=True)
        _write(paths["pids"] / "pids.max", str(limits.processes))
        period = int((paths["cpu"] / "cpu.cfs_period_us").read_text())
        _write(paths["cpu"] / "cpu.cfs_quota_us", str(max(1000, int(limits.cpus * period))))
        return JobCgroup(paths)

    def close(self) -> None:
        """Remove this run's folders (their jobs must be gone)."""
        for parent in self.parents.values():
            for child in parent.glob("job*"):
                JobCgroup({"any": child}).remove()
            try:
                parent.rmdir()
            except OSError:
                pass


def _write(path: Path, value: str, missing_ok: bool = False) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        if not missing_ok:
            raise


def delegate(user: str) -> list[Path]:
    """Create (as root) the cgroup folders ``user`` may grade in, owned by ``user``."""
    if os.geteuid() != 0:
        raise PermissionError("delegating cgroups needs root")
    entry = pwd.getpwnam(user)
    made = []
    for mount in mounts().values():
        folder = mount / DELEGATED.format(user=user)
        folder.mkdir(exist_ok=True)
        for path in (folder, *(p for p in folder.iterdir() if p.is_file())):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        made.append(folder)
    return made
