"""Autograde a class in parallel, each submission in its own sandboxes.

Four steps, nbgrader doing everything but running the student's code:

1. preflight: the lesson's own solution runs in the sandbox first; if it does not pass
   every check the environment is broken and nothing is graded (:class:`EnvironmentBroken`).
   This trusted run also fills the model cache every later run reads;
2. prepare (grading process, read-only gradebook): nbgrader's own sanitize preprocessors
   (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)
   put the instructor's cells and hidden tests back into the submission, in memory, and
   :mod:`grader.flags` notes the student's lines aimed at the grader;
3. execute (N at a time): each prepared notebook runs in :class:`grader.sandbox.Sandbox`,
   the student's cells in their kernel and the tests in the checker; the executed copies
   are kept in a folder only the grading user can read. A run that could not run (an
   environment failure) is listed and not recorded;
4. record (one writer thread of this process, the gradebook's only writer, one student
   at a time as soon as their notebooks are done): nbgrader's Autograde converter with
   its ``Execute`` preprocessor replaced by :class:`InjectExecuted`, which takes the
   executed notebook of step 3, so nbgrader's SaveAutoGrades writes the scores.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode

from grader.flags import flag_notebook
from grader.pipeline import REPO, lesson_data_files, lesson_notebooks
from grader.sandbox import COULD_NOT_RUN, Limits, RunResult, Sandbox, not_executed_error


def course_root(root: Path | str | None = None) -> Path:
    """The course root: ``root``, else $EDGELAB_COURSE_ROOT, else the repository."""
    return Path(root or os.environ.get("EDGELAB_COURSE_ROOT") or REPO).resolve()


def gradebook_path(root: Path) -> Path:
    return Path(root) / "gradebook.db"


def db_url(root: Path) -> str:
    return f"sqlite:///{gradebook_path(root)}"


def ensure_assignment(root: Path, lesson: str) -> None:
    """Make sure ``lesson`` and its cells are in the gradebook: released from a clean copy if it
    is not (:func:`grader.release.release_lesson`, whatever lies in the lesson folder)."""
    if not (root / "lessons" / lesson).is_dir():
        lessons = sorted(p.name for p in (root / "lessons").glob("*") if p.is_dir())
        raise ValueError(f"lesson must be one of the folders of {root / 'lessons'} {lessons}, got {lesson!r}")
    from nbgrader.api import Gradebook, MissingEntry

    if gradebook_path(root).exists():
        with Gradebook(db_url(root)) as gb:
            try:
                if gb.find_assignment(lesson).notebooks:
                    return
            except MissingEntry:
                pass
    from grader.release import release_lesson

    release_lesson(root, lesson, check=False)


def students_of(root: Path, lesson: str) -> list[str]:
    """Students with a submission folder ``submitted/<student>/<lesson>``."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{lesson}") if p.is_dir())


def prepare(root: Path, lesson: str, student: str, notebook: Path):
    """The submission with instructor cells and hidden tests restored, as nbgrader's
    autograde would execute it (same preprocessors, same order)."""
    import nbformat
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    nb = nbformat.read(str(notebook), as_version=4)
    resources = {"unique_key": notebook.stem, "nbgrader": {
        "student": student, "assignment": lesson, "notebook": notebook.stem, "db_url": db_url(root)}}
    for cls in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = cls().preprocess(nb, resources)
    return nb


def hidden_paths(root: Path, private: Path) -> list[Path]:
    """What a submission must not see: the whole course root and repository (sources, hidden
    tests, other submissions, gradebooks, .git), the exchange, the grader's private folder.
    The sandbox binds the Python installation and the course's packages back in."""
    paths = [root, REPO, root / "lessons", root / "submitted", root / "autograded", root / "feedback",
             gradebook_path(root), Path("/srv/nbgrader/exchange"), private]
    return [p for p in dict.fromkeys(paths) if p.exists()]


def seed_files(submission: Path, lesson_dir: Path) -> dict[str, Path]:
    """The files a submission's run starts with, by path in its working folder: the lesson's
    declared data files, then the student's own files (not notebooks, not links, not hidden),
    which never replace a data file."""
    files = {str(p.relative_to(lesson_dir)): p for p in lesson_data_files(lesson_dir)}
    for path in sorted(submission.rglob("*")):
        rel = path.relative_to(submission)
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb" \
                or any(part.startswith(".") for part in rel.parts):
            continue
        files.setdefault(str(rel), path)
    return files


