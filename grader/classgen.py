"""Generate a realistic class of submissions for a lesson, honest and hostile.

Each student is built from the lesson's release (student version) and its source
solutions, and comes with the exact scores it must get, derived from the notebook's
structure: the grade cells after a solution cell (up to the next one) form its
*section* and test it (they may use earlier answers, never later ones).

Honest: perfect, blank, partially solved, all right but one quiz answer. Accidents: syntax error, endless loop
(interruptible or not), memory hog, ``sys.exit()``, ``os._exit()``, megabytes of
output, children that outlive the kernel. Hogs: a memory balloon spread over many processes, a
fork flood, a disk filler. Attacks (blank answers plus the attack), written
by a student who knows the grader: deleting/rewriting gradebooks, reading sources or hidden
tests to copy answers, monkeypatching the tests' imports, the builtins and IPython, replacing
what the grader put in the namespace, wrapping every later cell in try/except, publishing
results before the tests, values that compare equal to anything, rewriting outputs late.
The code of each accident and attack is a file in ``grader/payloads/``.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import cells
from grader.pipeline import SOLUTION_MARKERS, lesson_notebooks

PAYLOADS = Path(__file__).with_name("payloads")
FILL = re.compile(r"^([A-Z_]+) = \[\]  # filled in by grader\.classgen$", re.M)


def payload(kind: str, **values: list) -> str:
    """The code a student of ``kind`` types (``grader/payloads/<kind>.py``), with the lesson's
    ``values`` filled in."""
    text = (PAYLOADS / f"{kind}.py").read_text()

    def fill(match: re.Match) -> str:
        return f"{match.group(1)} = {sorted(values[match.group(1)])!r}"
    return FILL.sub(fill, text).rstrip("\n") + "\n"


HONEST = ("perfect", "blank", "partial", "one_wrong")
QUIZ_ANSWER = re.compile(r'^(\w+ = )"([a-e])"$', re.M)


def _other_letter(match: re.Match) -> str:
    letter = match.group(2)
    return f'{match.group(1)}"{"b" if letter == "a" else "a"}"'
ACCIDENTS = ("syntax_error", "infinite_loop", "stubborn_loop", "memory_hog", "sys_exit", "os_exit",
             "print_flood", "fork_orphans")
# Aimed at the machine: each stops at its own submission's limits (cgroups, tmpfs sizes) and
# takes the place of the last answer, so exactly the last section scores zero.
HOGS = ("memory_balloon", "fork_flood", "disk_filler")
# Looking for the hidden tests in the kernel's own history, after the other sections' checks ran.
SNOOPS = ("history_reader",)
# Aimed at the grader: each must gain no point and be flagged for review.
ATTACKS = ("gradebook_attack", "source_reader", "monkeypatch", "redefine_helpers", "guard_replacement",
           "ipython_internals", "early_result", "fake_values", "patched_libraries", "late_rewrite",
           "escape_mounts")
SYNTAX_ERROR = "def broken(:\n    return\n"
KINDS = HONEST + ACCIDENTS + HOGS + SNOOPS + ATTACKS


@dataclass
class Student:
    """One generated submission: its kind and the exact scores it must get."""

    name: str
    kind: str
    expected: dict[str, float]


def answer(source: str) -> str:
    """A source solution cell without the solution markers: what a perfect student wrote."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


