"""What every SageMaker resource family has in common: its context, its store, one lock.

A family owns the records of its resources. Records change only inside the family's methods and under
its lock; what leaves the family (a Describe answer, a snapshot for the store) is a copy made under the
lock, so a worker thread and a request thread never share a record being written.
"""

from __future__ import annotations

import copy
import threading

from labcloud.core.arns import sagemaker_arn
from labcloud.persistence.store import Store


class ResourceFamily:
    def __init__(self, ctx, store: Store):
        self.ctx = ctx
        self.store = store
        self.lock = threading.RLock()

    def arn(self, resource_type: str, name: str) -> str:
        """The ARN of one of this server's SageMaker resources, e.g. arn("training-job", "my-job")."""
        return sagemaker_arn(resource_type, name, self.ctx.region, self.ctx.account_id)

    def start(self) -> None:
        """Load records from the store and resume what was running."""

    def shutdown(self) -> None:
        """Stop every process this family started (the server is stopping)."""

    def status(self) -> dict:
        """A JSON-able summary of what runs now, e.g. {"training_jobs_in_progress": [...]}."""
        return {}


class RecordTable:
    """One kind of a family's records (models, endpoint configs, ...): by name in memory, each saved in the
    store as it changes, read out only as copies. Its family's lock guards it."""

    def __init__(self, family: ResourceFamily, kind: str, record_type, missing):
        self.family, self.kind, self.record_type = family, kind, record_type
        self.missing = missing  # name -> the AWS error for a record that does not exist
        self.records: dict[str, object] = {}

    def load(self) -> None:
        self.records = {n: self.record_type(d) for n, d in self.family.store.load_all(self.kind).items()}

    def __contains__(self, name: str) -> bool:
        return name in self.records

    def get(self, name: str) -> dict:
        """A copy of the record's description."""
        with self.family.lock:
            if name not in self.records:
                raise self.missing(name)
            return copy.deepcopy(self.records[name].description)

    def insert(self, name: str, description: dict, exists) -> None:
        """Add a record; `exists` is the AWS error raised when one of that name is there already."""
        with self.family.lock:
            if name in self.records:
                raise exists
            self.records[name] = self.record_type(description)
            self.family.store.save(self.kind, name, description)

    def delete(self, name: str) -> None:
        with self.family.lock:
            self.get(name)
            del self.records[name]
            self.family.store.delete(self.kind, name)

    def descriptions(self) -> list[dict]:
        """Copies of every record's description (for List*)."""
        with self.family.lock:
            return [copy.deepcopy(r.description) for r in self.records.values()]
