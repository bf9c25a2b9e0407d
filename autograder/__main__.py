"""`python -m autograder release|autograde|export|feedback`: the instructor's commands, run from the
repository root. Each wraps nbgrader's Python API with the course configuration (nbgrader_config.py)."""
from __future__ import annotations

import argparse
import sys

from autograder import course


def _labs(api, requested: list[str]) -> list[str]:
    known = course.lab_names(course.course_root(api))
    unknown = [lab for lab in requested if lab not in known]
    if unknown:
        raise SystemExit(f"unknown lab(s): {', '.join(unknown)}; the labs are: {', '.join(known) or 'none'}")
    return requested or known


def cmd_release(api, args) -> int:
    for lab in _labs(api, args.labs):
        folder = course.release(api, lab)
        print(f"released {lab} -> {folder}")
    return 0


def cmd_autograde(api, args) -> int:
    status = 0
    for lab in _labs(api, args.labs):
        students = args.student or course.submitted_students(api, lab)
        if not students:
            print(f"{lab}: no submissions in {course.submitted_path(api, lab, '<student>')}")
        for student in students:
            try:
                report = course.autograde(api, lab, student)
            except course.GradingError as err:  # one broken submission must not stop the others
                print(f"{lab} / {student}: could not be graded: {err}")
                status = 2
                continue
            print(report)
            if report.unexpected_errors:
                status = max(status, 1)
    return status


def cmd_export(api, args) -> int:
    print(f"grades written to {course.export_csv(api, args.to)}")
    return 0


def cmd_feedback(api, args) -> int:
    for lab in _labs(api, args.labs):
        folder = course.feedback(api, lab)
        print(f"feedback for {lab} in {folder}")
    print("Warning: the feedback HTML shows the source of the hidden tests. Release it only when "
          "the hidden tests no longer need to stay hidden.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    parser.add_argument("--course-root", help="course folder (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student version of labs into autograder/release/")
    p.add_argument("labs", nargs="*", help="lab names (default: all labs)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("autograde", help="grade autograder/submitted/<student>/<lab>/<lab>.ipynb")
    p.add_argument("labs", nargs="*", help="lab names (default: all labs)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("export", help="write every grade to a CSV file")
    p.add_argument("--to", default="grades.csv", help="CSV file to write (default: grades.csv)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("feedback", help="HTML feedback for autograded submissions (shows hidden tests)")
    p.add_argument("labs", nargs="*", help="lab names (default: all labs)")
    p.set_defaults(func=cmd_feedback)

    args = parser.parse_args(argv)
    api = course.open_api(args.course_root)
    try:
        return args.func(api, args)
    except course.GradingError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
