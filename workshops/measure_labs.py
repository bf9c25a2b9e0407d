"""Time each lab's instructor notebook run top to bottom, as grading runs it, and size its reading.

    python workshops/measure_labs.py [LAB ...] [--json FILE]

Each lab folder is copied to a temporary folder and its notebook executed there with nbclient (the
`python3` kernel, a 600 s cell timeout, as autograder/nbgrader_config.py sets), on a free port so the
notebook starts its own labcloud as a learner's first run does. The figure is wall-clock time on this
machine, start-up of the kernel and labcloud included. It also counts what a learner reads (words of the
markdown cells) and writes (answer cells, their solution lines), from which the guide estimates working time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import course  # noqa: E402
from labcloud.platform.ports import free_port  # noqa: E402


def size(notebook) -> dict:
    words = sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
    answers = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    solution_lines = 0
    for cell in answers:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and line.strip():
                solution_lines += 1
    written = sum(1 for c in answers if c.cell_type == "markdown")
    return {"markdown_words": words, "answer_cells": len(answers), "written_answers": written,
            "solution_lines": solution_lines, "cells": len(notebook.cells)}


def run(lab: str) -> dict:
    notebook_path = REPO / "labs" / lab / f"{lab}.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    figures = {"lab": lab, **size(notebook)}
    with tempfile.TemporaryDirectory(prefix=f"measure-{lab}-") as folder:
        work = Path(folder) / lab
        shutil.copytree(notebook_path.parent, work)
        os.environ["LABCLOUD_PORT"] = str(free_port())
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        started = time.monotonic()
        client.execute()
        figures["run_seconds"] = round(time.monotonic() - started, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", help="default: every lab")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = [run(lab) for lab in (args.labs or course.lab_names(REPO))]
    print(f"{'lab':22} {'run s':>6} {'words':>6} {'answers':>7} {'written':>7} {'sol. lines':>10}")
    for r in rows:
        print(f"{r['lab']:22} {r['run_seconds']:6.1f} {r['markdown_words']:6d} {r['answer_cells']:7d} "
              f"{r['written_answers']:7d} {r['solution_lines']:10d}")
    print(f"load average after the runs: {os.getloadavg()[0]:.2f} (2 shared cores: the times are upper bounds)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
