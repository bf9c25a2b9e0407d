"""Sphinx extension: the book's lab pages, as learners receive the labs.

For every `labs/<lab>/<lab>.ipynb` (an instructor notebook: nbgrader solution regions, visible and
hidden tests) this writes `book/labs/<lab>.ipynb` before Sphinx looks for its sources:

1. the instructor notebook runs top to bottom in a scratch copy of its lab folder (any cell error
   stops the build), so the guided cells show real outputs from labcloud;
2. nbgrader's own preprocessors then turn it into the student view: solution regions become the
   release stub, hidden-test regions go, written answers show the release text; answer and test
   cells (and any cell they changed) lose their outputs, so neither solution code, nor its results,
   nor hidden tests reach the site. The cells keep the release's nbgrader metadata (grade ids, points,
   locks, checksums), so the notebook a learner downloads from the page is one the autograder grades.

A page is regenerated only when its lab folder, the course's nbgrader configuration or this file
changed (a fingerprint is stored beside it); delete `book/` to force a fresh run. The generated
notebook is marked not to be executed again by myst-nb.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

OUTPUT_DIR = Path("book") / "labs"
NBGRADER_CONFIG = Path("autograder") / "nbgrader_config.py"
# Files in a lab folder that do not shape the lab (same spirit as nbgrader's CourseDirectory.ignore).
IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
IGNORED_SUFFIXES = {".pyc"}

STUDENT_VIEW_NOTE = (
    "```{note}\n"
    "This page is the lab as learners receive it, run against labcloud: guided cells show their "
    "output; each answer cell shows the stub you replace with your own code, and the tests you can "
    "see are the ones you can run yourself. To do the lab, download this notebook (the download "
    "button at the top of the page, `.ipynb`) into the lab's folder, `labs/<lab>/` of the course's "
    "files, and open it with `jupyter lab`. It is the notebook you hand in: submit it the way your "
    "instructor says (your LMS, or nbgrader's Assignments tab); the autograder grades it as it is.\n"
    "```"
)


def lab_sources(srcdir: Path) -> list[Path]:
    """Every instructor notebook `labs/<lab>/<lab>.ipynb`, sorted by lab name."""
    labs_dir = srcdir / "labs"
    if not labs_dir.is_dir():
        return []
    return sorted(p / f"{p.name}.ipynb" for p in labs_dir.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _lab_files(lab_dir: Path) -> list[Path]:
    files = []
    for path in sorted(lab_dir.rglob("*")):
        rel = path.relative_to(lab_dir)
        if any(part in IGNORED_NAMES for part in rel.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if path.is_file():
            files.append(path)
    return files


def fingerprint(lab_dir: Path, nbgrader_config: Path, labcloud_dir: Path | None = None) -> str:
    """What a lab page depends on: the lab's files, the grading configuration, this extension, and the
    labcloud code the lab runs against (a change there must re-run the lab, not reuse its old outputs)."""
    digest = hashlib.sha256()
    platform = sorted(labcloud_dir.rglob("*.py")) if labcloud_dir and labcloud_dir.is_dir() else []
    for path in [*_lab_files(lab_dir), nbgrader_config, Path(__file__), *platform]:
        label = path.relative_to(labcloud_dir.parent) if path in platform else Path(path.name)
        digest.update(label.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_nbgrader_config(path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def execute_lab(source: Path, timeout: int | None) -> nbformat.NotebookNode:
    """Run the instructor notebook in a scratch copy of its lab folder; raise on any cell error."""
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    with tempfile.TemporaryDirectory(prefix=f"lab-{source.stem}-") as scratch:
        workdir = Path(scratch) / source.parent.name
        shutil.copytree(source.parent, workdir, ignore=shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc"))
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=kernel,
            allow_errors=False,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
    return nb


def student_view(nb: nbformat.NotebookNode, config, lab: str) -> nbformat.NotebookNode:
    """The notebook as nbgrader's release would give it, keeping outputs only where nothing changed."""
    from nbgrader.preprocessors import (ClearHiddenTests, ClearMarkScheme, ClearSolutions, ComputeChecksums,
                                        LockCells)

    view = copy.deepcopy(nb)
    before = [cell.source for cell in view.cells]
    resources: dict = {}
    # As nbgrader's release runs them (less the outputs, which guided cells keep): locks, stubs, no hidden
    # tests or mark schemes, then the checksums of what the learner receives.
    for preprocessor in (LockCells, ClearSolutions, ClearHiddenTests, ClearMarkScheme, ComputeChecksums):
        view, resources = preprocessor(config=config).preprocess(view, resources)
    if len(view.cells) != len(before):
        raise ExtensionError(f"lab {lab}: nbgrader changed the number of cells; cannot map outputs")

    for cell, original in zip(view.cells, before):
        # Answer and test cells lose their outputs: they came from the solution, not from the stub
        # a learner starts with (a test's output may even print what the answer should be).
        graded = cell.metadata.get("nbgrader", {})
        changed = cell.source != original
        if cell.cell_type == "code" and (graded.get("solution") or graded.get("grade") or changed):
            cell.outputs = []
            cell.execution_count = None

        elif cell.cell_type == "code":
            cell.outputs = _without_progress_marks(cell.outputs)

    view.cells = _with_check_labels(view.cells)

    # The note goes under the page title (the first cell, when it is a "# " heading).
    first = view.cells[0] if view.cells else None
    titled = first is not None and first.cell_type == "markdown" and first.source.startswith("# ")
    position = 1 if titled else 0
    view.cells.insert(position, nbformat.v4.new_markdown_cell(STUDENT_VIEW_NOTE.replace("<lab>", lab)))
    view.metadata.pop("celltoolbar", None)
    # Outputs are final: myst-nb must render them, not run the stubs.
    view.metadata["mystnb"] = {"execution_mode": "off"}
    return view


