"""The Kubernetes protobuf encoding, as far as kubectl uses it to write to labcloud: `kubectl create
namespace` sends a core/v1 Namespace as `application/vnd.kubernetes.protobuf` (the typed client's default
for built-in kinds), whatever the server prefers. Custom resources always travel as JSON.

A body is the magic `k8s\\0` then a runtime.Unknown message: typeMeta (1: apiVersion 1, kind 2), raw (2:
the object's own message), contentEncoding (3), contentType (4). Of a Namespace, labcloud reads what a
namespace it keeps can hold: metadata (1) with name (1), generateName (2), labels (11) and annotations (12),
each map entry a message of key (1) and value (2). Anything else in the message is skipped.
"""

from __future__ import annotations

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class DecodeError(ValueError):
    pass


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise DecodeError("a varint runs past the end of the message")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """A message's fields in order: (number, bytes) for length-delimited ones, (number, int) for varints."""
    found, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            found.append((number, value))
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise DecodeError("a field runs past the end of the message")
            found.append((number, data[at:at + size]))
            at += size
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise DecodeError(f"wire type {wire} is not one Kubernetes uses")
    return found


def _text(value) -> str:
    if not isinstance(value, bytes):
        raise DecodeError("a string field holds a number")
    return value.decode("utf-8")


def _entries(values: list) -> dict[str, str]:
    entries = {}
    for value in values:
        entry = dict(fields(value))
        entries[_text(entry.get(1, b""))] = _text(entry.get(2, b""))
    return entries


def decode(body: bytes) -> dict:
    """The object a protobuf body holds, as its JSON form (only the kinds and fields above)."""
    if not body.startswith(MAGIC):
        raise DecodeError("the body does not start with the Kubernetes protobuf magic")
    envelope = dict(fields(body[len(MAGIC):]))
    type_meta = dict(fields(envelope.get(1, b"")))
    api_version, kind = _text(type_meta.get(1, b"")), _text(type_meta.get(2, b""))
    if (api_version, kind) != ("v1", "Namespace"):
        raise DecodeError(f"labcloud reads only a v1 Namespace in protobuf, not {api_version} {kind}; send JSON")
    raw = dict(fields(envelope.get(2, b"")))
    metadata = fields(raw.get(1, b""))
    meta: dict = {}
    for number, value in metadata:
        if number == 1 and value:
            meta["name"] = _text(value)
        elif number == 2 and value:
            meta["generateName"] = _text(value)
    for number, key in ((11, "labels"), (12, "annotations")):
        entries = _entries([value for n, value in metadata if n == number])
        if entries:
            meta[key] = entries
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}
