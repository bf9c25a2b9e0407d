"""Each lab's kept submissions (tests/course/submissions/): wrong answers lose the points they should
and right answers that differ from the reference get full marks, run for real under the autograder."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import course
from tests.course.submissions import SUBMISSIONS
from tests.support.grading import released_course, submit

REPO = Path(__file__).resolve().parents[2]
CASES = [(lab, submission) for lab, kept in SUBMISSIONS.items() for submission in kept]


@pytest.fixture(scope="module")
def api(labcloud_server, tmp_path_factory):
    """A course folder holding the labs that keep submissions, each released."""
    return released_course(tmp_path_factory.mktemp("kept"), list(SUBMISSIONS))


def test_every_kept_submission_edits_answer_cells_of_its_lab():
    for lab, kept in SUBMISSIONS.items():
        nb = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
        for submission in kept:
            assert submission.edits, f"{lab}/{submission.name} changes nothing"
            for grade_id, edit in submission.edits.items():
                assert grade_id in answers, f"{lab}/{submission.name}: {grade_id} is not an answer cell"
                assert edit(answers[grade_id]) != answers[grade_id], f"{lab}/{submission.name}: {grade_id} unchanged"


@pytest.mark.parametrize(("lab", "submission"), CASES, ids=[f"{lab}/{s.name}" for lab, s in CASES])
def test_a_kept_submission_gets_its_score(api, lab, submission):
    nb = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in submission.edits:
            cell.source = submission.edits[grade_id](cell.source)
    submit(api, lab, submission.name, nb)
    report = course.autograde(api, lab, submission.name)
    assert report.unexpected_errors == [], str(report)
    assert report.autograded_score == submission.score, f"{submission.why}\n{report}"


def _solution(instructor_source: str) -> str:
    """An answer cell's solution as a learner would type it: the code between nbgrader's markers."""
    lines = instructor_source.splitlines()
    if "### BEGIN SOLUTION" not in instructor_source:
        return instructor_source
    kept, inside = [], False
    for line in lines:
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif inside or not line.strip().startswith("raise NotImplementedError"):
            kept.append(line)
    return "\n".join(kept)


@pytest.mark.parametrize("lab", list(SUBMISSIONS))
def test_the_notebook_a_lab_page_offers_scores_full_marks_once_completed(site, api, lab):
    """A learner who downloads the notebook from the book, answers every cell right and hands it in gets
    every autograded point: the page's notebook carries the release's nbgrader metadata."""
    instructor = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: _solution(c.source) for c in instructor.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    downloaded = nbformat.read(site / "_sources" / "book" / "labs" / f"{lab}.ipynb", as_version=4)
    filled = 0
    for cell in downloaded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source, filled = answers[grade_id], filled + 1
    assert filled == len(answers), "the page's notebook lost the grade ids of its answer cells"
    submit(api, lab, "from-the-book", downloaded)
    report = course.autograde(api, lab, "from-the-book")
    assert report.unexpected_errors == [], str(report)
    assert report.autograded_max > 0 and report.autograded_score == report.autograded_max, str(report)
