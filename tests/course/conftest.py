"""Every test of the course (nbgrader round trips, the book build, committed notebooks) is marked slow:
`python -m pytest -m "not slow"` leaves them out. The book is built once per session, for every test
that reads the site (test_book.py, test_site_browser.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def pytest_collection_modifyitems(items):
    # Called with every collected item, not only this folder's: mark only the tests below it.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def site(labcloud_server, tmp_path_factory) -> Path:
    """The book built strictly (any warning or failing cell fails it): its `_build/html` folder."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", "-W", "-n", "--keep-going", str(REPO), "--path-output", str(out)],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, f"strict build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return out / "_build" / "html"
