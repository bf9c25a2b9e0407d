"""Identities that survive a restart: a mutating request runs with moto's random generator seeded and
moto's clock stopped at a time the journal keeps beside the request, so replaying the journal makes the
same S3 VersionIds and UploadIds, IAM RoleIds and LastModified times a client already saw.

moto draws its ids from one seedable generator (`mock_random`) and reads the time from
`moto.core.utils.utcnow`, which its modules import by name: stopping the clock means swapping that name in
every loaded moto module for the request's duration. Mutating requests are therefore run one at a time.
S3's multipart UploadIds come from `os.urandom`: moto's S3 module is given an `os` whose urandom draws from
the seeded generator instead (nothing else sees it).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import threading
from contextlib import contextmanager

import os
import types

import moto.s3.models as moto_s3_models
from moto.core import utils as moto_utils
from moto.moto_api._internal import mock_random

_MOTO_UTCNOW = moto_utils.utcnow


def now() -> dt.datetime:
    """moto's own notion of now (naive UTC)."""
    return _MOTO_UTCNOW()


def new_seed() -> int:
    return secrets.randbits(62)


class _SeededOs(types.ModuleType):
    """`os` for moto's S3 module, with urandom from moto's seeded generator."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def urandom(size: int) -> bytes:
        return mock_random.randbytes(size)


class Reproducible:
    def __init__(self):
        self._lock = threading.Lock()
        if not isinstance(moto_s3_models.os, _SeededOs):
            moto_s3_models.os = _SeededOs("os")

    def held(self):
        """The lock alone: no mutation runs while it is held (a snapshot is taken under it)."""
        return self._lock

    @contextmanager
    def run(self, seed: int, at: dt.datetime):
        """Run the block as moto would at `at` with its generator seeded by `seed`, one block at a time."""
        def stopped_clock() -> dt.datetime:
            return at

        stopped_clock.labcloud_stopped = True
        with self._lock:
            mock_random.seed(seed)
            _swap_clocks(stopped_clock)
            try:
                yield
            finally:
                _swap_clocks(_MOTO_UTCNOW)
                mock_random.seed(secrets.randbits(62))  # later unjournaled draws are not predictable


_clock_users: list = []  # moto's modules that import utcnow by name, as of _seen_modules modules loaded
_seen_modules = 0


def _swap_clocks(clock) -> None:
    # A module moto imports during the request takes the stopped clock by name too: every module whose
    # utcnow is moto's or a stopped one gets `clock`, so none keeps a stopped clock afterwards. The list is
    # made again only when modules were loaded since (scanning sys.modules on every request was slow).
    global _seen_modules
    if len(sys.modules) != _seen_modules:
        _seen_modules = len(sys.modules)
        _clock_users[:] = [module for name, module in list(sys.modules.items())
                           if name.startswith("moto") and module is not None
                           and (getattr(module, "utcnow", None) is _MOTO_UTCNOW
                                or getattr(getattr(module, "utcnow", None), "labcloud_stopped", False))]
    for module in _clock_users:
        module.utcnow = clock


def header_fields(seed: int, at: dt.datetime) -> dict:
    """What the journal keeps beside a request to run it again the same way."""
    return {"seed": seed, "at": at.isoformat()}


def from_header(header: dict) -> tuple[int, dt.datetime] | None:
    if "seed" not in header:
        return None  # a record of an older journal: replayed with fresh ids
    return header["seed"], dt.datetime.fromisoformat(header["at"])
