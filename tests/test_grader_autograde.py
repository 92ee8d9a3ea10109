"""grader.autograde: a class with hostile submissions graded in parallel sandboxes, exactly."""

from __future__ import annotations

import base64
import json
import os
import pwd
import sqlite3
from pathlib import Path

import nbformat
import pytest

from grader.autograde import InjectExecuted, flags_path, gradebook_ok, read_scores, runs_summary
from grader.classgen import ATTACKS
from grader.pipeline import REPO, secret_lines
from grader.users import USER_PREFIX

pytestmark = pytest.mark.slow


def by_kind(graded_class: dict, kind: str) -> str:
    return next(s.name for s in graded_class["students"] if s.kind == kind)


def autograded(graded_class: dict, kind: str) -> Path:
    lesson = graded_class["lesson"]
    return graded_class["root"] / "autograded" / by_kind(graded_class, kind) / lesson / "latency.ipynb"


def test_every_student_gets_exactly_the_expected_scores(graded_class: dict) -> None:
    """Honest, accidental and hostile submissions all get the scores their kind deserves: the
    attacks of a student who knows the grader gain no point."""
    scores = graded_class["result"].scores
    wrong = {s.name: (scores.get(s.name), s.expected) for s in graded_class["students"]
             if scores.get(s.name) != s.expected}
    assert not wrong, wrong
    assert len(scores) == len(graded_class["students"]) >= 20
    assert graded_class["result"].failures == {} and graded_class["result"].could_not_run == {}


def test_every_attack_is_flagged_for_review_with_its_lines(graded_class: dict) -> None:
    """Each attack is in the flags kept for the class report, with cell, line, text and reason;
    the honest students are not."""
    result = graded_class["result"]
    for kind in ATTACKS:
        found = result.flags.get(by_kind(graded_class, kind))
        assert found and all(f["text"] and f["reason"] and f["line"] >= 1 for f in found), kind
    for kind in ("perfect", "blank", "partial", "one_wrong"):
        assert by_kind(graded_class, kind) not in result.flags
    stored = json.loads(flags_path(graded_class["root"], graded_class["lesson"]).read_text())
    assert stored[by_kind(graded_class, "fake_values")] == result.flags[by_kind(graded_class, "fake_values")]


def test_gradebook_is_intact_and_holds_the_same_scores(graded_class: dict) -> None:
    """After gradebook attacks, SQLite integrity holds and the stored scores are the returned ones."""
    root, lesson = graded_class["root"], graded_class["lesson"]
    assert gradebook_ok(root, lesson) == []
    assert read_scores(root, lesson)[0] == graded_class["result"].scores
    with sqlite3.connect(root / "gradebook.db") as con:
        inflated = con.execute("SELECT COUNT(*) FROM grade JOIN grade_cells "
                               "ON grade.cell_id = grade_cells.id "
                               "WHERE grade.auto_score > grade_cells.max_score").fetchone()[0]
        assert inflated == 0, "a stored score is above its item's points"


def test_run_is_bounded_and_the_summary_says_what_happened(graded_class: dict) -> None:
    """Every notebook ends within its wall-clock limit; the loop that ignores interrupts and
    os._exit each cost a kernel that was restarted; the summary line of each says so."""
    result, limits = graded_class["result"], graded_class["limits"]
    for student, notebooks in result.runs.items():
        for run in notebooks.values():
            assert run.seconds < limits.wall_seconds + 30, (student, run.seconds)
    runs = {s: r["latency"] for s, r in result.runs.items()}
    stubborn = runs[by_kind(graded_class, "stubborn_loop")]
    assert stubborn.restarts == 1 or stubborn.timed_out  # replaced, or cut by the wall clock first
    assert runs[by_kind(graded_class, "os_exit")].restarts == 1
    assert runs[by_kind(graded_class, "perfect")].checks_failed == 0
    summary = runs_summary(result)
    assert f"{by_kind(graded_class, 'perfect')} " in summary and "kernel restarted 1x" in summary
    assert runs[by_kind(graded_class, "os_exit")].restarts == 1


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


