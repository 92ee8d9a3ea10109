"""Run one submission safely: the student's kernel and the checker, each in its own sandbox.

For every submission the grader starts two sandboxed processes (:mod:`grader.bubblewrap`),
each in its own cgroups (:mod:`grader.cgroups`) and size-limited tmpfs home:

* the **student's kernel** (:mod:`grader.kernel`) runs the submission's cells in order,
  except its test cells;
* the **checker** (:mod:`grader.checker`) runs, at each test cell, the instructor cells of
  the source notebook that the test needs (:func:`grader.cells.plan`) and then the test
  cell itself, with the student's answers handed over as plain data (:mod:`grader.plain`),
  after the student's files have been copied over as data.

The two go in step: the kernel runs up to a test cell, then the checker checks. A test cell's
outputs are the checker's and nothing else, so the grade does not depend on anything the
student's process can alter. Limits: wall-clock per notebook, time per cell, memory,
processes and CPU per process tree (cgroups), file size, tmpfs sizes, output bytes.

A run ends ``"ran"`` (its outputs grade it, whatever failed) or ``"could-not-run"``: the
kernel or the checker could not start or stopped working, or an instructor cell failed in a
way that says the course environment is broken (a course package that does not import, a
declared data file missing). Those are not grades: the caller records nothing for them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode

from grader import bubblewrap, cells
from grader.cgroups import CgroupTree, JobCgroup, JobLimits
from grader.checker import Checker, CheckerFailed
from grader.kernel import KernelGone, KernelSandbox, StudentKernel
from grader.plain import unusable_reason
from grader.users import slot_user

RAN, COULD_NOT_RUN = "ran", "could-not-run"
PACKAGES = ("edgelab",)  # the course's packages, importable in both sandboxes
GRADER_MODULES = ("__init__.py", "plain.py", "checker.py")  # all a sandbox needs of the grader
ENVIRONMENT_ERRORS = ("ModuleNotFoundError", "ImportError")


@dataclass
class Limits:
    """Resource limits for one submission (seconds, bytes, counts). Memory, processes and
    CPUs hold for the student's kernel and everything it forks, and again for the checker."""

    wall_seconds: float = 900.0
    cell_seconds: float = 300.0
    cpu_seconds: int = 900
    memory_bytes: int = 3 * 2**30
    processes: int = 512
    cpus: float = 1.0
    address_space_bytes: int = 8 * 2**30  # per process: a backstop (TensorFlow reserves a lot)
    file_bytes: int = 64 * 2**20
    home_bytes: int = 512 * 2**20
    tmp_bytes: int = 256 * 2**20
    cell_output_bytes: int = 100_000
    notebook_output_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")


@dataclass
class RunResult:
    """An executed notebook and how its run ended."""

    nb: Any
    status: str  # RAN or COULD_NOT_RUN
    seconds: float
    notes: list[str] = field(default_factory=list)  # timeouts, kernel restarts, failed instructor cells
    reason: str = ""  # why it could not run
    timed_out: bool = False
    restarts: int = 0
    checks_failed: int = 0
    checks_not_run: int = 0
    memory_peak: int = 0


def not_executed_error(reason: str) -> Any:
    """An error output for a cell the grader did not run (so nbgrader gives it no credit)."""
    return NotebookNode(output_type="error", ename="NotExecuted", evalue=reason,
                        traceback=[f"NotExecuted: {reason}"])


class CouldNotRun(RuntimeError):
    """The submission could not be run: an environment problem, not a grade."""


