"""Polling for what happens in the background (jobs, pipelines, events), one loop for every test."""

from __future__ import annotations

import time


def wait_until(check, what: str = "the condition", timeout: float = 120.0, every: float = 0.1):
    """Call check() until it returns something true and return that; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
