"""The nbgrader round trip for every lab, on a copy of the course in a temporary folder.

For each labs/<lab>/<lab>.ipynb: the release carries no solution and no hidden test; the instructor
notebook scores full marks; the released notebook scores 0 without any grading error; a notebook
with one answer left as its stub scores strictly between. Notebooks run for real on labcloud.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import course, leaks
from tests.support.grading import released_course, submit

REPO = Path(__file__).resolve().parents[2]
LABS = course.lab_names(REPO)


@pytest.fixture(scope="module")
def api(labcloud_server, tmp_path_factory):
    """A course folder holding a copy of labs/, with every lab released."""
    return released_course(tmp_path_factory.mktemp("course"), LABS)


def instructor_notebook(lab: str) -> Path:
    return REPO / "labs" / lab / f"{lab}.ipynb"


def released_notebook(api, lab: str) -> Path:
    return Path(api.coursedir.format_path(api.coursedir.release_directory, ".", lab)) / f"{lab}.ipynb"


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.mark.parametrize("lab", LABS)
def test_release_has_no_solution_and_no_hidden_test(api, lab):
    secrets = leaks.secret_lines(instructor_notebook(lab))
    assert secrets, "the instructor notebook should have solution or hidden-test lines to hide"
    release_dir = released_notebook(api, lab).parent
    assert leaks.scan(release_dir, secrets) == []
    released = nbformat.read(released_notebook(api, lab), as_version=4)
    assert all(not cell.get("outputs") for cell in released.cells if cell.cell_type == "code")


@pytest.mark.parametrize("lab", LABS)
def test_instructor_notebook_scores_full_marks(api, lab):
    submit(api, lab, "instructor", nbformat.read(instructor_notebook(lab), as_version=4))
    report = course.autograde(api, lab, "instructor")
    assert report.autograded_max > 0
    assert report.autograded_score == report.autograded_max, str(report)
    assert report.unexpected_errors == []
    graded = nbformat.read(course.autograded_notebook(api, lab, "instructor"), as_version=4)
    errors = [(grade_id(c), o.get("ename")) for c in graded.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == [], "the instructor notebook must run without any error"


@pytest.mark.parametrize("lab", LABS)
def test_released_notebook_scores_zero_without_grading_errors(api, lab):
    submit(api, lab, "unanswered", nbformat.read(released_notebook(api, lab), as_version=4))
    report = course.autograde(api, lab, "unanswered")
    assert report.autograded_max > 0
    assert report.score == 0, str(report)
    assert report.unexpected_errors == [], str(report)


@pytest.mark.parametrize("lab", LABS)
def test_one_unanswered_cell_scores_partial_marks(api, lab):
    released = {grade_id(c): c for c in nbformat.read(released_notebook(api, lab), as_version=4).cells}
    nb = nbformat.read(instructor_notebook(lab), as_version=4)
    answers = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert answers, "the lab has no answer cell"
    last = answers[-1]  # the last answer: the one whose stub should cost some points, not all
    nb.cells[last].source = released[grade_id(nb.cells[last])].source
    submit(api, lab, "partial", nb)
    report = course.autograde(api, lab, "partial")
    assert 0 < report.autograded_score < report.autograded_max, str(report)
    assert report.unexpected_errors == [], str(report)


def test_unexpected_errors_tell_test_failures_from_grading_problems():
    def cell(source, ename, **nbgrader):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = nbgrader
        c.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="x", traceback=[])]
        return c

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell("raise NotImplementedError", "NotImplementedError", solution=True, grade=False, grade_id="a"),
        cell("assert False", "AssertionError", solution=False, grade=True, grade_id="t"),
        cell("x.fit()", "NameError", solution=True, grade=False, grade_id="b"),
        cell("print(model)", "NameError"),
    ]
    problems = course.unexpected_errors(nb)
    assert problems == ["b: NameError: x", "cell 3: NameError: x"]


def _lab_copy(tmp_path: Path, lab: str) -> Path:
    root = tmp_path / "course"
    shutil.copytree(REPO / "labs" / lab, root / "labs" / lab,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", "data", "*.py"))
    for asset in (REPO / "labs" / lab).glob("*.py"):  # committed assets only
        if asset.name not in ("train.py", "preprocess_inference.py"):
            shutil.copy(asset, root / "labs" / lab / asset.name)
    return root


def _written_answer_files(lab: str) -> dict[str, str]:
    """What running the instructor notebook in place writes with its %%writefile cells."""
    files = {}
    for cell in nbformat.read(instructor_notebook(lab), as_version=4).cells:
        first, _, rest = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%writefile"):
            files[first.split()[-1]] = rest
    return files


@pytest.mark.parametrize("lab", LABS)
def test_files_a_lab_writes_in_place_are_not_released(tmp_path, lab):
    root = _lab_copy(tmp_path, lab)
    written = _written_answer_files(lab)
    for name, text in written.items():
        (root / "labs" / lab / name).write_text(text)
    (root / "labs" / lab / "data").mkdir()
    (root / "labs" / lab / "data" / "train.csv").write_text("1,2\n")
    folder = course.release(course.open_api(root), lab)
    shipped = {p.relative_to(folder).as_posix() for p in folder.rglob("*")}
    assert not shipped & set(written), shipped
    assert not any(name == "data" or name.startswith("data/") for name in shipped), shipped


def test_a_release_that_would_carry_a_solution_line_fails(tmp_path):
    lab = "spot-training"
    root = _lab_copy(tmp_path, lab)
    secret = next(iter(leaks.secret_lines(instructor_notebook(lab))))
    (root / "labs" / lab / "NOTES.md").write_text(f"draft answer:\n{secret}\n")
    with pytest.raises(course.GradingError, match="holds solution or hidden-test lines"):
        course.release(course.open_api(root), lab)


def test_one_broken_submission_does_not_stop_the_others(api, capsys):
    from autograder.__main__ import main

    lab = "spot-training"
    broken = course.submitted_path(api, lab, "aaron")
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"cells": [')  # a notebook cut short
    submit(api, lab, "zoe", nbformat.read(released_notebook(api, lab), as_version=4))
    status = main(["--course-root", str(course.course_root(api)), "autograde", lab,
                   "--student", "aaron", "--student", "zoe"])
    out = capsys.readouterr().out
    assert status == 2
    assert "aaron: could not be graded" in out
    assert "zoe" in out.split("aaron: could not be graded", 1)[1]
