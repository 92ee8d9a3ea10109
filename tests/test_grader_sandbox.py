"""grader.sandbox: the student's kernel and the checker, confined, limited, and in step."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import grading_sandbox_ready, require

from grader.bubblewrap import python_paths
from grader.sandbox import COULD_NOT_RUN, RAN, Limits, Sandbox
from grader.users import unreadable_by

pytestmark = pytest.mark.slow


def notebook(*specs):
    """A source notebook from (kind, source) pairs: 'i' instructor, 's' solution, 't' test cell."""
    nb = nbformat.v4.new_notebook()
    for number, (kind, source) in enumerate(specs):
        cell = nbformat.v4.new_code_cell(source)
        if kind == "s":
            cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": f"answer{number}"}
        elif kind == "t":
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                         "grade_id": f"check{number}", "points": 1}
        nb.cells.append(cell)
    return nb


def text(cell) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") + o.get("ename", "") for o in cell.outputs)


def failed(cell) -> bool:
    return any(o.get("output_type") == "error" for o in cell.outputs)


def run(source, limits: Limits, hide: list[Path] = (), files: dict[str, Path] | None = None,
        submission=None):
    why = grading_sandbox_ready()
    require(not why, f"the grading sandbox (bubblewrap, cgroups): {why}")
    sandbox = Sandbox(list(hide), limits)
    try:
        nb = nbformat.from_dict(nbformat.reads(nbformat.writes(submission or source), as_version=4))
        return asyncio.run(sandbox.run(nb, source, files or {}, slot=0))
    finally:
        sandbox.close()
        assert not sandbox.base.exists()


def test_kernel_is_confined(tmp_path: Path) -> None:
    """No root, no capabilities, no network (not even to a host server), secrets and other homes
    hidden, folders nobody named (another checkout at the top of the disk, /var/lib) absent too,
    mounts that cannot be undone, a private /tmp, capped output that keeps errors."""
    outside = "/srv" if os.access("/srv", os.W_OK) else None
    secret = Path(tempfile.mkdtemp(prefix="edgelab-course-", dir=outside))
    elsewhere = Path(tempfile.mkdtemp(prefix="edgelab-other-", dir="/var/lib"))
    top_dir = "/" if os.access("/", os.W_OK) else "/var/tmp"
    top = Path(tempfile.mkdtemp(prefix="edgelab-checkout-", dir=top_dir))
    for folder in (secret, elsewhere, top):
        (folder / "source.ipynb").write_text("### BEGIN HIDDEN TESTS")
        for path in (folder, folder / "source.ipynb"):
            os.chmod(path, 0o755)  # world-readable by mode: only the sandbox's mounts hide it
    os.environ["EDGELAB_TEST_SECRET"] = "s3cret"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    marker = f"/tmp/edgelab-escape-{os.getpid()}"
    try:
        result = run(notebook(
            ("s", "import os\nprint('uid', os.getuid(), os.getgid(), os.getgroups())\n"
                  "print(open('/proc/self/status').read())"),
            ("s", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)"),
            ("s", f"print(sorted(os.listdir({str(secret)!r})))\n"
                  f"print(open({str(secret / 'source.ipynb')!r}).read())"),
            ("s", f"open({marker!r}, 'w').write('x'); print('wrote')"),
            ("s", "print(sorted(os.environ))"),
            ("s", "print(os.listdir('/home'), os.listdir('/root'))"),
            ("s", "import subprocess\nprint(subprocess.run(['umount', '-l', '/home'], capture_output=True))\n"
                  "print(os.listdir('/home'))"),
            ("s", "print('y' * 5_000_000)"),
            ("s", "print('z' * 5_000_000)\nraise ValueError('after the flood')"),
            ("s", "print('still running')"),
            ("s", f"print(open({str(elsewhere / 'source.ipynb')!r}).read())"),
            ("s", f"print(open({str(top / 'source.ipynb')!r}).read())"),
            ("s", "print(sorted(os.listdir('/')))"),
        ), Limits(wall_seconds=120, cell_seconds=20, notebook_output_bytes=150_000),
            hide=[secret])
    finally:
        server.close()
        del os.environ["EDGELAB_TEST_SECRET"]
        for folder in (secret, elsewhere, top):
            (folder / "source.ipynb").unlink()
            folder.rmdir()
    cells = result.nb.cells
    assert result.status == RAN, result.notes
    assert "uid 0 " not in text(cells[0]) and "uid " in text(cells[0])
    assert "CapEff:\t0000000000000000" in text(cells[0])
    assert failed(cells[1])  # no route, not even to 127.0.0.1
    assert "HIDDEN" not in text(cells[2]) and ("[]" in text(cells[2]) or failed(cells[2]))
    assert "wrote" in text(cells[3]) and not os.path.exists(marker)
    assert "EDGELAB_TEST_SECRET" not in text(cells[4])
    under_root = sorted({p.relative_to("/root").parts[0] for p in python_paths()
                         if p.is_relative_to("/root")})
    assert f"['student'] {under_root}" in text(cells[5])  # only the Python installation is bound back
    assert "['student']" in text(cells[6])  # the umount failed: the view stays
    assert len(text(cells[7])) < 200_000 and "truncated by the grader" in text(cells[7])
    assert [o.ename for o in cells[8].outputs if o.output_type == "error"] == ["ValueError"]  # still counts
    assert "still running" in text(cells[9])
    assert "HIDDEN" not in text(cells[10]) and failed(cells[10])
    assert "HIDDEN" not in text(cells[11]) and failed(cells[11])
    assert top.name not in text(cells[12]) and "usr" in text(cells[12])


def test_tests_run_in_the_checker_on_plain_data() -> None:
    """A solution's answers reach the test as plain data: a fake float that equals everything,
    a patched numpy and an early result in the kernel change nothing; a right answer passes."""
    source = notebook(
        ("i", "import numpy as np\nreference = np.arange(4) * 0.5"),
        ("s", "class Anything(float):\n    def __eq__(self, o):\n        return True\n"
              "    __hash__ = float.__hash__\nscale = Anything(1.0)\nnp.allclose = lambda *a, **k: True\n"
              "get_ipython().display_pub.publish({'text/plain': '1.0'})"),
        ("t", "assert scale == 0.5, 'the scale'"),
        ("s", "def half(x):\n    return np.asarray(x) * 0.5"),
        ("t", "assert np.allclose(half(np.arange(4)), reference)\nprint('checked')"),
    )
    result = run(source, Limits(wall_seconds=120, cell_seconds=20))
    cells = result.nb.cells
    assert result.status == RAN and result.checks_failed == 1
    assert [o.output_type for o in cells[2].outputs] == ["error"]
    assert cells[2].outputs[0].evalue == "the scale"
    assert cells[4].outputs == [nbformat.NotebookNode(output_type="stream", name="stdout", text="checked\n")]


def test_a_loop_that_ignores_interrupts_costs_its_cell_only() -> None:
    """A loop that ignores interrupts fails its cell at the cell limit; the kernel is replaced and the
    next cells run."""
    result = run(notebook(
        ("s", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        ("s", "answer = 42"),
        ("t", "assert answer == 42"),
    ), Limits(wall_seconds=60, cell_seconds=4))
    assert result.restarts == 1 and not result.timed_out
    assert [o.ename for o in result.nb.cells[0].outputs] == ["CellTimeoutError", "NotExecuted"]
    assert result.nb.cells[2].outputs == [] and result.seconds < 40


def test_wall_clock_limit_ends_the_notebook() -> None:
    """Slow cells past the notebook's wall-clock limit: the rest gets no credit."""
    result = run(notebook(*[("s", "import time\ntime.sleep(3)")] * 6, ("t", "print('never')")),
                 Limits(wall_seconds=8, cell_seconds=5))
    assert result.timed_out and result.checks_not_run == 1
    assert result.seconds < 8 + 15
    assert result.nb.cells[-1].outputs[0].ename == "NotExecuted"