class InjectExecuted(NbGraderPreprocessor):
    """nbgrader preprocessor used in place of ``Execute``: the notebook becomes the sandboxed
    run's (``directory/<student>/<notebook>.ipynb``: the submission as nbgrader's sanitize
    preprocessors prepared it, executed). Without such a run, or for a code cell whose
    source is not what ran, every code cell gets an error output: no credit."""

    directory = Unicode("", help="Folder of executed notebooks, by student").tag(config=True)
    replace_notebook = Bool(False, help="Take the executed notebook whole (nbgrader's sanitize "
                            "preprocessors already ran on it before execution)").tag(config=True)

    def preprocess(self, nb, resources):  # noqa: ANN001 -- nbconvert's signature
        import nbformat

        info = resources["nbgrader"]
        path = Path(self.directory) / info["student"] / f"{info['notebook']}.ipynb"
        executed = nbformat.read(str(path), as_version=4) if path.exists() else None
        if executed is not None and self.replace_notebook:
            return executed, resources
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            ran = executed.cells[index] if executed and index < len(executed.cells) else None
            if ran is None or ran.cell_type != "code" or ran.source != cell.source:
                cell.outputs = [not_executed_error("this cell was not run by the grader")]
                cell.execution_count = None
            else:
                cell.outputs = ran.outputs
                cell.execution_count = ran.execution_count
        return nb, resources


@dataclass
class ClassResult:
    """Scores by student and grade id, the maximum per grade id, and each run's outcome."""

    scores: dict[str, dict[str, float]]
    max_scores: dict[str, float]
    runs: dict[str, dict[str, RunResult]] = field(default_factory=dict)
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)  # students nbgrader could not grade, why
    could_not_run: dict[str, str] = field(default_factory=dict)  # environment failures: no grade recorded
    flags: dict[str, list[dict]] = field(default_factory=dict)  # student -> lines aimed at the grader
    preflight_seconds: float = 0.0


class EnvironmentBroken(RuntimeError):
    """The lesson's own solution does not pass in the sandbox: nothing was graded."""


def read_scores(root: Path, lesson: str, students: list[str] | None = None
                ) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Scores per student and grade id, and max scores, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, dict[str, float]] = {}
    max_scores: dict[str, float] = {}
    with Gradebook(db_url(root)) as gb:
        assignment = gb.find_assignment(lesson)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                max_scores[cell.name] = cell.max_score
        for student in students if students is not None else [s.student.id for s in assignment.submissions]:
            try:
                submission = gb.find_submission(lesson, student)
            except MissingEntry:
                continue
            for nb in submission.notebooks:
                for grade in nb.grades:
                    scores.setdefault(student, {})[grade.name] = grade.score
    return scores, max_scores


class Recorder:
    """nbgrader's Autograde converter, in this process, with ``Execute`` replaced by
    :class:`InjectExecuted`: the only writer of the gradebook. Not thread-safe: call it
    from one thread."""

    def __init__(self, root: Path, executed: Path) -> None:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            IgnorePattern,
            LimitOutput,
            SaveAutoGrades,
        )
        from traitlets.config.loader import PyFileConfigLoader

        bindir = str(Path(sys.executable).parent)  # nbgrader runs alembic from PATH
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "grader")).load_config()
        config.CourseDirectory.root = str(root)
        config.Autograde.autograde_preprocessors = [
            InjectExecuted, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
            AssignLatePenalties, CheckCellMetadata]
        config.InjectExecuted.directory = str(executed)
        config.InjectExecuted.replace_notebook = True
        config.Autograde.sanitize_preprocessors = []  # prepare() ran them before execution
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        self.failures: dict[str, str] = {}

    def record(self, lesson: str, student: str) -> None:
        """Autograde one student from their sandboxed outputs into the gradebook."""
        with warnings.catch_warnings():  # SQLAlchemy's autoflush notes on nbgrader's own models
            warnings.simplefilter("ignore")
            result = self.api.autograde(lesson, student, force=True, create=True)
        if not result.get("success"):
            self.failures[student] = (result.get("error") or "") + (result.get("log") or "")[-2000:]


