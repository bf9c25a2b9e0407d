"""The JSON 1.1 wire format SageMaker speaks: timestamps as epoch seconds, nothing else special."""

from __future__ import annotations

import datetime as dt
import json


def to_wire(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


def dumps(value) -> bytes:
    return json.dumps(to_wire(value)).encode()
