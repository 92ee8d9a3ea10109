"""``python -m grader``: release, autograde, feedback, report (and classgen for tests/benchmarks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--root", type=Path, default=None,
                        help="course root (default: $EDGELAB_COURSE_ROOT, else the repository)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="student versions of lessons in release/, validated")
    p.add_argument("lessons", nargs="*", help="default: every lesson")
    p.add_argument("--no-check", action="store_true", help="skip nbgrader validate (leak check still runs)")

    p = sub.add_parser("autograde", help="autograde submitted/<student>/<lesson>/ in sandboxes, in parallel")
    p.add_argument("lesson")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--student", action="append", default=None, help="only these students (repeatable)")
    p.add_argument("--wall-seconds", type=float, default=900.0, help="per notebook")
    p.add_argument("--cell-seconds", type=float, default=300.0, help="per cell")
    p.add_argument("--memory-mb", type=int, default=3072,
                   help="memory of each submission's kernel and everything it starts (cgroup)")
    p.add_argument("--processes", type=int, default=512, help="processes and threads per submission")
    p.add_argument("--cpus", type=float, default=1.0, help="CPUs per submission")

    p = sub.add_parser("feedback", help="feedback HTML in feedback/, hidden tests removed")
    p.add_argument("lesson")
    p.add_argument("--student", default=None)

    p = sub.add_parser("report", help="grades CSV and class report (HTML + PNG)")
    p.add_argument("lesson")
    p.add_argument("--csv", type=Path, default=Path("grades.csv"))
    p.add_argument("--html", type=Path, default=None, help="default: report-<lesson>.html")

    p = sub.add_parser("cgroups", help="as root: delegate cgroups to a user who grades without root")
    p.add_argument("--delegate", metavar="USER", required=True)

    p = sub.add_parser("classgen", help="generate a test class of submissions (honest and hostile)")
    p.add_argument("lesson")
    p.add_argument("--size", type=int, default=30)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    from grader.autograde import course_root

    root = course_root(args.root)
    try:
        return _run(args, root)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, root: Path) -> int:
    if args.command == "release":
        from grader.release import release

        problems = release(root, args.lessons or None, check=not args.no_check)
        for lesson, found in problems.items():
            print(f"{lesson}: {'OK' if not found else 'PROBLEMS'}")
            for item in found:
                print(f"  {item}")
        return 1 if any(problems.values()) else 0
    if args.command == "autograde":
        from grader.autograde import EnvironmentBroken, autograde, runs_summary
        from grader.bubblewrap import SandboxUnavailable
        from grader.cgroups import CgroupsUnavailable
        from grader.sandbox import Limits

        limits = Limits(wall_seconds=args.wall_seconds, cell_seconds=args.cell_seconds,
                        cpu_seconds=int(args.wall_seconds), memory_bytes=args.memory_mb * 2**20,
                        processes=args.processes, cpus=args.cpus)
        try:
            result = autograde(args.lesson, root, workers=args.workers, limits=limits, students=args.student)
        except (EnvironmentBroken, SandboxUnavailable, CgroupsUnavailable) as exc:
            print(f"NOTHING GRADED: {exc}", file=sys.stderr)
            return 3
        print(runs_summary(result))
        total = sum(result.max_scores.values())
        for student, scores in sorted(result.scores.items()):
            print(f"{student:<24} {sum(v or 0 for v in scores.values()):g} / {total:g}")
        print(f"{len(result.scores)} submissions graded in {result.seconds:.1f} s "
              f"(the lesson's own solution checked first: {result.preflight_seconds:.1f} s)")
        for student, found in sorted(result.flags.items()):
            first = found[0]
            print(f"FLAGGED FOR REVIEW {student}: {len(found)} line(s) aimed at the grader, e.g. "
                  f"cell {first['cell']} line {first['line']}: {first['text']} ({first['reason']})")
        for student, why in sorted(result.could_not_run.items()):
            print(f"NOT GRADED (could not run) {student}: {why[-500:]}", file=sys.stderr)
        for student, why in sorted(result.failures.items()):
            print(f"NOT GRADED {student}: {why[-500:]}", file=sys.stderr)
        return 1 if result.failures or result.could_not_run else 0
    if args.command == "cgroups":
        from grader.cgroups import delegate

        for folder in delegate(args.delegate):
            print(folder)
        return 0
    if args.command == "feedback":
        from grader.feedback import generate_feedback

        print(generate_feedback(args.lesson, root, args.student))
        return 0
    if args.command == "report":
        from grader.report import class_report, export_csv, summary, write_html

        report = class_report(args.lesson, root)
        print(summary(report))
        print(export_csv(args.csv, root))
        print(write_html(report, args.html or Path(f"report-{args.lesson}.html")))
        from grader.device_results import report_device_results

        if devices := report_device_results(args.lesson, root):
            print(devices)
        return 0
    from grader.classgen import make_class

    students = make_class(args.lesson, root, size=args.size)
    print(f"{len(students)} submissions in {root / 'submitted'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
