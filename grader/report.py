"""Grades export (CSV) and a class report: per-item difficulty, score histogram, most failed items,
and the lines flagged for review (code aimed at the grader, found by :mod:`grader.flags`).

The numbers come from the nbgrader gradebook; the CSV is nbgrader's own export. The
report is one HTML page (tables plus a matplotlib figure embedded as PNG) and the
same figure as a PNG file next to it.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.autograde import course_root, flags_path, read_scores
from grader.pipeline import nbgrader


@dataclass
class ItemStats:
    """How a class did on one grade cell."""

    grade_id: str
    max_score: float
    mean_score: float
    failed: int  # students below full marks
    students: int

    @property
    def success_rate(self) -> float:
        """Mean score as a fraction of the maximum (1.0: everyone got full marks)."""
        return self.mean_score / self.max_score if self.max_score else 1.0

    @property
    def difficulty(self) -> float:
        """1 - success rate: 0.0 easy, 1.0 nobody scored."""
        return 1.0 - self.success_rate


@dataclass
class ClassReport:
    """Per-item statistics, totals per student, and the maximum total."""

    lesson: str
    items: list[ItemStats]
    totals: dict[str, float]
    max_total: float
    flags: dict[str, list[dict]] = field(default_factory=dict)  # student -> lines aimed at the grader

    def most_failed(self, n: int = 5) -> list[ItemStats]:
        """Items ordered by how many students missed full marks, then by difficulty."""
        return sorted(self.items, key=lambda i: (-i.failed, -i.difficulty, i.grade_id))[:n]


def class_report(lesson: str, root: Path | str | None = None) -> ClassReport:
    """Statistics of ``lesson`` over every graded submission in the gradebook."""
    scores, max_scores = read_scores(course_root(root), lesson)
    if not scores:
        raise ValueError(f"lesson {lesson!r} has no graded submissions: autograde first")
    items = []
    for gid, max_score in max_scores.items():
        got = [s.get(gid, 0.0) or 0.0 for s in scores.values()]
        items.append(ItemStats(grade_id=gid, max_score=max_score, mean_score=sum(got) / len(got),
                               failed=sum(1 for g in got if g < max_score), students=len(got)))
    totals = {student: sum((v or 0.0) for v in s.values()) for student, s in scores.items()}
    path = flags_path(course_root(root), lesson)
    flags = {s: f for s, f in json.loads(path.read_text()).items() if f} if path.exists() else {}
    return ClassReport(lesson=lesson, items=items, totals=totals, max_total=sum(max_scores.values()),
                       flags=flags)


def export_csv(path: Path | str, root: Path | str | None = None) -> Path:
    """Every grade in the gradebook as CSV, by nbgrader's own exporter."""
    path = Path(path).resolve()
    nbgrader(["export", f"--to={path}"], course_root(root))
    return path


def plot(report: ClassReport, path: Path | str):
    """Score histogram and per-item success rate, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (hist, bars) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    totals = list(report.totals.values())
    top = int(report.max_total + 0.999)
    bins = [b - 0.5 for b in range(top + 2)] if top <= 40 else 20
    hist.hist(totals, bins=bins, color="#4477aa", edgecolor="white")
    hist.set_xlabel(f"total score (of {report.max_total:g})")
    hist.set_ylabel("students")
    hist.set_title(f"{report.lesson}: score histogram ({len(totals)} students)")
    items = sorted(report.items, key=lambda i: i.success_rate)
    bars.barh([i.grade_id for i in items], [100 * i.success_rate for i in items], color="#ee6677")
    bars.set_xlim(0, 100)
    bars.set_xlabel("mean score, % of maximum")
    bars.set_title("items, hardest first")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def write_html(report: ClassReport, path: Path | str) -> Path:
    """The class report as one HTML page, with its figure embedded and saved beside it."""
    path = Path(path)
    png = path.with_suffix(".png")
    plot(report, png)
    image = base64.b64encode(png.read_bytes()).decode()
    rows = "\n".join(
        f"<tr><td>{html.escape(i.grade_id)}</td><td>{i.max_score:g}</td><td>{i.mean_score:.2f}</td>"
        f"<td>{100 * i.success_rate:.0f}%</td><td>{i.difficulty:.2f}</td>"
        f"<td>{i.failed} / {i.students}</td></tr>"
        for i in sorted(report.items, key=lambda i: -i.difficulty))
    failed = "\n".join(
        f"<li>{html.escape(i.grade_id)}: {i.failed} of {i.students} students below full marks</li>"
        for i in report.most_failed() if i.failed)
    students = "\n".join(f"<tr><td>{html.escape(s)}</td><td>{t:g}</td></tr>"
                         for s, t in sorted(report.totals.items()))
    flagged = "\n".join(
        f"<tr><td>{html.escape(student)}</td><td>{html.escape(str(f.get('notebook', '')))}</td>"
        f"<td>{int(f['cell'])}</td><td>{int(f['line'])}</td><td><code>{html.escape(str(f['text']))}</code></td>"
        f"<td>{html.escape(str(f['reason']))}</td></tr>"
        for student, found in sorted(report.flags.items()) for f in found)
    path.write_text(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Class report: {html.escape(report.lesson)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}} td:first-child{{text-align:left}}</style>
</head><body>
<h1>Class report: {html.escape(report.lesson)}</h1>
<p>{len(report.totals)} students, maximum {report.max_total:g} points,
mean {sum(report.totals.values()) / len(report.totals):.2f}.</p>
<img alt="score histogram and per-item success" src="data:image/png;base64,{image}">
<h2>Items by difficulty</h2>
<table><tr><th>item</th><th>max</th><th>mean</th><th>success</th><th>difficulty</th>
<th>below full marks</th></tr>
{rows}
</table>
<h2>Most often failed</h2>
<ol>{failed or "<li>none: everyone got full marks</li>"}</ol>
<h2>Flagged for review</h2>
<p>Lines of student code aimed at the grading machinery (patching libraries or IPython, values that
compare equal to anything, reading the namespace...). They gained no points: the tests ran in a
separate checker that sees answers only as plain data. A flag is a reason to talk, not a verdict.</p>
{"<table><tr><th>student</th><th>notebook</th><th>cell</th><th>line</th><th>code</th><th>why</th></tr>"
 + flagged + "</table>" if flagged else "<p>none</p>"}
<h2>Totals</h2>
<table><tr><th>student</th><th>total</th></tr>
{students}
</table>
</body></html>
""")
    return path


def summary(report: ClassReport) -> str:
    """The report as plain text lines."""
    lines = [f"{report.lesson}: {len(report.totals)} students, max {report.max_total:g}"]
    lines += [f"  {i.grade_id:<32} success {100 * i.success_rate:5.1f}%  "
              f"below full marks {i.failed}/{i.students}"
              for i in sorted(report.items, key=lambda i: -i.difficulty)]
    lines += [f"  flagged for review: {student} ({len(found)} line(s), e.g. {found[0]['text'][:60]!r}: "
              f"{found[0]['reason']})" for student, found in sorted(report.flags.items())]
    return "\n".join(lines)