def test_hidden_tests_never_reach_the_student(graded_class: dict) -> None:
    """The source reader found no source and no gradebook; no hidden-test or solution line is in
    anything a student cell printed, in any submission."""
    nb = nbformat.read(str(autograded(graded_class, "source_reader")), 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                      for o in c.outputs)
    assert "sources seen: []" in printed
    solution, hidden = secret_lines(REPO / "lessons" / graded_class["lesson"] / "latency.ipynb")
    for kind in ("source_reader", "late_rewrite", "early_result", "ipython_internals"):
        nb = nbformat.read(str(autograded(graded_class, kind)), 4)
        student_output = "".join(json.dumps(c.get("outputs", [])) for c in nb.cells
                                 if c.metadata.get("nbgrader", {}).get("grade") is not True)
        assert not [line for line in hidden if len(line) > 12 and line in student_output], kind


def test_the_kernels_history_holds_no_hidden_test(graded_class: dict) -> None:
    """A last cell that prints the kernel's whole input history, base64-encoded so redaction cannot
    see it, carries no hidden-test line: the hidden tests never ran in the student's kernel."""
    nb = nbformat.read(str(autograded(graded_class, "history_reader")), 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    encoded = printed.split("history: ", 1)[1].split()[0]
    history = base64.b64decode(encoded).decode()
    _, hidden = secret_lines(REPO / "lessons" / graded_class["lesson"] / "latency.ipynb")
    assert "network.round_trip" in history  # the history is really there
    assert not [line for line in hidden if line in history]


def test_test_cells_hold_only_the_checkers_outputs(graded_class: dict) -> None:
    """Early results and late rewrites land nowhere near the test cells: a test cell has at most a
    printed line and the checker's error, never an execute_result or display."""
    for kind in ("early_result", "late_rewrite", "perfect"):
        nb = nbformat.read(str(autograded(graded_class, kind)), 4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                assert {o.output_type for o in cell.outputs} <= {"stream", "error"}, (kind, cell.outputs)
                assert all(o.name == "stdout" for o in cell.outputs if o.output_type == "stream")


def test_hogs_stop_at_their_own_limits(graded_class: dict) -> None:
    """The memory balloon over 8 processes, the fork flood and the disk filler each hit their own
    submission's limits (and the honest students beside them were graded right: first test)."""
    def printed(kind: str) -> str:
        nb = nbformat.read(str(autograded(graded_class, kind)), 4)
        return "".join(o.get("text", "") + o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.outputs)
    assert "balloon parts still alive: 8" not in printed("memory_balloon")  # 8 x 400 MiB > 2 GiB
    assert "fork refused after" in printed("fork_flood")
    text = printed("disk_filler")
    assert text.count("full after") == 4  # each folder stops at its tmpfs size or the file-size limit
    assert text.count("No space left on device") + text.count("File too large") == 4
    runs = graded_class["result"].runs
    assert all(r["latency"].seconds < graded_class["limits"].wall_seconds + 30 for r in runs.values())


def test_output_flood_is_capped(graded_class: dict) -> None:
    """Ten megabytes printed end up as a capped output with a truncation note."""
    path = autograded(graded_class, "print_flood")
    assert path.stat().st_size < 1_500_000
    assert "truncated by the grader" in path.read_text()


def test_attack_left_no_trace_outside_the_sandbox(graded_class: dict) -> None:
    """The gradebook attack wrote nothing into the host's /tmp or the course root."""
    root = graded_class["root"]
    assert not Path("/tmp/gradebook.db").exists() and not Path("/dev/shm/gradebook.db").exists()
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("gradebook")) == ["gradebook.db"]
    assert not graded_class["scratch_left"], "the run's scratch folders are removed"


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
