"""SageMaker resource families built in this process, without a server: a context with what they use."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from labcloud.core.constants import ACCOUNT_ID, REGION
from labcloud.persistence.store import Store


class RecordedEvents:
    """The server's EventPublisher without a bus: what was published, in order."""

    def __init__(self):
        self.published: list[tuple[str, str, dict, list]] = []

    def publish(self, source, detail_type, detail, resources):
        self.published.append((source, detail_type, detail, list(resources)))

    publish_later = publish


def unit_context(tmp_path, **extra) -> SimpleNamespace:
    """What a family reads of the server's context: its folders, region, account, shutdown flag and events."""
    extra.setdefault("events", RecordedEvents())
    return SimpleNamespace(work_dir=tmp_path, region=REGION, account_id=ACCOUNT_ID,
                           shutting_down=threading.Event(), **extra)


def sagemaker_store(tmp_path) -> Store:
    """The SageMaker service's record store in `tmp_path` (its root folder is 'sagemaker')."""
    return Store(tmp_path, "sagemaker")
