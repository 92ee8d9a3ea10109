"""Lines of a submission that aim at the grading machinery, for the instructor to review.

The grader does not need these to grade right: the tests run in the checker, which sees the
student's answers only as plain data, so code that patches IPython, numpy or the builtins,
publishes fake results or builds values that compare equal to anything gains nothing. But a
student who tried deserves a conversation, and an instructor wants to know. This module
reads the student's code (solution cells and cells the student added or edited) and reports
each suspicious line with the reason; the class report lists them.

The checks are syntactic (an AST walk), so they see what the code says, not what it did;
innocent code can be flagged (a student who reads ``sys.modules`` out of curiosity), and the
report says "for review", never "cheated".
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from typing import Any

from grader import cells

# Names whose use in a student's answer is about the machinery, not the exercise.
MACHINERY = {
    "get_ipython": "uses IPython's shell object",
    "IPython": "imports IPython",
    "ipykernel": "imports the kernel",
    "__builtins__": "touches the builtins",
    "builtins": "imports the builtins module",
    "__import__": "imports by name",
    "importlib": "imports by name",
    "ctypes": "calls C functions directly",
    "gc": "walks the garbage collector's objects",
    "inspect": "inspects frames or sources",
    "sqlite3": "opens databases (the gradebook?)",
    "subprocess": "starts programs",
    "signal": "handles signals",
    "threading": "starts threads (late outputs?)",
    "_thread": "starts threads (late outputs?)",
    "multiprocessing": "starts processes",
    "exec": "executes code from a string",
    "eval": "evaluates code from a string",
    "compile": "compiles code from a string",
    "globals": "reads or writes the notebook's namespace",
    "setattr": "sets attributes by name (a patch?)",
    "delattr": "deletes attributes by name",
    "publish_display_data": "publishes outputs directly",
    "update_display": "rewrites an earlier output",
}
ATTRIBUTES = {
    "modules": "touches sys.modules",
    "_getframe": "reads the caller's frame",
    "displayhook": "replaces the display hook",
    "excepthook": "replaces the exception hook",
    "settrace": "installs a tracer",
    "setprofile": "installs a profiler",
    "kill": "sends signals",
    "fork": "forks the process",
    "_exit": "exits the process",
    "__subclasses__": "walks classes",
    "__code__": "rewrites function code",
    "__globals__": "reads a function's globals",
    "__class__": "changes an object's class",
    "__dict__": "touches an object's attributes directly",
    "user_ns": "touches the notebook's namespace",
    "display_pub": "publishes outputs directly",
    "compile": "touches IPython's compiler",
    "ast_transformers": "rewrites every later cell",
    "input_transformers_cleanup": "rewrites every later cell",
    "input_transformers_post": "rewrites every later cell",
    "set_custom_exc": "swallows exceptions",
}
# Methods that make a value compare, convert or compute differently from what it holds.
FAKE_VALUE_METHODS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__float__", "__int__",
                      "__index__", "__bool__", "__abs__", "__sub__", "__rsub__", "__add__", "__radd__",
                      "__truediv__", "__mul__", "__array__", "__array_ufunc__", "__array_function__",
                      "__hash__", "__instancecheck__", "__round__", "__len__", "__contains__", "__iter__",
                      "__getattr__", "__getattribute__"}


@dataclass
class Flag:
    """One suspicious line: cell index, line number (1-based), the line, and why."""

    cell: int
    line: int
    text: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flag_source(source: str, cell: int = 0, imported: set[str] | None = None) -> list[Flag]:
    """Suspicious lines of one cell's code. ``imported`` are module aliases bound in the notebook
    (assigning to their attributes is a patch: ``np.allclose = ...``)."""
    try:
        tree = ast.parse(cells.python_only(source))
    except SyntaxError:
        return []
    lines = source.splitlines()
    modules = set(imported or ()) | cells.import_bound(source)
    found: dict[tuple[int, str], Flag] = {}

    def add(node: ast.AST, reason: str) -> None:
        number = getattr(node, "lineno", 1)
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        found.setdefault((number, reason), Flag(cell=cell, line=number, text=text[:200], reason=reason))

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in MACHINERY:
            add(node, MACHINERY[node.id])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                root = (alias.name if isinstance(node, ast.Import) else (node.module or "")).split(".")[0]
                if root in MACHINERY:
                    add(node, MACHINERY[root])
                if alias.name in MACHINERY:
                    add(node, MACHINERY[alias.name])
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            add(node, ATTRIBUTES[node.attr])
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                base = target
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(target, (ast.Attribute, ast.Subscript)) and isinstance(base, ast.Name) \
                        and base.id in modules:
                    add(node, f"changes the module {base.id} (a patch)")
        elif isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            methods |= {t.id for n in node.body if isinstance(n, ast.Assign) for t in n.targets
                        if isinstance(t, ast.Name)}
            faked = sorted(methods & FAKE_VALUE_METHODS)
            if faked:
                add(node, f"defines a class whose values {', '.join(faked[:4])} differently "
                          "from what they hold")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
                and len(node.args) == 3:
            add(node, "builds a class at run time")
    return sorted(found.values(), key=lambda f: (f.cell, f.line, f.reason))


def flag_notebook(submission: Any, source: Any) -> list[Flag]:
    """Suspicious lines in the cells a student wrote: solution cells, and code cells that are
    not in the source notebook (added or edited). A line that stands in the source notebook
    (the instructor's own code, around or inside the solution) is never flagged."""
    source_texts = {_text(c.get("source", "")) for c in source["cells"] if c.get("cell_type") == "code"}
    source_lines = {line.strip() for text in source_texts for line in text.splitlines()}
    imported: set[str] = set()
    for cell in source["cells"]:
        if cell.get("cell_type") == "code":
            imported |= cells.import_bound(_text(cell.get("source", "")))
    found: list[Flag] = []
    for index, cell in enumerate(submission["cells"]):
        if cell.get("cell_type") != "code":
            continue
        text = _text(cell.get("source", ""))
        kind = cells.kind(cell)
        if kind in (cells.SOLUTION, cells.ANSWER) or (kind == cells.INSTRUCTOR and text not in source_texts):
            found += [f for f in flag_source(text, index, imported) if f.text not in source_lines]
    return found


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)
