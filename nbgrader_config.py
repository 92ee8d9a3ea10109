"""Course-root entry point for nbgrader and the formgrader: the settings live in grader/."""

import os

load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader", "nbgrader_config.py"))  # noqa: F821
