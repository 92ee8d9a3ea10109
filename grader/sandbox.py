"""Run one submission's notebook in a sandbox.

The notebook client (nbclient) stays in the trusted grading process; only the kernel,
which runs the student's code, goes into the sandbox:

* its own PID, mount and network namespaces (``unshare``): no network at all (the
  kernel talks to the client over unix sockets), and when the namespace's init ends
  every process the student forked ends with it, ``setsid`` or not;
* an unprivileged user per worker slot (``edgelab-grader<N>``, created if missing
  when running as root) with no supplementary groups and ``no_new_privs``;
* ``setrlimit`` limits on address space, CPU time, processes, file size;
* the course sources, hidden tests, submissions and gradebook hidden by empty
  mounts, then checked unreadable by that user before any student code runs;
* a scratch copy of the submission's folder as working directory, a clean
  environment, a wall-clock limit per notebook and per cell, capped output.

Hidden tests reach the kernel only as the code of the cells being executed; they are
never written where the student's user can read them.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import ctypes
import functools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER_PREFIX = "edgelab-grader"
TRUNCATED = "\n[output truncated by the grader: {} bytes dropped]\n"


@dataclass
class Limits:
    """Resource limits for one notebook run (seconds, bytes, counts)."""

    wall_seconds: float = 900.0
    cell_seconds: float = 300.0
    cpu_seconds: int = 900
    memory_bytes: int = 6 * 2**30  # address space: TensorFlow + a small training peaks near 3 GiB
    processes: int = 256
    file_bytes: int = 64 * 2**20
    cell_output_bytes: int = 100_000
    notebook_output_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "cell_seconds", "cpu_seconds", "memory_bytes", "processes",
                     "file_bytes", "cell_output_bytes", "notebook_output_bytes"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")


@dataclass
class RunResult:
    """An executed notebook and how its run ended."""

    nb: Any
    status: str  # "ok", "timeout", "kernel-died", "sandbox-error"
    seconds: float
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- users

def slot_user(slot: int) -> tuple[int, int]:
    """uid and gid of the sandbox user for worker ``slot``, created if missing (root only)."""
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
        st = parent.stat()
        if not _allowed(st, uid, gid, 0o1):
            return True
    st = path.stat()
    return not _allowed(st, uid, gid, 0o4)


def _allowed(st: os.stat_result, uid: int, gid: int, bit: int) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & (bit << 6))
    if st.st_gid == gid:
        return bool(st.st_mode & (bit << 3))
    return bool(st.st_mode & bit)


# --------------------------------------------------------------------------- the kernel's side

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
_PR_SET_NO_NEW_PRIVS = 38


def _mount(libc: ctypes.CDLL, source: str, target: str, fstype: str | None, flags: int,
           data: str | None) -> None:
    rc = libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                    ctypes.c_ulong(flags), data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _hide(libc: ctypes.CDLL, path: str) -> None:
    """Cover ``path`` with an empty read-only tmpfs (folder) or /dev/null (file)."""
    if os.path.isdir(path):
        _mount(libc, "tmpfs", path, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=4k,mode=0555")
    elif os.path.exists(path):
        _mount(libc, "/dev/null", path, None, _MS_BIND, None)


def _expose(libc: ctypes.CDLL, path: str) -> None:
    """Make ``path`` reachable for other users when a parent folder is closed (e.g. a Python
    under /root): cover that parent with an empty tmpfs and bind ``path``'s branch back in."""
    parts = Path(path).resolve().parts
    for depth in range(2, len(parts)):
        closed = Path(*parts[:depth])
        if not os.stat(closed).st_mode & 0o001:
            branch = Path(*parts[:depth + 1])
            fd = os.open(branch, os.O_PATH)
            _mount(libc, "tmpfs", str(closed), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4k,mode=0755")
            os.mkdir(branch)
            _mount(libc, f"/proc/self/fd/{fd}", str(branch), None, _MS_BIND | _MS_REC, None)
            os.close(fd)
            return


# Fresh, writable, size-limited: the only places a submission may write (besides its home).
_PRIVATE_TOPS = ("/tmp", "/var/tmp", "/dev/shm")
# Other projects' and users' files (another checkout of the course, instructors' homes): empty.
_CLOSED_TOPS = ("/work", "/home", "/root", "/srv", "/mnt", "/media", "/opt")


def _private_dirs(libc: ctypes.CDLL, keep: list[str], size: int) -> None:
    """Cover the private and closed top-level folders with empty tmpfs mounts and bind the
    ``keep`` folders (the Python installation, the submission's folder) back in."""
    for top in _PRIVATE_TOPS + _CLOSED_TOPS:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        inside = [(k, os.open(k, os.O_PATH)) for k in keep if k.startswith(top + "/")]
        if top in _PRIVATE_TOPS:
            _mount(libc, "tmpfs", top, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=1777")
        else:
            _mount(libc, "tmpfs", top, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
        for path, fd in inside:
            os.makedirs(path, mode=0o711, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC, None)
            os.close(fd)


def _still_readable(path: str) -> bool:
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        with open(path, "rb") as fh:
            return bool(fh.read(1))
    except OSError:
        return False


def boot(argv: list[str]) -> int:
    """Namespace init (root inside the new namespaces): hide secrets, start the kernel as the
    sandbox user with limits, reap orphans, exit with the kernel. Exit code 97: a secret
    stayed readable; 98: setup failed."""
    parser = argparse.ArgumentParser(prog="grader.sandbox boot")
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--gid", type=int, required=True)
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--expose", action="append", default=[])
    parser.add_argument("--keep", action="append", default=[])
    parser.add_argument("--tmp-bytes", type=int, default=256 * 2**20)
    parser.add_argument("--limit", action="append", default=[], help="NAME=VALUE, a resource.RLIMIT_ name")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    import resource

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE, None)
        for path in args.hide:
            _hide(libc, path)
        for path in args.expose:
            _expose(libc, path)
        _private_dirs(libc, args.keep, args.tmp_bytes)
    except OSError as exc:
        print(f"sandbox setup failed: {exc}", file=sys.stderr)
        return 98
    signal.signal(signal.SIGINT, lambda *_: None)  # interrupts reach the kernel via its group
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
           "HOME": args.home, "LANG": "C.UTF-8", "TMPDIR": args.home,
           "IPYTHONDIR": os.path.join(args.home, ".ipython"), "JUPYTER_RUNTIME_DIR": args.home,
           "MPLCONFIGDIR": os.path.join(args.home, ".matplotlib"), "MPLBACKEND": "Agg",
           "NBGRADER_EXECUTION": "autograde", "PYTHONDONTWRITEBYTECODE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    pid = os.fork()
    if pid == 0:
        try:
            for item in args.limit:
                name, value = item.split("=")
                limit = int(value)
                resource.setrlimit(getattr(resource, name), (limit, limit))
            if args.uid != os.getuid():  # as root; in a user namespace we stay the mapped user
                os.setgroups([])
                os.setgid(args.gid)
                os.setuid(args.uid)
            libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            leaked = [p for p in args.hide if _still_readable(p)]
            if leaked:
                print(f"sandbox check failed, still readable: {leaked}", file=sys.stderr)
                os._exit(97)
            os.chdir(args.cwd)
            os.execve(cmd[0], cmd, env)
        except BaseException as exc:  # noqa: BLE001 -- report and leave the child
            print(f"sandbox setup failed: {exc!r}", file=sys.stderr)
            os._exit(98)
    status = 0
    while True:  # init: reap every orphan, leave when the kernel leaves
        try:
            done, wstatus = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if done == pid:
            status = os.waitstatus_to_exitcode(wstatus)
            break
    return status if status >= 0 else 128 - status


# --------------------------------------------------------------------------- the grader's side

def _wrap_command(cmd: list[str], uid: int, gid: int, cwd: Path, home: Path, hide: list[Path],
                  limits: Limits) -> list[str]:
    rlimits = {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_CPU": limits.cpu_seconds,
               "RLIMIT_NPROC": limits.processes, "RLIMIT_FSIZE": limits.file_bytes,
               "RLIMIT_CORE": 0, "RLIMIT_NOFILE": 1024}
    prefix = ["unshare", "--net", "--pid", "--mount", "--ipc", "--uts", "--fork", "--kill-child",
              "--mount-proc"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")
    if os.geteuid() != 0:
        uid = gid = 0  # the invoking user, mapped to root inside its user namespace
    boot_cmd = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "boot",
                "--uid", str(uid), "--gid", str(gid), "--cwd", str(cwd), "--home", str(home),
                "--keep", str(Path(home).parent), "--tmp-bytes", str(limits.file_bytes * 4)]
    for path in hide:
        boot_cmd += ["--hide", str(path)]
    for path in {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)}:
        boot_cmd += ["--expose", path]
    # the Python installation survives the private /tmp and the closed /work, /root, /home...
    for path in {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)}:
        boot_cmd += ["--keep", path]
    for name, value in rlimits.items():
        boot_cmd += ["--limit", f"{name}={int(value)}"]
    return prefix + boot_cmd + ["--", *cmd]


