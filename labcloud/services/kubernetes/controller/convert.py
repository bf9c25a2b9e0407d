"""Between a custom resource's fields (ACK's names, naming.py) and botocore's members, through the shape
that holds them, so no reverse naming rule is needed:

    to_request(spec, shape)      {"roleARN": ..., "hyperParameters": {"epochs": "3"}} -> {"RoleArn": ..., ...}
    to_fields(value, shape)      a describe answer's member -> its status or spec field (datetimes as RFC 3339)

A map's keys are data and pass unchanged; a field the shape does not know is dropped (the API server's
validation already refused it or pruned it).
"""

from __future__ import annotations

import datetime as dt

from labcloud.services.kubernetes.naming import ack_name
from labcloud.services.kubernetes.objects import timestamp


def to_request(value, shape):
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = {ack_name(name): (name, member) for name, member in shape.members.items()}
        out = {}
        for field, item in value.items():
            if field in members and item is not None:
                name, member = members[field]
                out[name] = to_request(item, member)
        return out
    if kind == "list" and isinstance(value, list):
        return [to_request(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: to_request(item, shape.value) for key, item in value.items()}
    if kind in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def to_fields(value, shape):
    kind = shape.type_name
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if kind == "structure" and isinstance(value, dict):
        return {ack_name(name): to_fields(item, shape.members[name])
                for name, item in value.items() if name in shape.members}
    if kind == "list" and isinstance(value, list):
        return [to_fields(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: to_fields(item, shape.value) for key, item in value.items()}
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    return value