def _structure(source_nb, release_nb):
    """Solution cell indices in order, and each grade cell's (grade_id, points, section)."""
    solutions = [i for i, c in enumerate(release_nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]
    grades = []
    for i, cell in enumerate(release_nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            section = max((k for k, s in enumerate(solutions) if s < i), default=-1)
            grades.append((meta["grade_id"], float(meta.get("points", 0)), section))
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source_nb.cells}
    return solutions, grades, by_id


def _lesson_values(source_nb) -> dict[str, list]:
    """What the payloads need to know of the lesson: grade ids, the modules its instructor and
    test cells import, the names its instructor cells bind, its answers (values and functions)."""
    texts = {kind: [] for kind in (cells.SOLUTION, cells.TEST, cells.INSTRUCTOR)}
    for cell in source_nb.cells:
        if cells.kind(cell) in texts:
            texts[cells.kind(cell)].append(cell.source)
    trees = [ast.parse(cells.python_only(text)) for text in texts[cells.SOLUTION]]
    functions = {node.name for tree in trees for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    answers = cells.plan(source_nb).answers
    checked = texts[cells.TEST] + texts[cells.INSTRUCTOR]
    return {"GRADE_IDS": [cells.grade_id(c) for c in source_nb.cells if cells.grade_id(c)],
            "MODULES": [m for text in checked for m in cells.imported_modules(text) if "." not in m],
            "HELPERS": [n for text in texts[cells.INSTRUCTOR] for n in cells.bound_names(text)],
            "VALUES": [n for n in answers if n not in functions],
            "FUNCTIONS": [n for n in answers if n in functions]}


def build(kind: str, source_nb, release_nb, partial_k: int = 1):
    """The notebook a student of ``kind`` submits, and their expected scores by grade id."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    solutions, grades, by_id = _structure(source_nb, release_nb)
    if not solutions:
        raise ValueError("the lesson has no solution cells to answer")

    def solve(index: int) -> None:
        gid = nb.cells[index].metadata["nbgrader"]["grade_id"]
        nb.cells[index].source = answer(by_id[gid].source)

    def expect(broken_from: int | None = None, only: set[int] | None = None, upto: int | None = None):
        out = {}
        for gid, points, section in grades:
            ok = section >= 0
            if upto is not None:
                ok = ok and section < upto
            if only is not None:
                ok = ok and section not in only
            if broken_from is not None:
                ok = ok and section < broken_from
            out[gid] = points if ok else 0.0
        return out

    first, last = solutions[0], solutions[-1]
    if kind == "blank":
        return nb, expect(upto=0)
    if kind == "partial":
        k = max(1, min(partial_k, len(solutions) - 1)) if len(solutions) > 1 else 0
        for index in solutions[:k]:
            solve(index)
        return nb, expect(upto=k)
    if kind in ATTACKS:
        values = {k: sorted(set(v)) for k, v in _lesson_values(source_nb).items()}
        nb.cells[first].source = payload(kind, **values)
        return nb, expect(upto=0)
    for index in solutions:
        solve(index)
    if kind == "perfect":
        return nb, expect()
    if kind == "one_wrong":
        choice = [k for k, index in enumerate(solutions) if QUIZ_ANSWER.search(nb.cells[index].source)]
        if not choice:
            raise ValueError("the lesson has no one-letter quiz answer to get wrong")
        index = solutions[choice[-1]]
        nb.cells[index].source = QUIZ_ANSWER.sub(_other_letter, nb.cells[index].source, count=1)
        return nb, expect(only={choice[-1]})
    if kind in HOGS + SNOOPS:
        nb.cells[last].source = payload(kind)
        return nb, expect(only={len(solutions) - 1})
    if kind in ("print_flood", "fork_orphans"):
        nb.cells[first].source = payload(kind) + nb.cells[first].source
        return nb, expect()
    if kind == "os_exit":
        nb.cells[last].source = payload(kind) + nb.cells[last].source
        return nb, expect(broken_from=len(solutions) - 1)
    # The other accidents break the last answer: later sections may use earlier answers,
    # never later ones, so exactly the last section loses its points. (A loop that ignores
    # interrupts costs the kernel, replaced for the cells after it: in the last answer cell the
    # state lost with it cannot matter to another section.)
    if kind == "syntax_error":
        nb.cells[last].source = nb.cells[last].source + "\n" + SYNTAX_ERROR
    else:
        nb.cells[last].source = payload({"infinite_loop": "loop"}.get(kind, kind)) + nb.cells[last].source
    return nb, expect(only={len(solutions) - 1})


def with_answers(source_nb, release_nb, replaced: dict[str, str]):
    """The perfect submission with the answer cells named in ``replaced`` (grade id -> source)
    written differently, and its expected scores: the sections of those cells 0, all others full.
    This is how a shortcut around an exercise is tested (calling the library function it
    teaches, or copying what the screen shows): it must cost that exercise's points."""
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    solutions, grades, by_id = _structure(source_nb, release_nb)
    ids = {nb.cells[index].metadata["nbgrader"]["grade_id"]: k for k, index in enumerate(solutions)}
    for gid, index in zip(ids, solutions):
        nb.cells[index].source = replaced[gid] if gid in replaced else answer(by_id[gid].source)
    lost = {ids[gid] for gid in replaced if gid in ids}
    return nb, {gid: 0.0 if section in lost else points for gid, points, section in grades}


def add_student(lesson: str, root: Path, name: str, replaced: dict[str, str],
                release_root: Path | None = None) -> Student:
    """Write ``submitted/<name>/<lesson>/``: the perfect submission with the answer cells in
    ``replaced`` written differently (see :func:`with_answers`), and add it to the class file."""
    root = Path(root)
    release_dir = Path(release_root or root / "release") / lesson
    dest = root / "submitted" / name / lesson
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(release_dir, dest)
    expected: dict[str, float] = {}
    found: set[str] = set()
    for source in lesson_notebooks(root / "lessons" / lesson):
        source_nb = nbformat.read(str(source), as_version=4)
        release_nb = nbformat.read(str(release_dir / source.name), as_version=4)
        nb, exp = with_answers(source_nb, release_nb, replaced)
        nbformat.write(nb, str(dest / source.name))
        expected.update(exp)
        found.update(cells.grade_id(c) for c in source_nb.cells if cells.grade_id(c))
    unknown = sorted(set(replaced) - found)
    if unknown:
        raise ValueError(f"{lesson} has no answer cell with grade id {', '.join(unknown)}")
    manifest_path = root / f"class-{lesson}.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {"kind": "shortcut", "expected": expected}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return Student(name=name, kind="shortcut", expected=expected)


def class_kinds(size: int) -> list[str]:
    """``size`` kinds: every kind once (when ``size`` allows), the rest mostly honest."""
    if not isinstance(size, int) or not 1 <= size <= 1000:
        raise ValueError(f"size must be an integer from 1 to 1000, got {size!r}")
    fill = ["perfect", "partial", "perfect", "blank", "partial", "perfect"]
    kinds = list(KINDS[:size])
    while len(kinds) < size:
        kinds.append(fill[len(kinds) % len(fill)])
    return kinds


def make_class(lesson: str, root: Path, size: int = 30, kinds: list[str] | None = None,
               release_root: Path | None = None) -> list[Student]:
    """Write ``submitted/<student>/<lesson>/`` for a class under course ``root`` (whose
    ``release/<lesson>`` must exist, or ``release_root``) and return the students with
    their expected scores (also written to ``<root>/class-<lesson>.json``)."""
    root = Path(root)
    source_dir = root / "lessons" / lesson
    release_dir = Path(release_root or root / "release") / lesson
    if not release_dir.is_dir():
        raise ValueError(f"release/{lesson} is missing under {root}: run `python -m grader release` first")
    kinds = list(kinds) if kinds is not None else class_kinds(size)
    students: list[Student] = []
    for number, kind in enumerate(kinds):
        name = f"s{number:02d}-{kind.replace('_', '-')}"
        dest = root / "submitted" / name / lesson
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(release_dir, dest)
        expected: dict[str, float] = {}
        for source in lesson_notebooks(source_dir):
            source_nb = nbformat.read(str(source), as_version=4)
            release_nb = nbformat.read(str(release_dir / source.name), as_version=4)
            nb, exp = build(kind, source_nb, release_nb, partial_k=1 + number % 3)
            nbformat.write(nb, str(dest / source.name))
            expected.update(exp)
        students.append(Student(name=name, kind=kind, expected=expected))
    manifest = {s.name: {"kind": s.kind, "expected": s.expected} for s in students}
    (root / f"class-{lesson}.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return students