class Sandbox:
    """Where and how submissions run: the grading run's scratch folder, cgroups, hidden paths
    and limits. Refuses (SandboxUnavailable, CgroupsUnavailable) where it cannot run safely."""

    def __init__(self, hide: list[Path], limits: Limits | None = None,
                 packages: tuple[str, ...] = PACKAGES) -> None:
        self.limits = limits or Limits()
        bubblewrap.check()
        package_dirs = bubblewrap.package_paths(packages)
        self.read_only = sorted(set(bubblewrap.python_paths() + package_dirs))
        # the course's packages import inside as they do here, even from a checkout not installed
        self.python_path = [str(p.parent) for p in package_dirs]
        self.hide = [Path(p).resolve() for p in hide if Path(p).exists()]
        self.cgroups = CgroupTree.create()
        self.base = Path(tempfile.mkdtemp(prefix="edgelab-grading-", dir="/dev/shm"))
        os.chmod(self.base, 0o711)  # sandbox users reach their own job folder, list nothing
        self.lib = self.base / "lib"
        (self.lib / "grader").mkdir(parents=True)
        for name in GRADER_MODULES:
            shutil.copyfile(Path(__file__).with_name(name), self.lib / "grader" / name)
        os.chmod(self.lib, 0o755)
        os.chmod(self.lib / "grader", 0o755)
        self.cache = self.base / "cache"  # models trained by trusted runs, read-only for students
        self.cache.mkdir(mode=0o755)
        self._count = 0

    def close(self) -> None:
        """Remove every scratch folder and cgroup of this grading run."""
        self.cgroups.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def _env(self, home: str) -> dict[str, str]:
        python_bin = str(Path(sys.executable).parent)
        return {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
                "TMPDIR": "/tmp", "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.matplotlib",
                "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde", "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPATH": os.pathsep.join([str(self.lib), *self.python_path]),
                "XDG_CACHE_HOME": str(self.cache),
                "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "JUPYTER_PLATFORM_DIRS": "1"}

    def _layout(self, files: dict[str, Path], writable: list[Path], trusted: bool) -> bubblewrap.Layout:
        home = "/home/student"
        read_only = self.read_only + [self.lib] + ([] if trusted else [self.cache])
        writable = writable + ([self.cache] if trusted else [])
        return bubblewrap.Layout(read_only=read_only, hidden=self.hide, writable=writable,
                                 home=home, files=files, env=self._env(home),
                                 home_bytes=self.limits.home_bytes, tmp_bytes=self.limits.tmp_bytes)

    def _preexec(self, cgroup: JobCgroup):
        limits = self.limits
        rlimits = ((resource.RLIMIT_AS, limits.address_space_bytes),
                   (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_FSIZE, limits.file_bytes),
                   (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 4096))

        def preexec() -> None:
            cgroup.join()
            for kind, value in rlimits:
                resource.setrlimit(kind, (int(value), int(value)))
        return preexec

    def _job_limits(self) -> JobLimits:
        return JobLimits(memory_bytes=int(self.limits.memory_bytes), processes=int(self.limits.processes),
                         cpus=float(self.limits.cpus))

    def seal_cache(self) -> None:
        """After trusted runs: the cache belongs to the grader and is readable by every sandbox."""
        for path in (self.cache, *self.cache.rglob("*")):
            if os.geteuid() == 0:
                os.chown(path, 0, 0, follow_symlinks=False)
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.is_dir() else 0o644)

    async def run(self, nb: Any, source_nb: Any, files: dict[str, Path], slot: int,
                  trusted: bool = False) -> RunResult:
        """Execute the prepared submission ``nb`` (hidden tests restored) against ``source_nb``
        (the lesson's source notebook), with ``files`` (path in the working folder -> host
        file) copied into both sandboxes, as the user of ``slot``. A ``trusted`` run (the
        lesson's own solution) may fill the model cache every later run reads; no other may
        write to it, so no student can plant a model another student's run loads."""
        start = time.monotonic()
        uid, gid = slot_user(slot) if os.geteuid() == 0 else (os.getuid(), os.getgid())
        self._count += 1
        job = self.base / f"job{self._count}-{secrets.token_hex(4)}"
        ipc = job / "ipc"
        ipc.mkdir(parents=True)
        os.chmod(job, 0o711)
        os.chown(ipc, uid, gid)
        os.chmod(ipc, 0o700)
        kernel_cgroup = self.cgroups.job(self._job_limits())
        checker_cgroup = self.cgroups.job(self._job_limits())
        if trusted:
            os.chown(self.cache, uid, gid)
        run = _Run(self, nb, source_nb, files, uid, gid, ipc, kernel_cgroup, checker_cgroup, start, trusted)
        try:
            return await run.execute()
        finally:
            if trusted:
                self.seal_cache()
            kernel_cgroup.remove()
            checker_cgroup.remove()
            shutil.rmtree(job, ignore_errors=True)