@functools.cache
def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        """A kernel manager whose kernel starts inside the sandbox."""

        sandbox_args: dict = {}

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = super().format_kernel_cmd(extra_arguments)
            a = self.sandbox_args
            return _wrap_command(cmd, a["uid"], a["gid"], a["cwd"], a["home"], a["hide"], a["limits"])

        def write_connection_file(self, **kwargs: Any) -> None:
            super().write_connection_file(**kwargs)
            os.chown(self.connection_file, self.sandbox_args["uid"], self.sandbox_args["gid"])

    return SandboxKernelManager


_GUARD = '''
def __install(name, modules, ip=get_ipython()):
    import builtins, importlib, sys
    snap_builtins = dict(vars(builtins))
    snap_modules = {}
    for m in modules:
        try:
            mod = importlib.import_module(m)
        except Exception:
            continue
        snap_modules[m] = (mod, dict(vars(mod)))
    snap_sys = {k: getattr(sys, k) for k in ("displayhook", "excepthook", "modules")}
    manager = ip.input_transformer_manager
    snap_tm = {k: list(getattr(manager, k)) for k in ("cleanup_transforms", "line_transforms",
                                                      "token_transformers")}
    snap_ip = {k: list(getattr(ip, k)) for k in ("input_transformers_post", "ast_transformers")}
    snap_events = {k: list(v) for k, v in ip.events.callbacks.items()}
    snap_hooks = (ip.custom_exceptions, ip.CustomTB, ip.displayhook, ip.display_pub, ip.run_cell,
                  ip.run_ast_nodes, ip.run_code, ip.showtraceback, ip.transform_cell)
    protected = {}
    def guard(action="restore", names=()):
        ns = ip.user_ns
        if action == "protect":
            for n in names:
                if n in ns:
                    protected[n] = ns[n]
            return len(protected)
        b = vars(builtins)
        b.update(snap_builtins)
        for k, v in snap_sys.items():
            setattr(sys, k, v)
        for m, (mod, d) in snap_modules.items():
            sys.modules[m] = mod
            vars(mod).update(d)
        for k in list(ns):
            if k in snap_builtins and not k.startswith("_") and ns[k] is not snap_builtins[k]:
                del ns[k]
        ns.update(protected)
        for k, v in snap_tm.items():
            setattr(manager, k, list(v))
        ip.input_transformer_manager = manager
        for k, v in snap_ip.items():
            setattr(ip, k, list(v))
        ip.events.callbacks.clear()
        ip.events.callbacks.update({k: list(v) for k, v in snap_events.items()})
        (ip.custom_exceptions, ip.CustomTB, ip.displayhook, ip.display_pub, ip.run_cell,
         ip.run_ast_nodes, ip.run_code, ip.showtraceback, ip.transform_cell) = snap_hooks
        sys.settrace(None)
        sys.setprofile(None)
        return "ok"
    ip.user_ns[name] = guard
'''