_PROGRESS_MARK = re.compile(r"[-!.*]+")


def _without_progress_marks(outputs: list) -> list:
    """The SDK's waits print "-", "." and "!" as a job or endpoint progresses: a reader of the page gets
    nothing from them, so stream outputs lose the lines made of them alone (and empty streams go)."""
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream":
            lines = [line for line in out.get("text", "").splitlines(keepends=True)
                     if not _PROGRESS_MARK.fullmatch(line.strip())]
            if not "".join(lines).strip():
                continue
            out = copy.deepcopy(out)
            out["text"] = "".join(lines)
        kept.append(out)
    return kept


def check_label(cell) -> str:
    """The line above a test cell that says what it is: a check, and what it is worth."""
    points = float(cell.metadata["nbgrader"].get("points") or 0)
    return (f"**Check ({points:g} point{'' if points == 1 else 's'})**: run the cell below; it passes "
            f"silently when your answer is right. The autograder runs it again, with checks of its own.")


def _with_check_labels(cells: list) -> list:
    """The cells with a label before each test cell (a markdown cell nbgrader grades as nothing)."""
    labelled = []
    for cell in cells:
        graded = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and graded.get("grade") and not graded.get("solution"):
            labelled.append(nbformat.v4.new_markdown_cell(check_label(cell)))
        labelled.append(cell)
    return labelled


def build_lab_page(source: Path, output: Path, config, timeout: int | None) -> None:
    lab = source.stem
    logger.info(f"[lab_pages] running lab {lab} ...")
    try:
        executed = execute_lab(source, timeout)
    except Exception as exc:  # nbclient's CellExecutionError, a timeout, a dead kernel
        raise ExtensionError(f"lab {lab}: the instructor notebook failed to run:\n{exc}") from exc
    view = student_view(executed, config, lab)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".ipynb.partial")
    nbformat.write(view, partial)
    os.replace(partial, output)


def generate_lab_pages(app: Sphinx, config) -> None:
    srcdir = Path(app.srcdir)
    config_path = srcdir / NBGRADER_CONFIG
    nbgrader_config = load_nbgrader_config(config_path)
    site_map = getattr(config, "external_site_map", None)  # set by sphinx-external-toc from _toc.yml
    for source in lab_sources(srcdir):
        docname = (OUTPUT_DIR / source.stem).as_posix()
        if site_map is not None and docname not in site_map:
            logger.info(f"[lab_pages] {source.stem}: not in _toc.yml, no page")
            continue
        output = srcdir / OUTPUT_DIR / source.name
        stamp = output.with_suffix(".sha256")
        wanted = fingerprint(source.parent, config_path, srcdir / "labcloud")
        if output.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
            logger.info(f"[lab_pages] {source.stem}: up to date")
            continue
        build_lab_page(source, output, nbgrader_config, config.nb_execution_timeout)
        stamp.write_text(wanted + "\n")


def setup(app: Sphinx) -> dict:
    # After sphinx-external-toc has read _toc.yml (priority 900) and before Sphinx lists its sources:
    # only the lab pages the table of contents lists are generated (and run).
    app.connect("config-inited", generate_lab_pages, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
