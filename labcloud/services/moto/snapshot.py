"""A snapshot of moto's state beside the journal, so that a start-up replays only what was journaled since.

Replaying the whole journal makes the start-up time grow with every write ever made (about 1 ms each). On a
clean stop, every SNAPSHOT_EVERY journaled records while serving (the moto service takes those under its
mutation lock), and after a start-up that had to replay many records, moto's backends in use are pickled
with the journal's length at that moment. A start-up loads the snapshot and
replays the journal from that offset. The snapshot is only a shortcut: the journal still holds every
record, so a snapshot that does not match (another moto, labcloud or Python; a journal rewritten by its
repair; a load that fails) is set aside and the whole journal is replayed, as before.

    moto-snapshot.pickle   one JSON line (versions, journal offset), then the pickle
"""

from __future__ import annotations

import copyreg
import importlib
import io
import json
import logging
import os
import pickle
import platform
import sys
import threading
from pathlib import Path

import moto
from moto.core.base_backend import BackendDict
from moto.s3.utils import _VersionedKeyStore

from labcloud import __version__

log = logging.getLogger("labcloud")
FILE = "moto-snapshot.pickle"
REPLAYED_BEFORE_SNAPSHOT = 2000  # a start-up that replayed more than this many records writes one
# The services whose state is known to come back whole from a snapshot (tests/services/
# test_journal_durability.py compares a start-up from the snapshot with one from the whole journal). With
# any other in use, no snapshot is written and the journal alone brings the state back.
SNAPSHOT_SERVICES = {"s3", "iam", "logs", "events", "sts", "cloudwatch", "sqs", "sns"}


def _versions() -> dict:
    return {"moto": moto.__version__, "labcloud": __version__, "python": platform.python_version()}


def _backends_in_use() -> list[tuple[str, str, BackendDict]]:
    """(module, attribute, BackendDict) of every moto backend that holds state, found by the module attribute
    that holds it: a restore fills the very object moto's code looks up."""
    wanted = {id(backends): backends for backends in BackendDict._instances if len(backends)}
    found = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("moto.") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if id(value) in wanted and value is wanted[id(value)]:
                found.append((name, attribute, wanted.pop(id(value))))
    return [entry for entry in found if not entry[0].startswith("moto.moto_api")]


def _restore_versioned_keys(items):
    store = _VersionedKeyStore()
    for key, versions in items:
        dict.__setitem__(store, key, versions)
    return store


# How objects pickle whose default pickling moto gets wrong or cannot do. S3's key store is a dict whose __setitem__
# appends a version, so unpickling its items through it would nest every key's list of versions in another.
# Locks and conditions (SQS's queues hold one) are no state: a snapshot holds fresh ones, as if just made
# (a snapshot is taken while no request runs, so none is held).
_REDUCERS = {
    _VersionedKeyStore: lambda store: (_restore_versioned_keys, (list(dict.items(store)),)),
    threading.Condition: lambda condition: (threading.Condition, ()),
    type(threading.Lock()): lambda lock: (threading.Lock, ()),
    type(threading.RLock()): lambda lock: (threading.RLock, ()),
}


def _pickle(entries) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, **_REDUCERS}
    pickler.dump(entries)
    return buffer.getvalue()


def _unpicklable(entries) -> str:
    """Which backend and region would not pickle, for the log line."""
    for module, attribute, accounts in entries:
        for account, regions in accounts.items():
            for region, backend in regions.items():
                try:
                    _pickle(backend)
                except Exception:
                    return f"{module}.{attribute}[{account}][{region}]"
    return "the backends together"


def save(state_dir: Path, journal_offset: int) -> bool:
    """Write the snapshot atomically; False (and the old snapshot kept, still valid) if moto's state will not
    pickle or holds a service whose pickling is not known to be faithful (SNAPSHOT_SERVICES)."""
    in_use = _backends_in_use()
    others = sorted({backends.service_name for _, _, backends in in_use} - SNAPSHOT_SERVICES)
    if others:
        log.info("no snapshot of moto's state: %s in use; the next start-up replays the journal", ", ".join(others))
        return False
    entries = [(module, attribute, {account: dict(regions.items()) for account, regions in backends.items()})
               for module, attribute, backends in in_use]
    try:
        data = _pickle(entries)
    except Exception as error:  # an object moto keeps that pickle cannot copy: the journal still has it all
        log.warning("no snapshot of moto's state (%s in %s: %s); the next start-up replays the whole journal",
                    type(error).__name__, _unpicklable(entries), error)
        return False
    path = state_dir / FILE
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps({**_versions(), "journal_offset": journal_offset}).encode() + b"\n")
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return True


def load(state_dir: Path, journal_size: int, is_record_boundary) -> int:
    """Restore moto's backends from the snapshot; the journal offset to replay from (0: no usable snapshot)."""
    path = state_dir / FILE
    if not path.exists():
        return 0
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            offset = int(header["journal_offset"])
            if {k: header.get(k) for k in _versions()} != _versions():
                raise ValueError(f"written by {header.get('labcloud')} with moto {header.get('moto')}")
            if offset > journal_size or not is_record_boundary(offset):
                raise ValueError("it does not match the journal")
            entries = pickle.load(f)
        for module, attribute, accounts in entries:
            backends = getattr(importlib.import_module(module), attribute)
            for account, regions in accounts.items():
                for region, backend in regions.items():
                    dict.__setitem__(backends[account], region, backend)
    except Exception as error:  # any failure: the journal alone rebuilds everything
        discard(state_dir, f"{type(error).__name__}: {error}")
        BackendDict.reset()
        return 0
    return offset


def discard(state_dir: Path, why: str) -> None:
    path = state_dir / FILE
    if path.exists():
        log.info("set aside moto's snapshot (%s): replaying the whole journal", why)
        path.unlink()
