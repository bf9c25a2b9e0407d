"""The controller's own notes about each object, kept beside the objects (store kind "controller"): the
generation its SageMaker resource was made or last updated from and a digest of that spec, and the
generation that last ended in a Terminal error. Kubernetes keeps no such field for a custom resource,
and the controller needs them after a restart: a changed Model spec is Terminal, an unchanged one is not.
Keyed by object, checked by uid (a deleted and re-created object starts afresh)."""

from __future__ import annotations

import threading

KIND = "controller"


def _name(key: tuple) -> str:
    plural, namespace, name = key
    return f"{plural}/{namespace or ''}/{name}"


class Books:
    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._notes: dict[str, dict] = {}

    def load(self) -> None:
        with self._lock:
            self._notes = dict(self.store.load_all(KIND)) if self.store is not None else {}

    def get(self, key: tuple, uid: str) -> dict:
        with self._lock:
            note = self._notes.get(_name(key))
            return dict(note["notes"]) if note and note.get("uid") == uid else {}

    def put(self, key: tuple, uid: str, notes: dict) -> None:
        record = {"uid": uid, "notes": dict(notes)}
        with self._lock:
            self._notes[_name(key)] = record
            if self.store is not None:
                self.store.save(KIND, _name(key), record)

    def forget(self, key: tuple) -> None:
        with self._lock:
            if self._notes.pop(_name(key), None) is not None and self.store is not None:
                self.store.delete(KIND, _name(key))
