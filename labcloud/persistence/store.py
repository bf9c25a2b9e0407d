"""Durable state for labcloud's own services: one JSON file per resource, written atomically.

A record is written with write-to-temp, fsync, rename, so a `kill -9` at any moment leaves either the
old record or the new one, never half of one. A record file damaged some other way (empty, cut, edited by
hand) is moved aside as `<name>.json.damaged` and reported (persistence/damage.py) instead of stopping
the server. Without a state directory the store keeps nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from urllib.parse import quote, unquote

from labcloud.persistence.damage import DamageReport


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("store records hold JSON data, not bytes")
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict):
    if len(obj) == 1 and "__datetime__" in obj:
        return dt.datetime.fromisoformat(obj["__datetime__"])
    return obj


class Store:
    """One service's records (its root folder in the state directory, e.g. 'sagemaker'), grouped by kind
    ('training-jobs', 'endpoints', ...), each keyed by its AWS name."""

    def __init__(self, state_dir: str | os.PathLike | None, root: str, damage: DamageReport | None = None):
        self.root = Path(state_dir) / root if state_dir else None
        self.damage = damage if damage is not None else DamageReport()
        self._lock = threading.Lock()

    def _path(self, kind: str, name: str) -> Path:
        return self.root / kind / (quote(name, safe="") + ".json")

    def save(self, kind: str, name: str, record: dict) -> None:
        if self.root is None:
            return
        path = self._path(kind, name)
        data = json.dumps(record, default=_encode, indent=1)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{threading.get_ident()}")
            with open(tmp, "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)

    def delete(self, kind: str, name: str) -> None:
        if self.root is None:
            return
        with self._lock:
            try:
                self._path(kind, name).unlink()
            except FileNotFoundError:
                pass

    def load_all(self, kind: str) -> dict[str, dict]:
        if self.root is None or not (self.root / kind).is_dir():
            return {}
        records = {}
        for path in sorted((self.root / kind).glob("*.json")):
            name = unquote(path.stem)
            try:
                with open(path, encoding="utf-8") as f:
                    record = json.load(f, object_hook=_decode)
                if not isinstance(record, dict):
                    raise ValueError(f"holds a JSON {type(record).__name__}, not a record")
            except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                problem = "empty record file" if _is_empty(path) else f"unreadable record file ({error})"
                kept = path.with_name(path.name + ".damaged")
                try:
                    os.replace(path, kept)
                except OSError:
                    kept = path
                self.damage.add(f"{self.root.name}/{kind}/{name}", f"{problem}; the resource was skipped",
                                str(kept))
                continue
            records[name] = record
        return records


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
