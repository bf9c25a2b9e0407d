"""What every SageMaker resource family has in common."""

from __future__ import annotations

import datetime as dt
import threading


def utc_now() -> dt.datetime:
    """The time stamps SageMaker records (CreationTime, StartTime, ...): aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class ResourceFamily:
    def __init__(self, ctx, backend):
        self.ctx = ctx
        self.backend = backend  # to reach sibling families (a transform job needs its model)
        self.lock = threading.RLock()

    def start(self) -> None:
        """Load records from ctx.store and resume what was running."""

    def shutdown(self) -> None:
        """Stop every process this family started."""

    def status(self) -> dict:
        """A JSON-able summary of what runs now, e.g. {"training_jobs_in_progress": [...]}."""
        return {}
