"""edgelab.quiet: native log lines never reach a learner's notebook; real errors still do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgelab import quiet
from grader.pipeline import REPO, lesson_notebooks
from grader.release import clean_copy

PROBE = Path(__file__).resolve().parent / "native_log_probe.py"
LESSONS = sorted(p.name for p in (REPO / "lessons").iterdir() if p.is_dir() and lesson_notebooks(p))


def probe(*args: str) -> subprocess.CompletedProcess:
    """Run tests/native_log_probe.py in a fresh process; its stdout and stderr as text."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", quiet.SHOW_ENV)}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-2000:]
    return proc


def test_block_drops_fd2_writes_and_restores_fd2(capfd: pytest.CaptureFixture) -> None:
    """A write to fd 2 (what C++ code does) inside the block is dropped; after it, fd 2 works again."""
    with quiet.native_logs_silenced() as log:
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    assert "XNNPACK" in log.text()


def test_nested_blocks_keep_silence_until_the_outer_one_ends(capfd: pytest.CaptureFixture) -> None:
    """Leaving an inner block does not restore fd 2 while the outer block still runs."""
    with quiet.native_logs_silenced():
        with quiet.native_logs_silenced():
            os.write(2, b"inner\n")
        os.write(2, b"outer\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_a_failure_keeps_the_native_lines_as_a_note(capfd: pytest.CaptureFixture) -> None:
    """An exception leaving (nested) blocks propagates and carries what native code wrote, once."""
    with pytest.raises(RuntimeError, match="conversion failed") as info:
        with quiet.native_logs_silenced(), quiet.native_logs_silenced():
            os.write(2, b"error: 'tf.Erfinv' op is neither a custom op nor a flex op\n")
            raise RuntimeError("conversion failed")
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and "tf.Erfinv" in notes[0], notes
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_show_env_lets_every_line_through(capfd: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """EDGELAB_NATIVE_LOGS=1 turns the silencing off (for debugging)."""
    monkeypatch.setenv(quiet.SHOW_ENV, "1")
    with quiet.native_logs_silenced():
        os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"


def test_pythons_own_stderr_stays_visible_in_a_terminal() -> None:
    """In a plain process (sys.stderr is fd 2) Python's stderr still shows inside the block."""
    proc = probe("mixed")
    assert proc.stderr == "python line\n"


@pytest.mark.slow
def test_a_litert_interpreter_through_edgelab_writes_nothing_to_fd2(tiny_model: dict) -> None:
    """Loading and running a model through edgelab writes nothing to fd 2; LiteRT alone
    writes its XNNPACK line (the control: this test can fail)."""
    control = probe("litert-interpreter", str(tiny_model["path"]))
    assert "XNNPACK delegate" in control.stderr
    assert probe("edgelab-interpreter", str(tiny_model["path"])).stderr == ""


@pytest.mark.slow
def test_building_a_keras_model_through_edgelab_writes_nothing_to_fd2() -> None:
    """Importing TensorFlow and building the digits CNN through edgelab is silent; TensorFlow
    alone logs at start-up (the control)."""
    assert probe("tensorflow").stderr.strip() != ""
    assert probe("edgelab-keras").stderr == ""


@pytest.fixture(scope="module")
def lesson_cache(tmp_path_factory: pytest.TempPathFactory):
    """One fresh per-user cache for every lesson run below (05 trains the digits CNN, 06 and 07
    load it from the cache: both paths are run), set for the kernels this module starts."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("lesson-cache"))
    yield os.environ["XDG_CACHE_HOME"]
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_source_runs_without_stderr(lesson: str, lesson_cache: str, tmp_path: Path) -> None:
    """The lesson's source notebook, run top to bottom in a real ipykernel (as nbgrader validate
    runs it, in a clean copy of the lesson), has no stderr output in any code cell."""
    import nbformat
    from nbclient import NotebookClient

    copy = clean_copy(REPO / "lessons" / lesson, tmp_path)
    for path in lesson_notebooks(copy):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(copy)}}).execute()
        stderr = [(i, out.text) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                  for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"]
        assert stderr == [], f"{path.name}: stderr in cells {stderr}"
