"""What must never reach learners, and a scanner that looks for it.

From an instructor notebook: the lines of its solution regions (and written model answers), of its
hidden tests and of its mark schemes. A line the released notebook also shows (an import a guided cell
repeats, a call a hint quotes) is public anyway and is left out, as are lines too short to mean anything.
"""
from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import nbformat

MIN_CHARS = 12  # shorter lines ("return x", "else:") also occur in ordinary code
# A bare keyword argument or simple assignment (`instance_count=1`, `estimator = SKLearn(`) says
# nothing of the solution by itself: chapters and hints show the same calls.
_TRIVIAL = re.compile(r"^[\w.]+\s*=\s*[^=()\[\]{}]*$")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")

BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".inv",
                   ".pickle", ".doctree"}

_REGIONS = {
    "solution": ("BEGIN SOLUTION", "END SOLUTION"),
    "hidden test": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    "mark scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME"),
}
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_MARKUP = str.maketrans("", "", "`*")


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def comparable(text: str) -> str:
    """Text as it reads once rendered: whitespace collapsed, Markdown's ` and * marks gone (the HTML of
    a page has no backticks, its Markdown source has them)."""
    return normalize(text.translate(_MARKUP))


def _core(line: str) -> str:
    """A line without the punctuation that joins it to the next one (`f(`, `x=1,`)."""
    return comparable(line).rstrip(",;([{\\ ")


def _distinctive(line: str) -> bool:
    return len(line) >= MIN_CHARS and not _TRIVIAL.match(line)


def _region_lines(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _public_text(nb, config) -> str:
    """The notebook as nbgrader releases it, normalized (a hint may quote a line of the solution)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    released = copy.deepcopy(nb)
    resources: dict = {}
    for preprocessor in (ClearSolutions, ClearHiddenTests, ClearMarkScheme):
        released, resources = preprocessor(config=config).preprocess(released, resources)
    return "\n".join(comparable(cell.source) for cell in released.cells)


def secret_lines(notebook: Path, config=None) -> dict[str, str]:
    """{line: what it is} for the distinctive solution, hidden-test and mark-scheme lines of a notebook.

    Lines are whitespace-normalized and stripped of trailing `,;([{`, as they may render in a page."""
    if config is None:
        from autograder.course import load_config

        config = load_config()
    nb = nbformat.read(notebook, as_version=4)
    found: dict[str, str] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        for kind, (begin, end) in _REGIONS.items():
            for line in _region_lines(cell.source, begin, end):
                found.setdefault(_core(line), kind)
        if meta.get("solution") and "BEGIN SOLUTION" not in cell.source:
            # A solution cell without markers is replaced whole by the stub.
            for line in cell.source.splitlines():
                found.setdefault(_core(line), "solution")
    public = _public_text(nb, config)
    return {line: kind for line, kind in found.items() if _distinctive(line) and line not in public}


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _json_strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _json_strings(item)]
    return []


def readable_views(path: Path) -> list[str]:
    """The file's text as a reader (or a search) would see it: raw, without HTML tags, JSON-decoded."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    views = [raw]
    if path.suffix in {".html", ".htm", ".xml", ".txt", ".js"}:
        views.append(html.unescape(_TAG.sub("", raw)))
    if path.suffix in {".ipynb", ".json"}:
        try:
            strings = _json_strings(json.loads(raw))
        except ValueError:
            strings = []
        views.append("\n".join("".join(s) for s in strings))
    return [comparable(view) for view in views]


def scan(site: Path, secrets: dict[str, str]) -> list[str]:
    """Every place in the files under `site` where a secret line or an nbgrader marker shows."""
    problems = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        if path.suffix in BINARY_SUFFIXES:
            continue
        views = readable_views(path)
        for line, kind in secrets.items():
            if any(line in view for view in views):
                problems.append(f"{path.relative_to(site)}: {kind} line {line!r}")
        for marker in MARKERS:
            if any(marker in view for view in views):
                problems.append(f"{path.relative_to(site)}: nbgrader marker {marker!r}")
    return problems
