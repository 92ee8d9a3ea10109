"""The class's device results for the instructor: lesson 08's saved device reports, collected with
the submissions (``submitted/<student>/<lesson>/``), as a table by device and variant and a list
of the reports flagged as inconsistent (:mod:`edgelab.device_results` does the checking).

``python -m grader report 08-deploy-to-a-pi`` prints :func:`summary` and writes
:func:`write_html` beside the class report, when the lesson's submissions hold device reports.
"""

from __future__ import annotations

import html
from pathlib import Path

from edgelab import device_results
from grader.autograde import course_root


def class_results(lesson: str, root: Path | str | None = None) -> device_results.ClassResults:
    """Every device report of ``lesson`` in the course's ``submitted/`` folder, checked."""
    submitted = course_root(root) / "submitted"
    if not submitted.is_dir():
        raise ValueError(f"no submissions in {submitted}: collect the lesson's submissions first")
    return device_results.collect(submitted, lesson)


def has_reports(lesson: str, root: Path | str | None = None) -> bool:
    """Whether any submission of ``lesson`` holds a device report."""
    submitted = course_root(root) / "submitted"
    return submitted.is_dir() and any(submitted.glob(f"*/{lesson}/{device_results.REPORT_GLOB}"))


def summary(results: device_results.ClassResults) -> str:
    """Plain text: the counts, one line per table row, one line per flagged report."""
    lines = [f"device results: {results.summary()}"]
    for row in device_results.table(results):
        p95 = "n/a" if row.p95_ms is None else f"{row.p95_ms:.3g}"
        lines.append(f"  {row.device:<34} {row.kind:<9} {row.variant:<8} {row.reports:>3} report(s)  "
                     f"p50 {row.p50_ms:.3g} ms  p95 {p95} ms")
    for entry in results.flagged:
        lines.append(f"  FLAGGED {entry.student} {entry.file}: " + "; ".join(entry.problems + entry.flags))
    return "\n".join(lines)


def write_html(results: device_results.ClassResults, lesson: str, path: Path | str) -> Path:
    """The device results as one HTML page: counts, the table, the flagged reports."""
    path = Path(path)
    path.write_text(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Device results: {html.escape(lesson)}</title>
<style>body{{font-family:sans-serif;max-width:64em;margin:2em auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}} td:first-child{{text-align:left}}</style>
</head><body>
<h1>Device results: {html.escape(lesson)}</h1>
<p>{html.escape(results.summary())}. Emulated roots run ARM code under qemu on a PC: their timings
say nothing about a Pi. Simulated Pis scale this machine's timings by an assumed factor.</p>
{device_results.table_html(device_results.table(results))}
<h2>Flagged (not counted)</h2>
<p>A report whose model matches nothing the student built, or whose device facts contradict each
other. A flag is a reason to talk, not a verdict.</p>
{device_results.flagged_html(results)}
</body></html>
""")
    return path


def report_device_results(lesson: str, root: Path | str | None = None,
                          html_path: Path | str | None = None) -> str:
    """For ``python -m grader report``: '' when the lesson's submissions hold no device report;
    else the summary, and the HTML page written (default ``device-results-<lesson>.html``)."""
    if not has_reports(lesson, root):
        return ""
    results = class_results(lesson, root)
    path = write_html(results, lesson, html_path or Path(f"device-results-{lesson}.html"))
    return f"{summary(results)}\n{path}"
