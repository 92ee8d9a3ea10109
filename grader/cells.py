"""What the cells of an nbgrader notebook are, and which of them the checker must run.

A source notebook has four kinds of code cells: *solution* cells (the student writes them),
*test* cells (grade cells with visible and hidden tests), *instructor* cells (every other
code cell: setup, data, explorers) and graded answer cells (``grade`` and ``solution``,
marked by hand). The grader runs the student's notebook without its test cells in the
student's kernel, and the test cells in the checker (:mod:`grader.checker`), which first
runs the instructor cells those tests depend on, from the *source* notebook (a student may
edit unlocked cells; the checker never runs a student's version of anything).

:func:`plan` finds those instructor cells by names: a cell is needed before a test when it
binds a name the test (or another needed cell) uses, or uses such a name itself (it may
change the object: ``fleet[0].deploy(v2)``); names bound by ``import`` are modules and
using them changes nothing. The names the solution cells bind are the student's answers:
the checker takes them from the student's kernel, as plain data, just before each cell.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field
from typing import Any

SOLUTION, TEST, INSTRUCTOR, ANSWER, MARKDOWN = "solution", "test", "instructor", "answer", "markdown"


def kind(cell: Any) -> str:
    """``solution``, ``test``, ``instructor``, ``answer`` (graded by hand) or ``markdown``."""
    if cell.get("cell_type") != "code":
        return MARKDOWN
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        return ANSWER if meta.get("grade") else SOLUTION
    return TEST if meta.get("grade") else INSTRUCTOR


def grade_id(cell: Any) -> str | None:
    """The cell's nbgrader grade id, if any."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def python_only(source: str) -> str:
    """``source`` with IPython magics and shell lines turned into ``pass`` (same line numbers)."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(python_only(source))
    except SyntaxError:
        return None


def bound_names(source: str) -> list[str]:
    """Names a cell binds at module level, in order (assignments, ``for``/``with`` targets,
    imports, functions, classes, walrus), including inside ``if``/``for``/``try`` blocks."""
    tree = _tree(source)
    names: list[str] = []

    def targets(node: ast.AST) -> None:
        names.extend(n.id for n in ast.walk(node) if isinstance(n, ast.Name))

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(node.name)
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    targets(target)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets(node.target)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.extend((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets(node.target)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
            elif isinstance(node, ast.Try):
                for handler in node.handlers:
                    if handler.name:
                        names.append(handler.name)
            names.extend(n.target.id for n in ast.walk(node)
                         if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name))
            for block in ("body", "orelse", "finalbody"):
                visit(getattr(node, block, []) or [])
            for handler in getattr(node, "handlers", []) or []:
                visit(handler.body)

    if tree is not None:
        visit(tree.body)
    return list(dict.fromkeys(names))


def used_names(source: str) -> set[str]:
    """Every name a cell reads, anywhere (function bodies and comprehensions included)."""
    tree = _tree(source)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def free_names(source: str) -> set[str]:
    """Names a cell needs from earlier cells: read at module level before (in the text) the
    cell binds them, or read inside its functions, lambdas and comprehensions without being
    bound anywhere at module level. Built-in names are never free."""
    text = python_only(source)
    try:
        tree = ast.parse(text)
        table = symtable.symtable(text, "<cell>", "exec")
    except SyntaxError:
        return set()
    bound_here = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    free = {name for name in _globals_read_in_scopes(table) if name not in bound_here}
    first: dict[str, bool] = {}
    for _, name, loaded in sorted(_module_events(tree)):
        first.setdefault(name, loaded)
    free |= {name for name, loaded in first.items() if loaded}
    return {name for name in free if name not in _BUILTINS}


def _globals_read_in_scopes(table: symtable.SymbolTable) -> set[str]:
    found: set[str] = set()
    for child in table.get_children():
        found |= {s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global()}
        found |= _globals_read_in_scopes(child)
    return found


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _module_events(tree: ast.Module) -> list[tuple[tuple[int, int], str, bool]]:
    """(position, name, is_read) of every module-level read and binding of a name."""
    events: list[tuple[tuple[int, int], str, bool]] = []

    def visit(node: ast.AST) -> None:
        position = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for default in node.decorator_list + getattr(getattr(node, "args", None), "defaults", []):
                visit(default)
            events.append((position, node.name, False))
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            visit(node.generators[0].iter)  # evaluated here; the rest is the comprehension's own scope
            return
        if isinstance(node, _SCOPES):
            return  # its reads are counted by the symbol table
        if isinstance(node, ast.Name):
            events.append((position, node.id, isinstance(node.ctx, ast.Load)))
        elif isinstance(node, ast.alias):
            events.append((position, (node.asname or node.name).split(".")[0], False))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            events.append((position, node.name, False))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return events


_BUILTINS = frozenset(dir(builtins))


def import_bound(source: str) -> set[str]:
    """Names a cell binds with ``import`` statements."""
    tree = _tree(source)
    if tree is None:
        return set()
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return {(a.asname or a.name).split(".")[0] for n in imports for a in n.names if a.name != "*"}


def imported_modules(source: str) -> set[str]:
    """Absolute module names a cell imports (``import a.b`` gives ``a`` and ``a.b``)."""
    tree = _tree(source)
    names: set[str] = set()
    if tree is None:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            parts = node.module.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            names.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return names


WITHOUT = re.compile(r"^\s*#\s*without:\s*(.+?)\s*$", re.M)
DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")


def refusals(source: str) -> tuple[str, ...]:
    """Library functions a test cell's calls of the student's functions run without, from its
    ``# without: edgelab.quantize.quantize, ...`` lines (a by-hand exercise cannot call them)."""
    names = [n.strip() for line in WITHOUT.findall(source) for n in line.split(",")]
    return tuple(n for n in names if DOTTED.match(n))


