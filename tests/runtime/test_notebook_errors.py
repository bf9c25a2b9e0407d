"""A failing cell shows its exception in a notebook run as nbconvert and nbgrader run it (nbclient), after
the SageMaker SDK is imported: the SDK installs rich's traceback hook, which labcloud takes back out."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def run(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    return nb


def error_of(cell) -> dict:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors, f"the failing cell recorded no error: {cell.outputs}"
    return errors[0]


def test_an_error_after_the_sdk_import_shows_its_type_and_message(labcloud_server):
    nb = run(["import labcloud\nlabcloud.start(quiet=True)",
              "import sagemaker",
              "raise ValueError('the channel name must be train')",
              "import sagemaker.workflow.pipeline\n{}['missing']"])
    for cell, (name, words) in zip(nb.cells[2:], [("ValueError", "the channel name must be train"),
                                                  ("KeyError", "missing")]):
        error = error_of(cell)
        assert error.ename == name and words in error.evalue, error
        assert error.traceback, error
        assert not any("showtraceback" in o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_an_sdk_imported_before_labcloud_starts_shows_errors_too(labcloud_server):
    nb = run(["import sagemaker\nimport labcloud\nlabcloud.start(quiet=True)",
              "1 / 0"])
    assert error_of(nb.cells[1]).ename == "ZeroDivisionError"
