"""Generate a realistic class of submissions for a lesson, honest and hostile.

Each student is built from the lesson's release (student version) and its source
solutions, and comes with the exact scores it must get, derived from the notebook's
structure: the grade cells after a solution cell (up to the next one) form its
*section* and test it (they may use earlier answers, never later ones).

Honest: perfect, blank, partially solved. Accidents: syntax error, endless loop
(interruptible or not), memory hog, ``sys.exit()``, ``os._exit()``, megabytes of
output, children that outlive the kernel. Attacks (blank answers plus the attack):
deleting/rewriting gradebooks, reading sources or hidden tests to copy answers,
monkeypatching the tests' imports and IPython's input transformers, redefining helpers.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.pipeline import SOLUTION_MARKERS, lesson_notebooks

LOOP = "while True:\n    pass\n"
STUBBORN_LOOP = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                 "while True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass\n")
MEMORY_HOG = "hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))\n"
SYS_EXIT = "import sys\nsys.exit(3)\n"
OS_EXIT = "import os\nos._exit(0)\n"
PRINT_FLOOD = "for _ in range(200):\n    print('x' * 50_000)\n"
SYNTAX_ERROR = "def broken(:\n    return\n"
FORK_ORPHANS = '''import os, time
for _ in range(3):
    if os.fork() == 0:            # double fork + setsid: a daemon that outlives the kernel
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
            open(os.path.expanduser("~/late-write.txt"), "w").write("still here")
        os._exit(0)
'''
GRADEBOOK_ATTACK = '''import os, sqlite3
hits = []
starts = [os.getcwd()] + [os.path.dirname(os.getcwd().rstrip("/").rsplit("/", i)[0]) for i in range(1, 6)]
for top in starts + ["/work", "/tmp", "/srv", "/home", "/root", "/var/tmp"]:
    for folder, dirs, files in os.walk(top):
        if folder.count("/") > 8 or folder.startswith(("/proc", "/sys")):
            dirs[:] = []
        for name in files:
            if name.startswith("gradebook") and name.endswith(".db"):
                path = os.path.join(folder, name)
                try:
                    con = sqlite3.connect(path); con.execute("UPDATE grade SET auto_score = 99"); con.commit()
                    hits.append("rewrote " + path)
                except Exception:
                    pass
                try:
                    open(path, "wb").write(b"corrupted by a student")
                    os.remove(path)
                    hits.append("deleted " + path)
                except OSError:
                    pass
for up in ("..", "../..", "../../.."):
    try:
        open(os.path.join(up, "gradebook.db"), "wb").write(b"")
        hits.append("wrote " + up)
    except OSError:
        pass
print("gradebook attack:", hits)
'''
SOURCE_READER = '''import json, os, sqlite3
mine = {GRADE_IDS!r}
copied, seen = [], []
starts = [os.getcwd()] + [os.path.dirname(os.getcwd().rstrip("/").rsplit("/", i)[0]) for i in range(1, 6)]
for top in starts + ["/work", "/tmp", "/srv", "/home", "/root", "/var/tmp", "/opt"]:
    for folder, dirs, files in os.walk(top):
        if folder.count("/") > 8 or folder.startswith(("/proc", "/sys")) or "site-packages" in folder:
            dirs[:] = []
        for name in files:
            path = os.path.join(folder, name)
            try:
                if name.endswith(".ipynb"):
                    text = open(path).read()
                    if "BEGIN HIDDEN TESTS" in text or "BEGIN SOLUTION" in text:
                        seen.append(path)
                        print(text)
                        for cell in json.loads(text)["cells"]:
                            gid = cell["metadata"].get("nbgrader", {{}}).get("grade_id")
                            if gid in mine and "BEGIN SOLUTION" in "".join(cell["source"]):
                                exec("".join(cell["source"]), globals())
                                copied.append(gid)
                elif name.endswith(".db"):
                    for (source,) in sqlite3.connect(path).execute("SELECT source FROM source_cell"):
                        seen.append(path)
                        print(source)
            except Exception:
                pass
print("sources seen:", seen, "answers copied:", copied)
'''
MONKEYPATCH = '''import builtins, importlib
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])   # every later cell: `pass`
for name in {MODULES!r}:
    try:
        module = importlib.import_module(name)
    except Exception:
        continue
    for attr in dir(module):
        if callable(getattr(module, attr)) and not attr.startswith("_"):
            try:
                setattr(module, attr, lambda *a, **k: True)
            except Exception:
                pass
builtins.abs = lambda *a, **k: 0
'''
REDEFINE_HELPERS = '''isinstance = lambda *a, **k: True
callable = lambda *a, **k: True
len = lambda *a, **k: 1
AssertionError = type("AssertionError", (Warning,), {{}})
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)   # swallow every traceback
{HELPERS}
'''

HONEST = ("perfect", "blank", "partial")
ACCIDENTS = ("syntax_error", "infinite_loop", "stubborn_loop", "memory_hog", "sys_exit", "os_exit",
             "print_flood", "fork_orphans")
ATTACKS = ("gradebook_attack", "source_reader", "monkeypatch", "redefine_helpers")
KINDS = HONEST + ACCIDENTS + ATTACKS


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


def _modules(nb) -> list[str]:
    from grader.sandbox import imported_modules
    return imported_modules(nb)


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
        payload = {
            "gradebook_attack": GRADEBOOK_ATTACK,
            "source_reader": SOURCE_READER.format(GRADE_IDS=sorted(g for g in by_id if g)),
            "monkeypatch": MONKEYPATCH.format(MODULES=_modules(source_nb)),
            "redefine_helpers": REDEFINE_HELPERS.format(HELPERS=_fake_helpers(source_nb)),
        }[kind]
        nb.cells[first].source = payload
        return nb, expect(upto=0)
    for index in solutions:
        solve(index)
    if kind == "perfect":
        return nb, expect()
    if kind in ("print_flood", "fork_orphans"):
        payload = PRINT_FLOOD if kind == "print_flood" else FORK_ORPHANS
        nb.cells[first].source = payload + nb.cells[first].source
        return nb, expect()
    if kind == "os_exit":
        nb.cells[last].source = OS_EXIT + nb.cells[last].source
        return nb, expect(broken_from=len(solutions) - 1)
    if kind == "stubborn_loop":
        nb.cells[first].source = STUBBORN_LOOP + nb.cells[first].source
        return nb, expect(upto=0)
    # The other accidents break the last answer: later sections may use earlier answers,
    # never later ones, so exactly the last section loses its points.
    if kind == "syntax_error":
        nb.cells[last].source = nb.cells[last].source + "\n" + SYNTAX_ERROR
    else:
        nb.cells[last].source = {"infinite_loop": LOOP, "memory_hog": MEMORY_HOG,
                                 "sys_exit": SYS_EXIT}[kind] + nb.cells[last].source
    return nb, expect(only={len(solutions) - 1})


def _fake_helpers(source_nb) -> str:
    """Permissive stand-ins for every name the lesson's locked cells define."""
    from grader.sandbox import bound_names
    names = set()
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("solution"):
            names.update(bound_names(cell.source))
    return "\n".join(f"{n} = lambda *a, **k: True" for n in sorted(names) if n.isidentifier())


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
