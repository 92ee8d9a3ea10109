"""grader.autograde: a class with hostile submissions graded in parallel sandboxes, exactly."""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path

import nbformat
import pytest

from grader.autograde import InjectExecuted, gradebook_ok, read_scores
from grader.pipeline import REPO, secret_lines
from grader.sandbox import USER_PREFIX

pytestmark = pytest.mark.slow


def by_kind(graded_class: dict, kind: str) -> str:
    return next(s.name for s in graded_class["students"] if s.kind == kind)


def test_every_student_gets_exactly_the_expected_scores(graded_class: dict) -> None:
    """Honest, accidental and hostile submissions all get the scores their kind deserves."""
    scores = graded_class["result"].scores
    wrong = {s.name: (scores.get(s.name), s.expected) for s in graded_class["students"]
             if scores.get(s.name) != s.expected}
    assert not wrong, wrong
    assert len(scores) == len(graded_class["students"]) >= 15
    assert graded_class["result"].failures == {}


def test_gradebook_is_intact_and_holds_the_same_scores(graded_class: dict) -> None:
    """After gradebook attacks, SQLite integrity holds and the stored scores are the returned ones."""
    root = graded_class["root"]
    assert gradebook_ok(root, "00-welcome") == []
    assert read_scores(root, "00-welcome")[0] == graded_class["result"].scores
    with sqlite3.connect(root / "gradebook.db") as con:
        assert con.execute("SELECT COUNT(*) FROM grade WHERE auto_score > 2").fetchone()[0] == 0


def test_run_is_bounded_and_statuses_say_what_happened(graded_class: dict) -> None:
    """Every notebook ends within its wall-clock limit; the stubborn loop hit it, os._exit killed a kernel."""
    runs, limits = graded_class["result"].runs, graded_class["limits"]
    for student, notebooks in runs.items():
        for run in notebooks.values():
            assert run.seconds < limits.wall_seconds + 20, (student, run.seconds)
    status = {s: r["welcome"].status for s, r in runs.items()}
    assert status[by_kind(graded_class, "stubborn_loop")] == "timeout"
    assert status[by_kind(graded_class, "os_exit")] == "kernel-died"
    assert status[by_kind(graded_class, "perfect")] == "ok"


def test_no_sandbox_process_outlives_the_run(graded_class: dict) -> None:
    """Forked daemons (setsid, double fork) are gone: no process of a sandbox user remains."""
    assert graded_class["result"]
    uids = {p.pw_uid for p in pwd.getpwall() if p.pw_name.startswith(USER_PREFIX)}
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    left.append((entry.name, (entry / "cmdline").read_bytes()))
            except OSError:
                continue
    assert uids and not left, left


def test_source_reader_found_no_hidden_test_and_no_solution(graded_class: dict) -> None:
    """The student searching the disk for sources printed no solution or hidden-test line."""
    root = graded_class["root"]
    name = by_kind(graded_class, "source_reader")
    nb = nbformat.read(str(root / "autograded" / name / "00-welcome" / "welcome.ipynb"), 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs if c.metadata.get("nbgrader", {}).get("solution"))
    assert "sources seen: []" in printed
    solution, hidden = secret_lines(REPO / "lessons" / "00-welcome" / "welcome.ipynb")
    assert not [line for line in solution + hidden if line in printed]


def test_output_flood_is_capped(graded_class: dict) -> None:
    """Ten megabytes printed end up as a capped output with a truncation note."""
    name = by_kind(graded_class, "print_flood")
    path = graded_class["root"] / "autograded" / name / "00-welcome" / "welcome.ipynb"
    assert path.stat().st_size < 1_000_000
    assert "truncated by the grader" in path.read_text()


def test_attack_left_no_trace_outside_the_sandbox(graded_class: dict) -> None:
    """The gradebook attack wrote nothing into the host's /tmp or the course root."""
    root = graded_class["root"]
    assert not Path("/tmp/gradebook.db").exists()
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("gradebook")) == ["gradebook.db"]


def test_inject_executed_refuses_cells_that_did_not_run(tmp_path: Path) -> None:
    """A cell whose source differs from what the sandbox ran gets an error, never credit."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert False")])
    ran = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    (tmp_path / "alice").mkdir()
    nbformat.write(ran, str(tmp_path / "alice" / "nb.ipynb"))
    out, _ = InjectExecuted(directory=str(tmp_path)).preprocess(
        nb, {"nbgrader": {"student": "alice", "notebook": "nb"}})
    assert out.cells[0].outputs[0].output_type == "error"
    assert os.path.exists(tmp_path / "alice" / "nb.ipynb")
