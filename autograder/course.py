"""The course's nbgrader operations, through nbgrader's Python API (in-process: no 4 s start-up per
command). Used by `python -m autograder` and by the tests.

A lab is `labs/<lab>/<lab>.ipynb` plus its assets; in nbgrader's words the lab is an assignment and the
notebook its only notebook.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = Path(__file__).resolve().with_name("nbgrader_config.py")
REPO_ROOT = CONFIG_FILE.parent.parent

# Errors a submission may raise without it being a grading problem: an unanswered stub raises
# NotImplementedError; a test cell may fail any way it likes (that is what it is for).
ANSWER_CELL_ERRORS = {"NotImplementedError"}


class GradingError(RuntimeError):
    """nbgrader could not do what was asked; the message carries its log."""


def _ensure_tools_on_path() -> None:
    # nbgrader runs the `alembic` program to migrate the gradebook: it sits beside this Python.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


class _HideExchangeProbe(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Unwritable directory" not in record.getMessage()


def load_config(root: str | os.PathLike | None = None) -> Config:
    """The course configuration; with `root`, a course folder elsewhere (e.g. a test's tmp_path)."""
    loader = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent))
    config = loader.load_config()
    if root is not None:
        root = Path(root).resolve()
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.db_url = "sqlite:///" + str(root / "autograder" / "gradebook.db")
    return config


def open_api(root: str | os.PathLike | None = None):
    """An NbGraderAPI for the course at `root` (default: this repository)."""
    _ensure_tools_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(root)
    coursedir = CourseDirectory(config=config)
    # The gradebook lives in autograder/; sqlite creates the file, not its folder.
    (Path(coursedir.root) / "autograder").mkdir(parents=True, exist_ok=True)
    # The course hands notebooks out and in by files, not through nbgrader's exchange folder; the
    # API probes that folder at start-up and logs a CRITICAL line when it is missing. Hide that line.
    traitlets_log = logging.getLogger("traitlets")
    hide = _HideExchangeProbe()
    traitlets_log.addFilter(hide)
    try:
        return NbGraderAPI(coursedir=coursedir, config=config)
    finally:
        traitlets_log.removeFilter(hide)


def course_root(api) -> Path:
    return Path(api.coursedir.root)


def lab_names(root: str | os.PathLike | None = None) -> list[str]:
    """Every lab: a folder `labs/<lab>/` holding `<lab>.ipynb`."""
    labs_dir = Path(root or REPO_ROOT) / "labs"
    if not labs_dir.is_dir():
        return []
    return sorted(p.name for p in labs_dir.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _check(result: dict, what: str) -> dict:
    if not result.get("success"):
        raise GradingError(f"{what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")
    return result


def release(api, lab: str) -> Path:
    """Generate the student version of a lab (nbgrader generate_assignment) and return its folder."""
    _check(api.generate_assignment(lab, force=True, create=True), f"releasing {lab}")
    folder = Path(api.coursedir.format_path(api.coursedir.release_directory, ".", lab))
    # The last guard: nothing of a solution or a hidden test may leave with the release, whatever file
    # it came in.
    from autograder import leaks

    source = course_root(api) / api.coursedir.source_directory / lab / f"{lab}.ipynb"
    problems = leaks.scan(folder, leaks.secret_lines(source, api.config))
    if problems:
        raise GradingError(f"the release of {lab} in {folder} holds solution or hidden-test lines; nothing "
                           f"was wrong with nbgrader, but a file beside the notebook carries them:\n"
                           + "\n".join(problems[:20]))
    return folder


def submitted_path(api, lab: str, student: str) -> Path:
    """Where a student's submission of a lab goes: autograder/submitted/<student>/<lab>/<lab>.ipynb."""
    folder = Path(api.coursedir.format_path(api.coursedir.submitted_directory, student, lab))
    return folder / f"{lab}.ipynb"


def submitted_students(api, lab: str) -> list[str]:
    base = course_root(api) / api.coursedir.submitted_directory
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / lab / f"{lab}.ipynb").is_file())


@dataclass
class GradeReport:
    """One autograded submission: its score, and anything that went wrong outside the tests."""

    lab: str
    student: str
    score: float
    max_score: float
    autograded_score: float  # code (test) cells only: what the autograder alone decides
    autograded_max: float
    needs_manual_grade: bool
    unexpected_errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        line = f"{self.student:20} {self.lab:24} {self.score:g}/{self.max_score:g}"
        if self.needs_manual_grade:
            line += "  (needs manual grading)"
        for err in self.unexpected_errors:
            line += f"\n    grading error: {err}"
        return line


def autograded_notebook(api, lab: str, student: str) -> Path:
    folder = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, lab))
    return folder / f"{lab}.ipynb"


def unexpected_errors(nb) -> list[str]:
    """Errors in an autograded notebook that are not a test failing or an unanswered stub.

    A guided cell that crashes, or an answer cell raising something other than NotImplementedError,
    means the notebook did not run as the lab intends: a grading problem, whatever the score says.
    """
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if meta.get("grade") and not meta.get("solution"):
                continue  # a test cell: failing is its job
            if meta.get("solution") and out.get("ename") in ANSWER_CELL_ERRORS:
                continue
            kind = meta.get("grade_id") or f"cell {index}"
            problems.append(f"{kind}: {out.get('ename')}: {out.get('evalue')}")
    return problems


def report(api, lab: str, student: str) -> GradeReport:
    """The gradebook's view of one submission, plus unexpected errors found in the graded notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        submission = gb.find_submission(lab, student)
        autograded_score = autograded_max = 0.0
        undecided = []
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell_type == "code":
                    autograded_score += grade.score
                    autograded_max += grade.max_score
                    if grade.needs_manual_grade:
                        # nbgrader could not score a test cell by itself: a grading problem.
                        undecided.append(f"{grade.name}: test cell needs manual grading")
        result = GradeReport(
            lab=lab,
            student=student,
            score=float(submission.score),
            max_score=float(submission.max_score),
            autograded_score=autograded_score,
            autograded_max=autograded_max,
            needs_manual_grade=bool(submission.needs_manual_grade),
        )
    path = autograded_notebook(api, lab, student)
    if path.is_file():
        result.unexpected_errors = undecided + unexpected_errors(nbformat.read(path, as_version=4))
    else:
        result.unexpected_errors = undecided + [f"no autograded notebook at {path}"]
    return result


def autograde(api, lab: str, student: str) -> GradeReport:
    """Autograde one submission (it must already be at submitted_path) and report on it."""
    _check(api.autograde(lab, student, force=True, create=True), f"autograding {student}/{lab}")
    return report(api, lab, student)


def feedback(api, lab: str) -> Path:
    """HTML feedback for every autograded submission of a lab. It shows the hidden tests' source."""
    _check(api.generate_feedback(lab, force=True), f"generating feedback for {lab}")
    return course_root(api) / api.coursedir.feedback_directory


def export_csv(api, destination: str | os.PathLike) -> Path:
    """All grades of all labs as one CSV (nbgrader's CSV exporter)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    destination = Path(destination).resolve()
    plugin = CsvExportPlugin(to=str(destination))
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        plugin.export(gb)
    return destination