def has_magic(source: str) -> bool:
    """Whether a cell uses IPython magics or shell lines (the checker runs plain Python)."""
    return any(line.lstrip().startswith(("%", "!")) for line in source.splitlines())


@dataclass
class Plan:
    """How the checker runs one source notebook's tests."""

    answers: frozenset[str]  # names the solution cells bind: taken from the student's kernel
    modules: frozenset[str]  # modules the notebook imports: a student's module answer may name these
    tests: dict[str, int] = field(default_factory=dict)  # grade id -> index in the source
    before: dict[str, list[int]] = field(default_factory=dict)  # grade id -> instructor cells to run first

    def needed(self) -> list[int]:
        """Every instructor cell the checker runs, in order."""
        return sorted({i for cells in self.before.values() for i in cells})


def plan(source_nb: Any) -> Plan:
    """The checker's plan for a source notebook (see the module docstring)."""
    cells = source_nb["cells"]
    kinds = [kind(c) for c in cells]
    texts = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
             for c in cells]
    answers: set[str] = set()
    modules: set[str] = set()
    modules_bound: set[str] = set()
    for k, text in zip(kinds, texts):
        if k in (SOLUTION, ANSWER):
            answers.update(bound_names(text))
        if k != MARKDOWN:
            modules.update(imported_modules(text))
        if k == INSTRUCTOR:
            modules_bound.update(import_bound(text))
    # A module an instructor cell imports is the checker's own; one imported only in a solution
    # cell is an answer like any other (it crosses as the module's name).
    answers -= modules_bound
    wanted: set[str] = set()
    needed: set[int] = set()
    for index in range(len(cells) - 1, -1, -1):
        if kinds[index] == TEST:
            wanted |= free_names(texts[index]) - answers
        elif kinds[index] == INSTRUCTOR:
            binds = set(bound_names(texts[index]))
            reads = free_names(texts[index])
            if binds & wanted or reads & (wanted - modules_bound):
                needed.add(index)
                wanted |= (reads | binds) - answers
    result = Plan(answers=frozenset(answers), modules=frozenset(modules))
    previous = -1
    for index, k in enumerate(kinds):
        if k == TEST:
            gid = grade_id(cells[index]) or f"cell-{index}"
            result.tests[gid] = index
            result.before[gid] = [i for i in sorted(needed) if previous < i < index]
            previous = index
    return result
