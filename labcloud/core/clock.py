"""The time stamps AWS records (CreationTime, StartTime, ...): aware datetimes, in UTC."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
