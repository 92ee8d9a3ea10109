"""grader.sandbox: a kernel without network, as another user, with limits and secrets hidden."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import require

from grader.pipeline import REPO
from grader.sandbox import Limits, Sandbox, bound_names, imported_modules, unreadable_by

SANDBOX = os.geteuid() == 0 and shutil.which("unshare") is not None


def notebook(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def text(cell) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") + o.get("ename", "") for o in cell.outputs)


def run(nb, tmp_path: Path, limits: Limits, hide: list[Path] = ()):
    sandbox = Sandbox(list(hide), limits)
    try:
        return asyncio.run(sandbox.run(nb, [], slot=0))
    finally:
        sandbox.close()
        assert not sandbox.base.exists()


@pytest.mark.slow
def test_kernel_is_confined(tmp_path: Path) -> None:
    """No root, no network (not even to a host server), secrets hidden, private /tmp, capped output
    that still keeps the errors that grade a cell."""
    require(SANDBOX, "root and unshare (util-linux) for the grader sandbox")
    outside_tmp = "/srv" if os.access("/srv", os.W_OK) else None
    secret = Path(tempfile.mkdtemp(prefix="edgelab-course-", dir=outside_tmp))
    (secret / "source.ipynb").write_text("### BEGIN HIDDEN TESTS")
    for path in (secret, secret / "source.ipynb"):
        os.chmod(path, 0o755)  # world-readable by mode: only the sandbox's mounts hide it
    os.environ["EDGELAB_TEST_SECRET"] = "s3cret"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    marker = f"/tmp/edgelab-escape-{os.getpid()}"
    try:
        result = run(notebook(
            "import os; print('uid', os.getuid(), os.getgid(), os.getgroups())",
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)",
            f"print(sorted(os.listdir({str(secret)!r})))\nopen({str(secret / 'source.ipynb')!r}).read()",
            f"open({marker!r}, 'w').write('x'); print('wrote')",
            "print(sorted(os.environ))",
            "x = bytearray(3 * 2**30)",
            "print('y' * 5_000_000)",
            "print('z' * 5_000_000)\nraise ValueError('after the flood')",
            "print('still running')",
        ), tmp_path, Limits(wall_seconds=60, cell_seconds=20, memory_bytes=2**30,
                            notebook_output_bytes=150_000), hide=[secret])
    finally:
        server.close()
        del os.environ["EDGELAB_TEST_SECRET"]
        shutil.rmtree(secret)
    cells = result.nb.cells
    assert result.status == "ok", result.notes
    assert "uid 0 " not in text(cells[0]) and "uid " in text(cells[0])
    assert cells[1].outputs[-1].output_type == "error"  # no route, not even to 127.0.0.1
    # the secret folder is empty (its own mount) or absent (under a closed top-level folder)
    assert ("[]" in text(cells[2]) or "FileNotFoundError" in text(cells[2])) \
        and cells[2].outputs[-1].output_type == "error" and "HIDDEN" not in text(cells[2])
    assert "wrote" in text(cells[3]) and not os.path.exists(marker)
    assert "EDGELAB_TEST_SECRET" not in text(cells[4])
    assert cells[5].outputs[-1].ename == "MemoryError"
    assert len(text(cells[6])) < 200_000 and "truncated by the grader" in text(cells[6])
    assert [o.ename for o in cells[7].outputs if o.output_type == "error"] == ["ValueError"]  # still counts
    assert "still running" in text(cells[8])


@pytest.mark.slow
def test_wall_clock_limit_stops_an_uninterruptible_loop(tmp_path: Path) -> None:
    """A loop that ignores interrupts is stopped at the wall-clock limit; later cells get no credit."""
    require(SANDBOX, "root and unshare (util-linux) for the grader sandbox")
    result = run(notebook(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "print('never')",
    ), tmp_path, Limits(wall_seconds=12, cell_seconds=4))
    assert result.status == "timeout"
    assert result.seconds < 12 + 15
    assert result.nb.cells[1].outputs[0].ename == "NotExecuted"


@pytest.mark.slow
def test_dead_kernel_is_restarted_for_the_next_cells(tmp_path: Path) -> None:
    """os._exit() fails its own cell; the notebook goes on in a fresh (still sandboxed) kernel."""
    require(SANDBOX, "root and unshare (util-linux) for the grader sandbox")
    result = run(notebook("import os\nos._exit(1)", "import os\nprint('alive', os.getuid())"),
                 tmp_path, Limits(wall_seconds=60, cell_seconds=20))
    assert result.status == "kernel-died"
    assert result.nb.cells[0].outputs[0].ename == "NotExecuted"
    assert "alive" in text(result.nb.cells[1]) and "alive 0\n" not in text(result.nb.cells[1])


def test_unreadable_by_follows_mode_bits(tmp_path: Path) -> None:
    """A file in a 0700 folder is unreadable to another user; the world-readable README is not."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "f").write_text("x")
    other = os.getuid() + 12345
    assert unreadable_by(other, other, closed / "f")
    readme = REPO / "README.md"
    world_readable = all(p.stat().st_mode & 0o001 for p in readme.parents) and readme.stat().st_mode & 0o004
    assert unreadable_by(other, other, readme) == (not world_readable)


def test_limits_reject_bad_values() -> None:
    """A non-positive limit is a ValueError naming the limit."""
    with pytest.raises(ValueError, match="wall_seconds"):
        Limits(wall_seconds=0)


def test_test_imports_and_bound_names_read_instructor_cells() -> None:
    """Imports of locked/grade cells are found; solution cells are ignored; bound names are listed."""
    nb = notebook("import math\nfrom os import path", "import numpy")
    nb.cells[0].metadata["nbgrader"] = {"grade": True, "locked": True, "solution": False}
    nb.cells[1].metadata["nbgrader"] = {"solution": True}
    assert imported_modules(nb) == ["math", "os"]
    source = "def f(): pass\nx, y = 1, 2\nimport a.b as c\nclass K: pass"
    assert bound_names(source) == ["f", "x", "y", "c", "K"]
