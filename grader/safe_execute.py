"""nbgrader's ``Execute`` step, replaced by the safe grader on every path that autogrades.

``grader/nbgrader_config.py`` puts :class:`SafeExecute` where nbgrader's Autograde converter
has ``Execute``: ``nbgrader autograde`` in a terminal and the formgrader's Autograde button
then run each submission as ``python -m grader autograde`` does (the student's kernel and the
checker, each in its sandbox; :mod:`grader.sandbox`), one submission at a time, without the
class-level extras: no preflight run of the lesson's solution and no shared model cache.
A submission that cannot run (an environment problem) is an error for nbgrader, never a grade;
where the sandbox cannot run safely (no bubblewrap, no cgroups) autograding refuses with the
reason. nbgrader's own ``Execute`` is not used anywhere.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Int


class SafeExecute(NbGraderPreprocessor):
    """Run the prepared submission in the grader's sandboxes instead of a plain kernel."""

    wall_seconds = Float(900.0, help="Wall-clock limit per notebook, seconds").tag(config=True)
    cell_seconds = Float(300.0, help="Limit per cell, seconds").tag(config=True)
    memory_mb = Int(3072, help="Memory of the student's kernel and all it starts, MiB").tag(config=True)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        import nbformat
        from nbgrader.coursedir import CourseDirectory

        from grader.autograde import hidden_paths, seed_files
        from grader.sandbox import COULD_NOT_RUN, Limits, Sandbox

        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        root = Path(coursedir.root).resolve()
        lesson_dir = root / coursedir.source_directory / info["assignment"]
        source = nbformat.read(str(lesson_dir / f"{info['notebook']}.ipynb"), as_version=4)
        submission = Path(resources.get("metadata", {}).get("path") or lesson_dir)
        limits = Limits(wall_seconds=self.wall_seconds, cell_seconds=self.cell_seconds,
                        cpu_seconds=int(self.wall_seconds), memory_bytes=self.memory_mb * 2**20)
        private = Path(tempfile.mkdtemp(prefix="edgelab-grading-"))
        sandbox = Sandbox(hidden_paths(root, private), limits)
        try:
            run = sandbox.run(nb, source, seed_files(submission, lesson_dir), slot=0)
            with ThreadPoolExecutor(max_workers=1) as pool:  # the formgrader's own loop may be running
                result = pool.submit(asyncio.run, run).result()
        finally:
            sandbox.close()
            shutil.rmtree(private, ignore_errors=True)
        if result.status == COULD_NOT_RUN:
            raise RuntimeError(f"{info['student']}/{info['notebook']} could not run, so it is not graded: "
                               f"{result.reason}")
        return result.nb, resources
