"""nbgrader's filesystem exchange, with a submit that refuses broken notebooks.

A notebook that is not valid JSON (an editor crash, a half-copied file) would otherwise
be submitted, collected and only fail at grading time, far from the student. Here the
submit stops first with a message naming the file and the error, and nothing is copied:
the student's earlier submissions stay as they were.

Loaded by name from ``hub/jupyter/common/nbgrader_config.py``
(``ExchangeFactory.submit = "edgelab_exchange.CheckedSubmit"``); the hub puts ``hub/`` on
the single-user servers' ``PYTHONPATH``.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Sequence
from pathlib import PurePath

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import find_all_notebooks


def notebook_problems(folder: str, ignore: Sequence[str] = (".ipynb_checkpoints",)) -> list[str]:
    """One line per notebook under ``folder`` that is not a readable JSON notebook, leaving out
    paths with a part matching an ``ignore`` pattern (nbgrader does not submit those)."""
    problems = []
    for name in find_all_notebooks(folder):
        if any(fnmatch.fnmatch(part, pattern) for part in PurePath(name).parts for pattern in ignore):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{name} is not valid notebook JSON ({exc})")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            problems.append(f"{name} is JSON but not a notebook (no list of cells)")
    return problems


class CheckedSubmit(ExchangeSubmit):
    """``nbgrader submit`` that first checks every notebook of the assignment is readable."""

    def copy_files(self) -> None:
        problems = notebook_problems(self.src_path, self.coursedir.ignore)
        if problems:
            self.fail("Nothing was submitted: " + "; ".join(problems)
                      + ". Fix the file (or rename it and fetch the assignment again), then submit."
                      " Your earlier submissions are unchanged.")
        super().copy_files()
