"""grader.workspace: the student workspace gets student versions and never loses a student's edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader import workspace
from grader.pipeline import lesson_notebooks

REPO = Path(__file__).resolve().parent.parent
WELCOME = REPO / "lessons" / "00-welcome"


def all_text(notebook: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(str(notebook), as_version=4).cells)


def answer_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The first solution cell of a notebook."""
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    """A lessons folder holding a copy of lesson 00, plus a declared data file and a stray
    model file that a run left behind (not course content)."""
    folder = tmp_path / "lessons"
    shutil.copytree(WELCOME, folder / "00-welcome")
    (folder / "00-welcome" / "data").mkdir(exist_ok=True)
    (folder / "00-welcome" / "data" / "readings.csv").write_text("t,value\n0,1\n")
    (folder / "00-welcome" / "digits_int8.tflite").write_bytes(b"left over by a run")
    return folder


@pytest.mark.slow
def test_sync_writes_student_versions_and_declared_data_only(lessons: Path, tmp_path: Path) -> None:
    """The workspace gets the student notebook (stubs, no solutions or hidden tests, no
    outputs) and the lesson's data files, not the files a run left in the lesson folder."""
    ws = tmp_path / "ws"
    report = workspace.sync(ws, lessons)
    files = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*")
                   if p.is_file() and not p.relative_to(ws).as_posix().startswith("."))
    assert files == ["00-welcome/data/readings.csv", "00-welcome/welcome.ipynb"]
    assert sorted(report.added) == files
    text = all_text(ws / "00-welcome" / "welcome.ipynb")
    assert "YOUR CODE HERE" in text
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text
    nb = nbformat.read(str(ws / "00-welcome" / "welcome.ipynb"), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_sync_executes_nothing(lessons: Path, tmp_path: Path) -> None:
    """Generating the student versions does not run the notebooks: a cell that would leave a
    file behind leaves nothing."""
    marker = tmp_path / "the-notebook-ran"
    source = lesson_notebooks(lessons / "00-welcome")[0]
    nb = nbformat.read(str(source), as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('ran')"))
    nbformat.write(nb, str(source))
    workspace.sync(tmp_path / "ws", lessons)
    assert not marker.exists()
    assert str(marker) in all_text(tmp_path / "ws" / "00-welcome" / "welcome.ipynb")


@pytest.mark.slow
def test_rerun_keeps_edits_adds_lessons_updates_untouched_files(lessons: Path, tmp_path: Path) -> None:
    """Syncing again (a new version of the course): the edited notebook keeps the student's
    edit, a new lesson appears, and a file the student never touched gets the new version."""
    ws = tmp_path / "ws"
    workspace.sync(ws, lessons)
    student_nb = ws / "00-welcome" / "welcome.ipynb"
    nb = nbformat.read(str(student_nb), as_version=4)
    answer_cell(nb).source = 'answer_visible = "c"  # my answer'
    nbformat.write(nb, str(student_nb))
    report = workspace.sync(ws, lessons)  # the same course again: the edit is simply kept
    assert report.edited == ["00-welcome/welcome.ipynb"] and report.kept == []
    assert "newer" not in report.summary()
    assert 'answer_visible = "c"  # my answer' in all_text(student_nb)

    new_lesson = lessons / "01-more"  # the course gains a lesson...
    shutil.copytree(lessons / "00-welcome", new_lesson)
    (lessons / "00-welcome" / "data" / "readings.csv").write_text("t,value\n0,2\n")  # ...and changes
    source = lesson_notebooks(lessons / "00-welcome")[0]
    changed = nbformat.read(str(source), as_version=4)
    changed.cells[0].source += "\n\nA paragraph added in the new version."
    nbformat.write(changed, str(source))

    report = workspace.sync(ws, lessons)
    assert 'answer_visible = "c"  # my answer' in all_text(student_nb)
    assert "A paragraph added in the new version." not in all_text(student_nb)
    assert report.kept == ["00-welcome/welcome.ipynb"]
    assert "kept your version of 00-welcome/welcome.ipynb (the course has a newer one" in report.summary()
    assert (ws / "01-more" / "welcome.ipynb").exists()
    assert "01-more/welcome.ipynb" in report.added
    assert report.updated == ["00-welcome/data/readings.csv"]
    assert (ws / "00-welcome" / "data" / "readings.csv").read_text() == "t,value\n0,2\n"

    student_nb.unlink()  # deleting a notebook brings back a fresh copy, with the new version
    report = workspace.sync(ws, lessons)
    assert report.added == ["00-welcome/welcome.ipynb"]
    assert "A paragraph added in the new version." in all_text(student_nb)


def test_view_config_hides_instructor_tools(tmp_path: Path) -> None:
    """The student view's JupyterLab page config disables nbgrader's formgrader, create-assignment
    course-list and assignment-list plugins (a student alone has no exchange), and leaves validate on."""
    folder = workspace.write_view_config(tmp_path)
    disabled = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert {name for name, off in disabled.items() if off} == {
        "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list"}


def test_bad_paths_are_refused_with_their_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A workspace that is a file, or a lessons folder that is missing, is a clear error (exit 2)."""
    afile = tmp_path / "afile"
    afile.write_text("")
    assert workspace.main(["sync", str(afile), "--lessons", str(REPO / "lessons")]) == 2
    assert "workspace must be a folder" in capsys.readouterr().err
    assert workspace.main(["sync", str(tmp_path / "ws"), "--lessons", str(tmp_path / "nope")]) == 2
    assert "lessons_dir must be a folder of lessons" in capsys.readouterr().err
