"""grader.pipeline finds solution and hidden-test text that leaks into a release."""

from __future__ import annotations

import json
from pathlib import Path

from grader.pipeline import REPO, leaks, secret_lines

WELCOME = REPO / "lessons" / "00-welcome" / "welcome.ipynb"


def test_source_notebook_counts_as_leaking_everything(tmp_path: Path) -> None:
    """Treating the source as a 'release' reports its solutions and hidden tests."""
    found = leaks(WELCOME, WELCOME)
    solution, hidden = secret_lines(WELCOME)
    assert solution and hidden
    assert any(f.startswith("marker") for f in found)
    assert {f"solution: {line}" for line in solution} <= set(found)
    assert {f"hidden test: {line}" for line in hidden} <= set(found)


def test_clean_copy_has_no_leaks(tmp_path: Path) -> None:
    """A copy with solution and hidden regions removed is clean."""
    nb = json.loads(WELCOME.read_text())
    for cell in nb["cells"]:
        kept, skipping = [], False
        for line in "".join(cell["source"]).splitlines(keepends=True):
            if line.strip() in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                skipping = True
            elif line.strip() in ("### END SOLUTION", "### END HIDDEN TESTS"):
                skipping = False
            elif not skipping:
                kept.append(line)
        cell["source"] = "".join(kept)
    clean = tmp_path / "clean.ipynb"
    clean.write_text(json.dumps(nb))
    assert leaks(WELCOME, clean) == []
