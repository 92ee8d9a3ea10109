"""Instructor tooling on top of nbgrader (release, autograde, reports)."""
