"""Moved: the real-link check lives in :mod:`edgelab.linkcheck` (this name stays until the
callers that import it from here, ``edgelab.cli`` and ``tests/test_serve.py``, are updated)."""

from edgelab.linkcheck.cli import add_parser, run_cli
from edgelab.linkcheck.testbed import REPO_ROOT
from edgelab.linkcheck.testbed import wait_ready as _wait_ready

__all__ = ["REPO_ROOT", "_wait_ready", "add_parser", "run_cli"]
