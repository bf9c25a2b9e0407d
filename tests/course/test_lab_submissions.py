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
