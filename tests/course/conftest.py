"""Every test of the course (nbgrader round trips, the book build, committed notebooks) is marked slow:
`python -m pytest -m "not slow"` leaves them out."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    # Called with every collected item, not only this folder's: mark only the tests below it.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.slow)
