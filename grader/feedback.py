"""Feedback for students that says which check failed and why, without the hidden tests.

Plain nbgrader 0.9.6 feedback shows the hidden test source to the student (nbgrader
issue #917): in the grade cell itself and in the traceback's context lines. The course's
nbgrader configuration (``grader/nbgrader_config.py``) adds :class:`RedactHiddenTests` to
``generate_feedback``, for the formgrader's button and the command line alike: each hidden
region becomes one comment line, each error becomes the error's name and message plus where
it failed (a visible line, or "a hidden check on line N"), and any hidden-test line a
submission managed to print is masked.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from grader.pipeline import HIDDEN_MARKERS

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
MASK = "[hidden test line]"



def hidden_regions(source: str) -> tuple[list[tuple[int, int]], list[str]]:
    """1-based (first, last) line numbers of each hidden region (markers included), and
    the hidden lines themselves (stripped, non-blank)."""
    regions: list[tuple[int, int]] = []
    lines: list[str] = []
    start = None
    for number, raw in enumerate(source.splitlines(), start=1):
        text = raw.strip()
        if text == HIDDEN_MARKERS[0]:
            start = number
        elif text == HIDDEN_MARKERS[1] and start is not None:
            regions.append((start, number))
            start = None
        elif start is not None and text:
            lines.append(text)
    if start is not None:
        regions.append((start, len(source.splitlines())))
    return regions, lines


def _mask(text: str, secrets: list[str]) -> str:
    for line in secrets:
        if line in text:
            text = text.replace(line, MASK)
    return text


def explain(output, regions: list[tuple[int, int]], secrets: list[str]):
    """An error output rewritten for students: name, message, and where, no source lines."""
    lines = [ANSI.sub("", part) for part in output.get("traceback", [])]
    located = [int(m.group(1)) for part in lines for m in CELL_LINE.finditer(part)]
    where = ""
    if located:
        number = located[0]
        hidden = any(first <= number <= last for first, last in regions)
        where = (f"a hidden check failed (line {number} of this cell; hidden tests are not shown)"
                 if hidden else f"the check on line {number} of this cell failed")
    evalue = _mask(str(output.get("evalue", "")), secrets)
    message = f"{output.get('ename', 'Error')}: {evalue}" if evalue else str(output.get("ename", "Error"))
    output["evalue"] = evalue
    output["traceback"] = [line for line in (where, message) if line]
    return output


class RedactHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests from feedback: sources, tracebacks and printed outputs."""

    def preprocess(self, nb, resources):  # noqa: ANN001 -- nbconvert's signature
        secrets: list[str] = []
        cells_regions = []
        for cell in nb.cells:
            regions, lines = hidden_regions(cell.source) if cell.cell_type == "code" else ([], [])
            cells_regions.append(regions)
            secrets += lines
        secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        for cell, regions in zip(nb.cells, cells_regions):
            if cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    explain(output, regions, secrets)
                if "text" in output:
                    output["text"] = _mask(output["text"], secrets)
                for mime, value in list(output.get("data", {}).items()):
                    if isinstance(value, str):
                        output["data"][mime] = _mask(value, secrets)
            if regions:
                cell.source = _strip_regions(cell.source, regions)
        return nb, resources


def _strip_regions(source: str, regions: list[tuple[int, int]]) -> str:
    lines = source.splitlines()
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        region = next((r for r in regions if r[0] <= number <= r[1]), None)
        if region is None:
            out.append(line)
        elif number == region[0]:
            indent = line[: len(line) - len(line.lstrip())]
            count = region[1] - region[0] - 1
            out.append(f"{indent}# hidden tests ({count} line{'' if count == 1 else 's'}) are not shown")
    return "\n".join(out)


def generate_feedback(lesson: str, root: Path | str | None = None, student: str | None = None) -> Path:
    """Write feedback HTML for ``lesson`` (all autograded students, or one) into
    ``feedback/<student>/<lesson>/``, hidden tests removed; return the feedback folder."""
    from grader.autograde import course_root
    from grader.pipeline import nbgrader

    root = course_root(root)
    if not (root / "autograded").is_dir() or not any((root / "autograded").glob(f"*/{lesson}")):
        raise ValueError(f"lesson {lesson!r} has no autograded submissions under {root}: autograde first")
    args = ["generate_feedback", lesson, "--force"] + ([f"--student={student}"] if student else [])
    nbgrader(args, root)  # grader/nbgrader_config.py puts RedactHiddenTests into generate_feedback
    return root / "feedback"