def _open_files(files: dict[str, Path]) -> dict[str, int]:
    return {rel: os.open(path, os.O_RDONLY | os.O_NOFOLLOW) for rel, path in files.items()}


class _Run:
    """One submission's run (see the module docstring)."""

    def __init__(self, sandbox: Sandbox, nb: Any, source_nb: Any, files: dict[str, Path], uid: int, gid: int,
                 ipc: Path, kernel_cgroup: JobCgroup, checker_cgroup: JobCgroup, start: float,
                 trusted: bool) -> None:
        self.sandbox, self.limits = sandbox, sandbox.limits
        self.nb, self.source_nb, self.files = nb, source_nb, files
        self.uid, self.gid = uid, gid
        self.kernel_cgroup, self.checker_cgroup = kernel_cgroup, checker_cgroup
        self.plan = cells.plan(source_nb)
        self.source_cells = source_nb["cells"]
        self.deadline = start + self.limits.wall_seconds
        self.start = start
        self.result = RunResult(nb=nb, status=RAN, seconds=0.0)
        self.trusted = trusted
        layout = sandbox._layout(files, writable=[ipc], trusted=trusted)
        self.kernel = StudentKernel(
            nb, KernelSandbox(wrap=lambda argv, fds: bubblewrap.command(layout, argv, uid, gid, fds),
                              open_files=lambda: _open_files(files), preexec=sandbox._preexec(kernel_cgroup),
                              connection_file=str(ipc / "kernel.json"), ipc_prefix=str(ipc / "k"),
                              owner=(uid, gid) if os.geteuid() == 0 else None),
            cell_seconds=self.limits.cell_seconds, cell_bytes=self.limits.cell_output_bytes,
            notebook_bytes=self.limits.notebook_output_bytes, workdir=layout.workdir)
        self.kernel_up = False
        self.checker: Checker | None = None
        self.checker_done: set[int] = set()
        self.known_files: dict[str, list] = {}
        self.expired = False  # the wall-clock limit passed
        self.tainted: set[str] = set()  # names left unset by instructor cells that failed on student data
        self.test_outputs: dict[int, list] = {}

    # ----------------------------------------------------------------- the student's kernel

    async def start_kernel(self) -> None:
        if self.result.restarts > 3:
            raise _Stop("the kernel stopped too many times")
        try:
            await self.kernel.start(helper=f"_edgelab_data_{secrets.token_hex(6)}")
        except KernelGone as exc:
            raise CouldNotRun(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 -- a kernel that cannot start is not a grade
            raise CouldNotRun(f"the kernel could not start: {type(exc).__name__}: {exc}") from None
        self.kernel_up = True

    async def restart_kernel(self, why: str) -> None:
        if self.expired:
            raise _Expired()
        self.result.restarts += 1
        self.result.notes.append(why)
        await self.kernel.stop()
        self.kernel_up = False
        await self.start_kernel()

    async def run_student_cell(self, index: int, cell: Any) -> None:
        if not self.kernel_up:
            await self.start_kernel()
        try:
            await self.kernel.execute(cell, index)
        except KernelGone as exc:
            if self.expired:
                raise _Expired() from None
            cell.outputs.append(not_executed_error(f"the kernel stopped during this cell ({exc}); it was "
                                                   "restarted for the next cells"))
            await self.restart_kernel(f"cell {index}: {exc}")
            return
        self.check_environment(index, cell)

    def check_environment(self, index: int, cell: Any) -> None:
        """An instructor cell, unchanged from the source, that fails to import a course package
        or to find a declared data file means the environment is broken, not the student."""
        if cells.kind(cell) != cells.INSTRUCTOR:
            return
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if not errors:
            return
        sources = {"".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                   for c in self.source_cells if cells.kind(c) == cells.INSTRUCTOR}
        if cell.source not in sources:
            return
        error = errors[-1]
        missing_data = error.get("ename") == "FileNotFoundError" and any(
            rel in str(error.get("evalue", "")) for rel in self.files)
        if error.get("ename") in ENVIRONMENT_ERRORS or missing_data:
            raise CouldNotRun(f"instructor cell {index} failed: {error.get('ename')}: "
                              f"{str(error.get('evalue', ''))[:300]}")

    # ----------------------------------------------------------------- data from the kernel

    async def fetch_answers(self, names: set[str]) -> tuple[dict[str, str], list[str]]:
        """The student's values of ``names`` as data, and the names the kernel does not define."""
        if not names:
            return {}, []
        if not self.kernel_up:
            await self.start_kernel()
        helper = self.kernel.helper
        try:
            results = await self.kernel.expressions({n: f"{helper}.export({n})" for n in sorted(names)},
                                                    self.limits.cell_seconds)
        except (KernelGone, TimeoutError) as exc:
            await self.restart_kernel(f"reading answers: {exc}")
            return {}, sorted(names)
        answers, missing = {}, []
        for name, (ok, text) in results.items():
            if ok:
                answers[name] = text
            elif text.startswith("NameError"):
                missing.append(name)
            else:
                answers[name] = json.dumps({"__unusable__": f"reading it raised {text}"})
        return answers, missing

    async def call(self, name: str, payload: str, deadline: float, without: tuple[str, ...] = ()) -> dict:
        """Call the student's function ``name`` in the kernel for the checker, without the
        library functions named in ``without``."""
        if name not in self.plan.answers or not name.isidentifier():
            return {"raised": ["NameError", f"{name} is not one of the exercise's answers"]}
        if not self.kernel_up:
            await self.start_kernel()
        seconds = max(1.0, min(self.limits.cell_seconds, deadline - time.monotonic()))
        refused = tuple(n for n in without if cells.DOTTED.match(n))
        expression = f"{self.kernel.helper}.call({name}, {payload!r}, globals(), {refused!r})"
        try:
            (ok, text), = (await self.kernel.expressions({"r": expression}, seconds)).values()
        except TimeoutError:
            return {"raised": ["TimeoutError", f"{name}(...) ran longer than {seconds:g} s"]}
        except KernelGone as exc:
            await self.restart_kernel(f"calling {name}: {exc}")
            return {"raised": ["RuntimeError", f"your kernel stopped while running {name}(...)"]}
        if not ok:
            kind, _, message = text.partition(": ")
            return {"raised": [kind, message]}
        if text.startswith('{"__raised__"'):
            try:
                kind, message = json.loads(text)["__raised__"]
                return {"raised": [str(kind), str(message)]}
            except (ValueError, TypeError, KeyError):
                pass
        return {"result": text}

    async def sync_files(self) -> None:
        """Copy the files the student's kernel created or changed into the checker, as data."""
        helper = self.kernel.helper
        if not self.kernel_up:
            return
        try:
            results = await self.kernel.expressions(
                {"f": f"{helper}.changed_files({json.dumps(self.known_files)!r})"}, 60)
        except (KernelGone, TimeoutError) as exc:
            await self.restart_kernel(f"reading files: {exc}")
            return
        ok, text = results["f"]
        files: dict[str, bytes] = {}
        try:
            listing = json.loads(text) if ok else {}
        except ValueError:
            listing = {}
        for rel, entry in (listing.items() if isinstance(listing, dict) else []):
            try:
                size, mtime, data = entry
                files[str(rel)] = base64.b64decode(str(data), validate=True)
                self.known_files[str(rel)] = [int(size), int(mtime)]
            except (ValueError, TypeError):
                continue
        await self.checker.send_files(files)

    # ----------------------------------------------------------------- the checker

    async def start_checker(self) -> None:
        layout = self.sandbox._layout(self.files, writable=[], trusted=self.trusted)
        fds = _open_files(self.files)
        try:
            # -P: the working folder (the student's files) is not on sys.path; -s: no user site
            argv = bubblewrap.command(layout, [sys.executable, "-P", "-s", "-m", "grader.checker"], self.uid,
                                      self.gid, fds)
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, pass_fds=tuple(fds.values()),
                preexec_fn=self.sandbox._preexec(self.checker_cgroup), limit=256 * 2**20,
                start_new_session=True)
        finally:
            for fd in fds.values():
                os.close(fd)
        self.checker = Checker(process)
        await self.checker.init(self.plan.modules)

    async def check(self, index: int, cell: Any) -> None:
        """Run test cell ``index`` in the checker, after the instructor cells it needs."""
        gid = cells.grade_id(cell)
        if self.checker is None:
            await self.start_checker()
        await self.sync_files()
        for j in self.plan.before.get(gid, []):
            if j in self.checker_done:
                continue
            self.checker_done.add(j)
            source = _text(self.source_cells[j]["source"])
            outcome = await self.checker_cell(j, source)
            if outcome.failed:
                error = next(o for o in outcome.outputs if o.get("output_type") == "error")
                why = (f"instructor cell {j} failed in the checker: {error.get('ename')}: "
                       f"{error.get('evalue')}")
                if not cells.free_names(source) & (self.plan.answers | self.tainted):
                    raise CouldNotRun(why[:500])  # instructor code alone failed: the environment
                self.tainted.update(cells.bound_names(source))  # later failures follow from this one
                self.result.notes.append(why[:500])
        outcome = await self.checker_cell(index, cell.source)
        if outcome.failed:
            self.result.checks_failed += 1
        self.test_outputs[index] = outcome.outputs

    async def checker_cell(self, index: int, source: str):
        answers, missing = await self.fetch_answers(cells.free_names(source) & self.plan.answers)
        for name, text in list(answers.items()):
            reason = unusable_reason(text)
            if reason:
                self.result.notes.append(f"answer {name}: {reason}")
        try:
            return await self.checker.run(index, source, answers, missing, self.call,
                                          self.limits.cell_seconds, cells.refusals(source))
        except CheckerFailed as exc:
            raise CouldNotRun(f"the checker failed at cell {index}: {exc}") from None

    # ----------------------------------------------------------------- the whole notebook

    async def execute(self) -> RunResult:
        nb, result = self.nb, self.result
        done: set[int] = set()
        tests = set(self.plan.tests)

        async def all_cells() -> None:
            for index, cell in enumerate(nb.cells):
                if self.expired:
                    raise _Expired()
                if cell.cell_type != "code":
                    continue
                if cells.kind(cell) == cells.TEST and cells.grade_id(cell) in tests:
                    await self.check(index, cell)
                else:
                    await self.run_student_cell(index, cell)
                if self.expired:  # the cell was cut short by the watchdog: no credit for it
                    raise _Expired()
                done.add(index)

        async def watchdog() -> None:
            """At the wall-clock limit, stop the kernel and the checker: whatever waits on them ends."""
            await asyncio.sleep(max(0.0, self.deadline - time.monotonic()))
            self.expired = True
            await self.kernel.stop()
            if self.checker is not None:
                await self.checker.close()

        guard = asyncio.ensure_future(watchdog())
        try:
            await asyncio.wait_for(all_cells(), timeout=max(1.0, self.deadline - time.monotonic()) + 60)
        except (_Expired, asyncio.TimeoutError):
            result.timed_out = True
            result.notes.append(f"wall-clock limit of {self.limits.wall_seconds:g} s reached")
        except _Stop as exc:
            result.notes.append(str(exc))
        except CouldNotRun as exc:
            if self.expired:
                result.timed_out = True
                result.notes.append(f"wall-clock limit of {self.limits.wall_seconds:g} s reached")
            else:
                result.status, result.reason = COULD_NOT_RUN, str(exc)
        finally:
            guard.cancel()
            result.memory_peak = self.kernel_cgroup.memory_peak()
            await self.kernel.stop()
            if self.checker is not None:
                await self.checker.close()
        reason = "the notebook reached the grader's time limit" if result.timed_out else "not executed"
        for index, cell in enumerate(nb.cells):
            if index in self.test_outputs:
                cell.outputs = [NotebookNode(o) for o in self.test_outputs[index]]
            elif cell.cell_type == "code" and (index not in done or cells.kind(cell) == cells.TEST):
                cell.outputs = [not_executed_error(f"not executed: {result.reason or reason}")]
                result.checks_not_run += cells.kind(cell) == cells.TEST
        result.seconds = time.monotonic() - self.start
        return result


class _Stop(Exception):
    """Stop running the notebook (the remaining cells get no credit)."""


class _Expired(Exception):
    """The notebook reached its wall-clock limit."""


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)
