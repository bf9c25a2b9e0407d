"""nbgrader configuration of the course.

The course root is the repository root, so each lab's source is `labs/<lab>/<lab>.ipynb` with its
assets beside it. Everything nbgrader generates (release, submissions, grades) stays under
`autograder/`, which git ignores. nbgrader reads this file when run from this folder:

    cd autograder && nbgrader generate_assignment spot-training --force

or through `python -m autograder ...` (see autograder/README.md), which loads this same file.
"""
import glob
import json
import os
import re

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

course_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "sagemaker-mlops"
c.CourseDirectory.root = course_root
c.CourseDirectory.source_directory = "labs"
c.CourseDirectory.release_directory = os.path.join("autograder", "release")
c.CourseDirectory.submitted_directory = os.path.join("autograder", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(course_root, "autograder", "gradebook.db")


def _written_by_labs(root: str) -> list[str]:
    """Files a lab's own cells write (`%%writefile train.py`): running a lab in place leaves the
    instructor's answers in them, so they are outputs, never assets to release or to grade with."""
    names = set()
    for path in glob.glob(os.path.join(root, "labs", "*", "*.ipynb")):
        with open(path) as f:
            cells = json.load(f).get("cells", [])
        for cell in cells:
            source = "".join(cell.get("source", []))
            names.update(re.findall(r"^%%writefile\s+(?:-a\s+)?(\S+)", source, flags=re.M))
    return sorted(names)


# Besides nbgrader's defaults: what running a lab writes beside its notebook (its data folder and the
# files its cells write).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*", "data",
                            *_written_by_labs(course_root)]

# A lab cell may wait for a real (local) training job or endpoint: nbgrader's default of 30 s per
# cell is too short. This is the per-cell limit when grading.
c.Execute.timeout = 600

# What learners find in place of each solution region. The stub must fail (so an unanswered cell
# scores 0) and say what to do.
c.ClearSolutions.code_stub = {
    "python": (
        "# YOUR CODE HERE\n"
        'raise NotImplementedError("Replace this line with your code, then run the tests below.")'
    )
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
