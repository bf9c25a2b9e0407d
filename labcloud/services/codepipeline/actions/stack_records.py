"""The stacks CloudFormation actions deployed: the stacks engine's record of each, by stack name.

A deploy of a StackName updates the stack its previous deploy made (the engine's `previous` record), so the
records are kept durable in this service's store (kind "stacks"). Two actions deploying the same stack at
once take turns (a lock per stack name).
"""

from __future__ import annotations

import contextlib
import copy
import threading

KIND = "stacks"


class StackRecords:
    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._records: dict[str, dict] = {}
        self._stack_locks: dict[str, threading.Lock] = {}

    def load(self) -> None:
        with self._lock:
            self._records = self.store.load_all(KIND) if self.store is not None else {}

    @contextlib.contextmanager
    def locked(self, name: str):
        with self._lock:
            lock = self._stack_locks.setdefault(name, threading.Lock())
        with lock:
            yield

    def get(self, name: str) -> dict | None:
        with self._lock:
            record = self._records.get(name)
            return copy.deepcopy(record) if record is not None else None

    def put(self, name: str, record: dict) -> None:
        with self._lock:
            self._records[name] = copy.deepcopy(record)
        if self.store is not None:
            self.store.save(KIND, name, record)

    def remove(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)
        if self.store is not None:
            self.store.delete(KIND, name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._records)