def flags_path(root: Path, lesson: str) -> Path:
    """Where the lines flagged for review are kept, by student (next to the autograded notebooks)."""
    return Path(root) / "autograded" / f".flags-{lesson}.json"


async def _preflight(root: Path, lesson: str, sandbox: Sandbox) -> float:
    """Run the lesson's source notebooks (the instructor's solutions) in the sandbox first: every
    check must pass, or the environment is broken and no student is graded. This trusted run
    also fills the grading run's model cache, which every student's run then reads (read-only):
    a model trained with the lesson's own seed and code is not trained again per submission."""
    import nbformat
    from nbgrader.preprocessors import ClearOutput

    start = time.monotonic()
    lesson_dir = root / "lessons" / lesson
    for path in lesson_notebooks(lesson_dir):
        source = nbformat.read(str(path), as_version=4)
        nb, _ = ClearOutput().preprocess(nbformat.from_dict(json.loads(json.dumps(source))), {})
        result = await sandbox.run(nb, source, seed_files(lesson_dir / ".no-submission", lesson_dir), slot=0,
                                   trusted=True)
        failed = [f"cell {i} ({c.metadata.get('nbgrader', {}).get('grade_id')}): "
                  f"{o.get('ename')}: {str(o.get('evalue', ''))[:300]}"
                  for i, c in enumerate(result.nb.cells) if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("grade") for o in c.outputs
                  if o.get("output_type") == "error"]
        if result.status == COULD_NOT_RUN or failed or result.timed_out:
            why = result.reason or "; ".join(failed[:5]) or "; ".join(result.notes[:3])
            raise EnvironmentBroken(
                f"the solution of {lesson}/{path.name} does not pass its own checks in the grading "
                f"sandbox, so the environment is broken and no submission was graded: {why}")
    return time.monotonic() - start


async def _execute_all(root: Path, lesson: str, students: list[str], sandbox: Sandbox, workers: int,
                       out: Path) -> ClassResult:
    """Run every student's notebooks, ``workers`` sandboxes at a time; record each student
    whose notebooks all ran as soon as they are done, on one writer thread."""
    import nbformat

    result = ClassResult(scores={}, max_scores={})
    result.preflight_seconds = await _preflight(root, lesson, sandbox)
    slots: asyncio.Queue[int] = asyncio.Queue()
    for slot in range(workers):
        slots.put_nowait(slot)
    lesson_dir = root / "lessons" / lesson
    sources = {nb.name: nbformat.read(str(nb), as_version=4) for nb in lesson_notebooks(lesson_dir)}
    recorder = Recorder(root, out)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradebook-writer")
    loop = asyncio.get_running_loop()
    records = []

    async def one(student: str) -> None:
        folder = root / "submitted" / student / lesson
        for notebook in sorted(p for p in folder.glob("*.ipynb") if p.name in sources):
            try:
                nb = prepare(root, lesson, student, notebook)
            except Exception as exc:  # noqa: BLE001 -- a corrupt submission: nbgrader will say so
                recorder.failures[student] = f"{notebook.name}: cannot read: {exc}"
                continue
            flags = [dict(f.to_dict(), notebook=notebook.name)
                     for f in flag_notebook(nb, sources[notebook.name])]
            if flags:
                result.flags.setdefault(student, []).extend(flags)
            slot = await slots.get()
            try:
                run = await sandbox.run(nb, sources[notebook.name], seed_files(folder, lesson_dir), slot)
            finally:
                slots.put_nowait(slot)
            result.runs.setdefault(student, {})[notebook.stem] = run
            if run.status == COULD_NOT_RUN:
                result.could_not_run[student] = f"{notebook.name}: {run.reason}"
                continue
            dest = out / student / notebook.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(run.nb, str(dest))
        if student not in result.could_not_run:
            records.append(loop.run_in_executor(writer, recorder.record, lesson, student))

    try:
        await asyncio.gather(*(one(student) for student in students))
        await asyncio.gather(*records)
    finally:
        writer.shutdown(wait=True)
    result.failures = recorder.failures
    return result