def imported_modules(nb: Any) -> list[str]:
    """Modules imported by the notebook's locked (instructor) code cells."""
    names: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or not (meta.get("locked") or meta.get("grade")):
            continue
        try:
            tree = ast.parse(_python_only(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return sorted(set(names))


def _python_only(source: str) -> str:
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def bound_names(source: str) -> list[str]:
    """Top-level names a cell binds (functions, classes, assignments, imports)."""
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    return names


def _client_class():
    from nbclient import NotebookClient

    class GuardedClient(NotebookClient):
        """nbclient with capped outputs and the guard run around instructor cells."""

        guard_name = ""
        cell_bytes = 0
        dropped = 0
        sandbox_args: dict = {}

        def create_kernel_manager(self):
            """Always a sandboxed kernel, also after a restart (nbclient drops its manager)."""
            home = self.sandbox_args["home"]
            self.km = _kernel_manager_class()(kernel_name="python3", transport="ipc", ip=str(home / "ipc"),
                                              connection_file=str(home / "kernel.json"))
            self.km.sandbox_args = self.sandbox_args
            return self.km

        def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001
            """Keep outputs up to the byte budgets; past them, drop text but never what grades a
            cell (errors, stderr, results), only shorten it."""
            content = msg.get("content", {})
            size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
            size += len(str(content.get("traceback", "")))
            budget = min(self.limits.cell_output_bytes, self.remaining)
            if self.cell_bytes + size > budget:
                grading = msg["msg_type"] in ("error", "execute_result") or content.get("name") == "stderr"
                self.dropped += size
                if not grading:
                    return None
                if "text" in content:
                    content["text"] = str(content["text"])[:1000]
                if "traceback" in content:
                    content["traceback"] = [str(line)[:1000] for line in content["traceback"][-5:]]
                if "data" in content:
                    content["data"] = {"text/plain": str(content["data"].get("text/plain", ""))[:1000]}
            self.cell_bytes += size
            self.remaining -= size
            return super().output(outs, msg, display_id, cell_index)

        async def run_guard(self, expression: str) -> bool:
            """Evaluate ``expression`` outside IPython's input transformers; True if it gave 'ok'
            (or a count, for 'protect')."""
            msg_id = await _ensure(self.kc.execute("", silent=True, store_history=False,
                                                   user_expressions={"g": expression}))
            reply = await self.async_wait_for_reply(msg_id)
            result = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("g", {})
            return result.get("status") == "ok"

        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            meta = cell.metadata.get("nbgrader", {})
            instructor = cell.cell_type == "code" and not meta.get("solution") and (
                meta.get("grade") or meta.get("locked"))
            if instructor and meta.get("grade") and cell.source.strip():
                if not await self.run_guard(f"{self.guard_name}()"):
                    cell.outputs = [not_executed_error("the notebook disabled the grader's checks")]
                    return cell
            self.cell_bytes = self.dropped = 0
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            if self.dropped:
                from nbformat.v4 import new_output
                cell.outputs.append(new_output("stream", name="stdout", text=TRUNCATED.format(self.dropped)))
            if instructor and not meta.get("grade"):  # helpers from setup cells, not test internals
                names = bound_names(cell.source)
                if names:
                    await self.run_guard(f"{self.guard_name}('protect', {names!r})")
            return cell

        def on_cell_executed_hook(self, cell, execute_reply) -> None:  # noqa: ANN001
            """An error reply with no error output (a swallowed traceback) still counts as an error."""
            from nbformat.notebooknode import NotebookNode
            content = (execute_reply or {}).get("content", {})
            if content.get("status") == "error" and not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs.append(NotebookNode(output_type="error", ename=content.get("ename", "Error"),
                                                 evalue=content.get("evalue", ""),
                                                 traceback=content.get("traceback") or []))

    return GuardedClient


async def _ensure(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


def not_executed_error(reason: str) -> Any:
    """An error output for a cell the sandbox did not run (so nbgrader gives it no credit)."""
    from nbformat.notebooknode import NotebookNode
    return NotebookNode(output_type="error", ename="NotExecuted", evalue=reason,
                        traceback=[f"NotExecuted: {reason}"])


class Sandbox:
    """Where and how submissions run: a root-only scratch base, paths to hide, limits."""

    def __init__(self, hide: list[Path], limits: Limits | None = None, base: Path | None = None) -> None:
        self.limits = limits or Limits()
        self.hide = [Path(p).resolve() for p in hide if Path(p).exists()]
        self.base = Path(tempfile.mkdtemp(prefix="edgelab-sandbox-", dir=base))
        os.chmod(self.base, 0o711)  # users reach their own job folder, list nothing
        self._count = 0

    def close(self) -> None:
        """Remove every scratch folder."""
        shutil.rmtree(self.base, ignore_errors=True)

    def check_permissions(self, slot: int) -> list[Path]:
        """Hidden paths the sandbox user of ``slot`` could read by file modes alone (before
        the mounts hide them): informative; the boot check after mounting is what counts."""
        uid, gid = slot_user(slot) if os.geteuid() == 0 else (os.getuid(), os.getgid())
        return [p for p in self.hide if not unreadable_by(uid, gid, p)]

    async def run(self, nb: Any, files_from: list[Path], slot: int) -> RunResult:
        """Execute ``nb`` (hidden tests already in) in a fresh scratch copy of ``files_from``
        (folders whose non-notebook files the notebook may read) as the user of ``slot``."""
        start = time.monotonic()
        if os.geteuid() == 0:
            uid, gid = slot_user(slot)
        else:
            uid, gid = os.getuid(), os.getgid()
        self._count += 1
        job = self.base / f"job{self._count}-{secrets.token_hex(4)}"
        work, home = job / "work", job / "home"
        for folder in (job, work, home):
            folder.mkdir()
        for source in files_from:
            _copy_files(Path(source), work)
        for path in (job, *job.rglob("*")):
            os.chown(path, uid, gid, follow_symlinks=False)
        os.chmod(job, 0o700)
        notes: list[str] = []
        try:
            return await self._execute(nb, uid, gid, work, home, start, notes)
        finally:
            shutil.rmtree(job, ignore_errors=True)

    async def _execute(self, nb: Any, uid: int, gid: int, work: Path, home: Path, start: float,
                       notes: list[str]) -> RunResult:
        too_long = f"cell ran longer than {self.limits.cell_seconds:g} s"
        client = _client_class()(nb, timeout=int(self.limits.cell_seconds), allow_errors=True,
                                 interrupt_on_timeout=True, startup_timeout=120,
                                 error_on_timeout={"ename": "CellTimeoutError", "evalue": too_long,
                                                   "traceback": [f"CellTimeoutError: {too_long}"]},
                                 iopub_timeout=10, raise_on_iopub_timeout=False, kernel_name="python3",
                                 shutdown_kernel="immediate", resources={"metadata": {"path": str(work)}})
        client.sandbox_args = {"uid": uid, "gid": gid, "cwd": work, "home": home, "hide": self.hide,
                               "limits": self.limits}
        client.limits = self.limits
        client.remaining = self.limits.notebook_output_bytes
        client.guard_name = f"_edgelab_guard_{secrets.token_hex(8)}"
        client.on_cell_executed = lambda cell, cell_index, execute_reply: client.on_cell_executed_hook(
            cell, execute_reply)
        done: set[int] = set()
        status = "ok"
        deadline = start + self.limits.wall_seconds

        async def run_all() -> None:
            nonlocal status
            index = 0
            restarts = 0
            while index < len(nb.cells):
                try:
                    async with client.async_setup_kernel(stdout=subprocess.DEVNULL,
                                                         stderr=subprocess.DEVNULL):
                        install = _GUARD + f"\n__install({client.guard_name!r}, {imported_modules(nb)!r})\n" \
                            "del __install\n"
                        msg_id = await _ensure(client.kc.execute(install, silent=True, store_history=False))
                        reply = await client.async_wait_for_reply(msg_id)
                        if reply is None or reply["content"]["status"] != "ok":
                            raise RuntimeError("the grader's guard did not install")
                        while index < len(nb.cells):
                            await client.async_execute_cell(nb.cells[index], index,
                                                            execution_count=index + 1)
                            done.add(index)
                            index += 1
                except Exception as exc:  # noqa: BLE001 -- kernel death, failed start
                    name = type(exc).__name__
                    if index < len(nb.cells) and nb.cells[index].cell_type == "code":
                        nb.cells[index].outputs.append(not_executed_error(
                            f"the kernel stopped during this cell ({name}); it was restarted"))
                        done.add(index)
                    notes.append(f"cell {index}: {name}: {exc}")
                    status = "kernel-died"
                    index += 1
                    restarts += 1
                    if restarts > 3 or time.monotonic() > deadline:
                        return

        try:
            await asyncio.wait_for(run_all(), timeout=max(1.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            status = "timeout"
            notes.append(f"wall-clock limit of {self.limits.wall_seconds:g} s reached")
        finally:
            km = client.km
            try:
                if km is not None and await _ensure(km.is_alive()):
                    await _ensure(km.shutdown_kernel(now=True))
            except Exception:  # noqa: BLE001 -- already gone
                pass
        if status != "timeout" and time.monotonic() >= deadline:
            status = "timeout"
            notes.append(f"wall-clock limit of {self.limits.wall_seconds:g} s reached")
        reason = {"timeout": "the notebook reached the grader's time limit",
                  "kernel-died": "the kernel stopped too many times"}.get(status, "not executed")
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and index not in done:
                cell.outputs = [not_executed_error(f"not executed: {reason}")]
        return RunResult(nb=nb, status=status, seconds=time.monotonic() - start, notes=notes)


def _copy_files(source: Path, dest: Path) -> None:
    """Copy the non-notebook files of ``source`` (no symlinks) into ``dest``."""
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if path.is_symlink() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in rel.parts:
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


if __name__ == "__main__":
    if sys.argv[1:2] == ["boot"]:
        sys.exit(boot(sys.argv[2:]))
    sys.exit("usage: python sandbox.py boot ...")
