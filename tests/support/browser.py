"""What the browser test of the built site needs: the pages `_toc.yml` lists, the site served on loopback,
and headless Chromium (Debian's `chromium`, driven by Playwright's Python package) started so that it makes
no connection of its own."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

CHROMIUM = "chromium"
INSTALL_HINT = ("the browser test needs Debian's Chromium and Playwright's Python package: "
                "`apt-get install -y chromium` and `pip install -r requirements.txt` (.ci/run installs both)")
# Without the background-networking flags Chromium calls Google's hosts at start-up, which a closed
# network refuses (and which would leave the machine). Playwright gives it a fresh profile of its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"file", "data", "blob", "about"}


def chromium_path() -> str | None:
    return shutil.which(CHROMIUM) or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright's Python package is not installed; {INSTALL_HINT}"
    if chromium_path() is None:
        return f"no `chromium` on PATH; {INSTALL_HINT}"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.scheme in {"http", "https", "ws", "wss"}
                                             and parts.hostname in LOCAL_HOSTS)


@dataclass(frozen=True)
class TocPage:
    docname: str  # "chapters/spot-training", as in _toc.yml
    part: str | None  # the caption of its part ("Topics", "Labs"), None for the root

    @property
    def html(self) -> str:
        return f"{self.docname}.html"

    @property
    def stem(self) -> str:
        return self.docname.rsplit("/", 1)[-1]

    @property
    def is_lab(self) -> bool:
        return self.docname.startswith("book/labs/")

    @property
    def is_chapter(self) -> bool:
        return self.docname.startswith("chapters/")


def _without_suffix(name: str) -> str:
    for suffix in (".md", ".ipynb", ".rst"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def toc_pages(repo: Path) -> list[TocPage]:
    """Every page of the book in reading order: the root, then each part's chapters and their sections."""
    toc = yaml.safe_load((repo / "_toc.yml").read_text())
    pages = [TocPage(_without_suffix(toc["root"]), None)]

    def walk(entries, part):
        for entry in entries or []:
            if "file" in entry:
                pages.append(TocPage(_without_suffix(entry["file"]), part))
            walk(entry.get("sections"), part)
            walk(entry.get("chapters"), part)  # a nested "chapters" list, as jb-book allows
            for sub in entry.get("parts", []) or []:
                walk(sub.get("chapters"), sub.get("caption", part))

    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what went wrong; no line per request
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """The folder over HTTP on 127.0.0.1 (a free port), as a reader's web server would give it; stopped on exit."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# Elements whose text runs past the right edge of the window and that no scrolling box holds: what a
# reader on a narrow screen would have to scroll the whole page sideways for. Code blocks, outputs and
# tables scroll inside their own box, which is allowed; text must wrap.
OVERFLOWING_TEXT_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
  const found = [];
  for (const el of document.querySelectorAll("main *")) {
    if (!el.checkVisibility || !el.checkVisibility()) continue;
    // A fixed box (the drawers the theme slides in from either side) never makes the page scroll.
    let fixed = false;
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).position === "fixed") { fixed = true; break; }
    }
    if (fixed) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let held = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (scrolls(up) && up.getBoundingClientRect().right <= width + 1) { held = true; break; }
    }
    if (held) continue;
    const text = (el.innerText || el.getAttribute("alt") || el.tagName).trim().replace(/\\s+/g, " ");
    const name = `<${el.tagName.toLowerCase()} class="${el.getAttribute("class") || ""}">`;
    found.push(`${name} ends at ${Math.round(box.right)} px: ${text.slice(0, 80)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, found: found.slice(0, 10)};
}
"""

IMAGES_JS = """
() => [...document.querySelectorAll("main img, main object, main svg[role=img]")]
  .filter(el => !el.closest("[aria-hidden=true]"))  // icons drawn beside a labelled control
  .map(el => ({
  tag: el.tagName.toLowerCase(),
  src: el.currentSrc || el.src || el.data || "",
  alt: el.getAttribute("alt") ?? el.getAttribute("aria-label") ?? (el.getAttribute("aria-labelledby") || "")
         .split(" ").map(id => document.getElementById(id)?.textContent || "").join(" "),
  loaded: el.tagName === "IMG" ? (el.complete && el.naturalWidth > 0) : true,
}))
"""
