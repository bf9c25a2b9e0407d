"""A course folder for grading tests: a copy of some labs, each released, and submissions written where
nbgrader looks for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import course

REPO = Path(__file__).resolve().parents[2]
COPY_IGNORES = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


def released_course(root: Path, labs: list[str]):
    """An nbgrader API for a course at `root` holding a copy of `labs`, each released."""
    for lab in labs:
        shutil.copytree(REPO / "labs" / lab, root / "labs" / lab, ignore=COPY_IGNORES)
    api = course.open_api(root)
    for lab in labs:
        course.release(api, lab)
    return api


def submit(api, lab: str, student: str, nb) -> None:
    """Hand in `nb` as `student`'s submission of `lab`."""
    path = course.submitted_path(api, lab, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