def test_dead_kernel_is_restarted_for_the_next_cells() -> None:
    """os._exit() fails its own cell; the notebook goes on in a fresh (still sandboxed) kernel."""
    result = run(notebook(("s", "import os\nos._exit(1)"), ("s", "import os\nprint('alive', os.getuid())")),
                 Limits(wall_seconds=60, cell_seconds=20))
    assert result.restarts == 1
    assert result.nb.cells[0].outputs[0].ename == "NotExecuted"
    assert "alive" in text(result.nb.cells[1]) and "alive 0\n" not in text(result.nb.cells[1])


def test_memory_processes_and_disk_are_bounded_per_submission() -> None:
    """A memory balloon across many processes is stopped by the cgroup's OOM killer, a fork flood
    by the process limit, a disk filler by the tmpfs size; the kernel survives or is restarted and
    the next cell runs."""
    balloon = ("import multiprocessing as mp, time\n"
               "def hold():\n    x = bytearray(300 * 2**20)\n    time.sleep(60)\n"
               "ps = [mp.Process(target=hold) for _ in range(8)]\n[p.start() for p in ps]\n"
               "time.sleep(8)\nprint('alive', sum(p.is_alive() for p in ps))")
    flood = ("import os\nchildren = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
             "            import time; time.sleep(30); os._exit(0)\n        children += 1\n"
             "except OSError as exc:\n    print('fork refused after', children, type(exc).__name__)")
    filler = ("written = 0\ntry:\n    with open('big.bin', 'wb') as fh:\n        while True:\n"
              "            fh.write(b'x' * 2**20); written += 1\nexcept OSError as exc:\n"
              "    print('disk full after', written, 'MiB', exc.errno)")
    result = run(notebook(("s", balloon), ("s", flood), ("s", filler), ("s", "print('next cell ran')")),
                 Limits(wall_seconds=240, cell_seconds=60, memory_bytes=1024 * 2**20, processes=64,
                        home_bytes=64 * 2**20, file_bytes=2**30))
    cells = result.nb.cells
    survived = text(cells[0])
    assert "alive 8" not in survived, survived  # 8 x 300 MiB cannot all live in 1 GiB
    assert "fork refused after" in text(cells[1]) and int(text(cells[1]).split()[3]) < 64
    assert "disk full after" in text(cells[2]) and int(text(cells[2]).split()[3]) <= 64
    assert "next cell ran" in text(cells[3])


def test_an_environment_failure_is_not_a_grade() -> None:
    """An unchanged instructor cell that cannot import a course package: the run could not run."""
    result = run(notebook(("i", "import edgelab_package_that_is_not_installed"), ("s", "x = 1"),
                          ("t", "assert x == 1")), Limits(wall_seconds=60, cell_seconds=20))
    assert result.status == COULD_NOT_RUN and "ModuleNotFoundError" in result.reason


def test_unreadable_by_follows_mode_bits(tmp_path: Path) -> None:
    """A file in a 0700 folder is unreadable to another user; a world-readable file is not."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "f").write_text("x")
    other = os.getuid() + 12345
    assert unreadable_by(other, other, closed / "f")


def test_limits_reject_bad_values() -> None:
    """A non-positive limit is a ValueError naming the limit."""
    with pytest.raises(ValueError, match="wall_seconds"):
        Limits(wall_seconds=0)
    with pytest.raises(ValueError, match="cpus"):
        Limits(cpus=-1)