def autograde(lesson: str, root: Path | str | None = None, workers: int = 2, limits: Limits | None = None,
              students: list[str] | None = None) -> ClassResult:
    """Autograde every submission of ``lesson`` (or ``students``) with ``workers`` sandboxes at
    a time, record the scores in the gradebook from one writer thread, and return them.
    Raises :class:`EnvironmentBroken` (nothing graded) if the lesson's own solution does not
    pass in the sandbox; submissions that could not run are listed, with no grade recorded."""
    if not isinstance(workers, int) or not 1 <= workers <= 64:
        raise ValueError(f"workers must be an integer from 1 to 64, got {workers!r}")
    start = time.monotonic()
    root = course_root(root)
    ensure_assignment(root, lesson)
    students = students_of(root, lesson) if students is None else list(students)
    missing = [s for s in students if not (root / "submitted" / s / lesson).is_dir()]
    if missing:
        raise ValueError(f"students must have a folder submitted/<student>/{lesson}; missing: {missing}")
    private = Path(tempfile.mkdtemp(prefix="edgelab-grading-"))  # mode 0700, the grader's only
    sandbox = Sandbox(hidden_paths(root, private), limits)
    try:
        result = asyncio.run(_execute_all(root, lesson, students, sandbox, workers, private / "executed"))
    finally:
        sandbox.close()
        shutil.rmtree(private, ignore_errors=True)
    graded = [s for s in students if s not in result.could_not_run]
    result.scores, result.max_scores = read_scores(root, lesson, graded)
    flags = flags_path(root, lesson)
    if flags.parent.is_dir():
        known = json.loads(flags.read_text()) if flags.exists() else {}
        known.update({s: result.flags.get(s, []) for s in students})
        flags.write_text(json.dumps(known, indent=1, sort_keys=True))
    result.seconds = time.monotonic() - start
    return result


def gradebook_ok(root: Path | str, lesson: str) -> list[str]:
    """Problems with the gradebook: SQLite integrity, and the lesson's cells must match the
    source notebooks (a rewritten gradebook would not). Empty list: intact."""
    root = Path(root)
    problems: list[str] = []
    with sqlite3.connect(f"file:{gradebook_path(root)}?mode=ro", uri=True) as con:
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            problems.append(f"integrity_check: {result}")
    import nbformat
    from nbgrader.api import Gradebook
    with Gradebook(db_url(root)) as gb:
        assignment = gb.find_assignment(lesson)
        cells = {(nb.name, c.name): c for nb in assignment.notebooks for c in nb.grade_cells}
        for path in lesson_notebooks(root / "lessons" / lesson):
            for cell in nbformat.read(str(path), as_version=4).cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade"):
                    stored = cells.get((path.stem, meta["grade_id"]))
                    if stored is None or stored.max_score != float(meta["points"]):
                        problems.append(f"{path.stem}/{meta['grade_id']} missing or changed")
    return problems


def runs_summary(result: ClassResult) -> str:
    """One line per submission: how its run ended, seconds, and what went wrong."""
    lines = []
    for student, nbs in sorted(result.runs.items()):
        for nb, run in nbs.items():
            if run.status == COULD_NOT_RUN:
                detail = f"NOT GRADED: {run.reason[:200]}"
            else:
                parts = [f"{run.checks_failed} check(s) failed" if run.checks_failed else "checks passed"]
                if run.checks_not_run:
                    parts.append(f"{run.checks_not_run} not run")
                if run.timed_out:
                    parts.append("time limit reached")
                if run.restarts:
                    parts.append(f"kernel restarted {run.restarts}x")
                detail = ", ".join(parts)
            lines.append(f"{student:<24} {nb:<20} {run.status:<14} {run.seconds:6.1f} s  {detail}")
    return "\n".join(lines)


def main_json(result: ClassResult) -> str:
    return json.dumps({"scores": result.scores, "max_scores": result.max_scores,
                       "seconds": round(result.seconds, 2)}, indent=1, sort_keys=True)


if __name__ == "__main__":  # pragma: no cover
    print(main_json(autograde(sys.argv[1])))
