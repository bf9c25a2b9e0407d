"""The book builds strictly, shows each lab as learners receive it, leaks no solution code and no
hidden test anywhere in the site, and needs nothing from the internet."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder import course, leaks

REPO = Path(__file__).resolve().parents[2]
LABS = course.lab_names(REPO)


def test_site_has_the_landing_page(site):
    intro = (site / "intro.html").read_text()
    assert "MLA-C01" in intro and "28%" in intro


@pytest.mark.parametrize("lab", LABS)
def test_site_leaks_no_solution_and_no_hidden_test(site, lab):
    secrets = leaks.secret_lines(REPO / "labs" / lab / f"{lab}.ipynb")
    assert secrets
    assert leaks.scan(site, secrets) == []


def is_graded(cell) -> bool:
    """An answer or test cell (as opposed to a guided cell)."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


@pytest.mark.parametrize("lab", LABS)
def test_lab_page_shows_guided_outputs_only(site, lab):
    page = site / "book" / "labs" / f"{lab}.html"
    assert page.is_file()
    shown = nbformat.read(site / "_sources" / "book" / "labs" / f"{lab}.ipynb", as_version=4)
    instructor = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
    guided_sources = {leaks.normalize(c.source) for c in instructor.cells
                      if c.cell_type == "code" and not is_graded(c)}
    with_outputs = [c for c in shown.cells if c.cell_type == "code" and c.get("outputs")]
    assert with_outputs, "the lab page shows no output at all"
    for cell in with_outputs:
        assert leaks.normalize(cell.source) in guided_sources, f"outputs shown for a non-guided cell:\n{cell.source}"
        assert all(o.output_type != "error" for o in cell.outputs)
    assert len(re.findall(r'class="cell_output', page.read_text())) == len(with_outputs)


def test_site_loads_nothing_from_the_internet(site):
    external = re.compile(r"""<(?:script|img|iframe)[^>]*\ssrc=["']https?://"""
                          r"""|<link[^>]*\shref=["']https?://|@import\s+url\(["']?https?://""")
    offenders = []
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css"}:
            text = path.read_text(errors="replace")
            offenders += [f"{path.relative_to(site)}: {m.group(0)}" for m in external.finditer(text)]
    assert offenders == []


def test_leak_scanner_sees_through_html_rendering(tmp_path):
    """A rendered instructor notebook must trip the scanner, or the scans above prove nothing."""
    from nbconvert import HTMLExporter

    notebooks = [REPO / "labs" / lab / f"{lab}.ipynb" for lab in LABS]
    if not notebooks:
        pytest.skip("no lab yet")
    for notebook in notebooks:
        body, _ = HTMLExporter().from_filename(str(notebook))
        (tmp_path / "page.html").write_text(body)
        secrets = leaks.secret_lines(notebook)
        found = leaks.scan(tmp_path, secrets)
        assert len([p for p in found if "line" in p]) == len(secrets)


@pytest.mark.parametrize("lab", LABS)
def test_lab_pages_show_no_boxes_of_log_lines(site, lab):
    """Outputs are the cells' own: no INFO lines from botocore or the SDK repeating what the code just did,
    and none of the SDK's progress marks ("-", "!") on lines of their own."""
    shown = nbformat.read(site / "_sources" / "book" / "labs" / f"{lab}.ipynb", as_version=4)
    logged = [line for cell in shown.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              for line in str(out.get("text", "")).splitlines() if line.startswith("INFO:")]
    assert logged == [], f"{lab}: log lines on the page: {logged[:5]}"
    marks = [line for cell in shown.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
             for line in str(out.get("text", "")).splitlines() if re.fullmatch(r"[-!.*]+", line.strip())]
    assert marks == [], f"{lab}: lone progress marks on the page: {marks[:5]}"


def figure_captions(chapter: Path) -> list[str]:
    """The caption of every `{figure}` in a MyST chapter, in order: the first paragraph of the
    directive's body after its `:option:` lines, as one line."""
    captions = []
    lines = chapter.read_text().splitlines()
    for i, line in enumerate(lines):
        opening = re.match(r"\s*(`{3,}|:{3,})\{figure\}", line)
        if not opening:
            continue
        fence, body = opening.group(1), []
        for following in lines[i + 1:]:
            if following.strip() == fence:
                break
            body.append(following.strip())
        paragraph = []
        for text in body:
            if text.startswith(":") and not paragraph:
                continue
            if not text:
                if paragraph:
                    break
                continue
            paragraph.append(text)
        captions.append(" ".join(paragraph))
    return captions


def test_figure_captions_are_numbered_per_chapter():
    """Each chapter numbers its figures in its captions, "Figure 1:", "Figure 2:", ... in order, so
    that the text can say "Figure 2" and mean the one on that page."""
    wrong = []
    for chapter in sorted((REPO / "chapters").glob("*.md")):
        for number, caption in enumerate(figure_captions(chapter), start=1):
            if not caption.startswith(f"Figure {number}: "):
                wrong.append(f"{chapter.name}: figure {number} has the caption {caption[:60]!r}")
    assert wrong == []
    # Sphinx's own numbering counts across the book ("Fig. 6" before a chapter's "Figure 1"): off, and
    # Jupyter Book's LaTeX extension, which turns it back on, not loaded.
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["sphinx"]["config"]["numfig"] is False
    assert config["latex"]["use_jupyterbook_latex"] is False


def test_site_shows_only_the_chapters_own_figure_numbers(site):
    pages = sorted((site / "chapters").glob("*.html"))
    assert pages and [p.name for p in pages if 'class="caption-number"' in p.read_text()] == []
    assert '<span class="caption-text">Figure 1: ' in (site / "chapters" / "spot-training.html").read_text()


def test_figure_captions_are_read_from_the_directive_body(tmp_path):
    """The caption reader skips options and stops at the caption's end, or the test above checks nothing."""
    page = tmp_path / "page.md"
    page.write_text("```{figure} a.svg\n:alt: A\n:width: 100%\n\nFigure 1: One\nline.\n\nLegend.\n```\n\n"
                    ":::{figure} b.svg\nFigure 2: Two.\n:::\n")
    assert figure_captions(page) == ["Figure 1: One line.", "Figure 2: Two."]


def toc_files(toc: Path) -> list[str]:
    """Every file of a jb-book `_toc.yml` in reading order, the order of the book's "next" links."""
    import yaml

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections"))

    book = yaml.safe_load(toc.read_text())
    files = [book["root"]]
    for part in book.get("parts", [{"chapters": book.get("chapters")}]):
        files += walk(part.get("chapters"))
    return files


def chapter_labs(chapters: Path) -> dict[str, str]:
    """Each topic chapter and the lab it introduces as "the lab": {"chapters/x": "book/labs/y"}."""
    labs = {}
    for chapter in sorted(chapters.glob("*.md")):
        found = re.search(r"\{doc\}`the lab <\.\./(book/labs/[^>]+)>`", chapter.read_text())
        if found:
            labs[f"chapters/{chapter.stem}"] = found.group(1)
    return labs


def test_toc_puts_each_lab_next_after_its_chapter():
    """The book's "next" link goes from a topic chapter to its lab: in _toc.yml every chapter that
    introduces a lab is directly followed by that lab's page, and every lab has such a chapter."""
    files = toc_files(REPO / "_toc.yml")
    labs = chapter_labs(REPO / "chapters")
    assert sorted(labs.values()) == sorted(f"book/labs/{lab}" for lab in LABS)
    following = dict(zip(files, files[1:]))
    assert {chapter: following.get(chapter) for chapter in labs} == labs
