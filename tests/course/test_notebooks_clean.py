"""Committed lab notebooks carry no outputs and no execution counts (they are sources, run at build
and grading time)."""
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (REPO / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def dirty_cells(nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has execution_count {cell.execution_count}")
    return problems


def test_dirty_cells_are_detected():
    nb = nbformat.v4.new_notebook()
    result = nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    nb.cells = [nbformat.v4.new_code_cell("1 + 1", execution_count=3, outputs=[result])]
    assert dirty_cells(nb) == ["cell 0 has outputs", "cell 0 has execution_count 3"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[str(p.relative_to(REPO)) for p in NOTEBOOKS])
def test_committed_notebook_has_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert dirty_cells(nb) == [], f"clear the outputs of {notebook.relative_to(REPO)} before committing"
