"""The JSON 1.1 wire format SageMaker speaks: timestamps as epoch seconds, nothing else special.

Reading is strict, as AWS's parsers are: `NaN`, `Infinity` and numbers too large for a double are not
JSON numbers, and a document nested deeper than MAX_DEPTH levels is refused before it is parsed (Python's
parser recurses once a level). Each raises SerializationException with a message, never a RecursionError.
"""

from __future__ import annotations

import datetime as dt
import json
import math

from labcloud.core.errors import SerializationException

MAX_DEPTH = 200  # nesting beyond this is an attack or a bug, not an AWS request (as protocols/cbor)


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


def _constant(name: str):
    raise SerializationException(f"{name} is not a JSON number: send a finite number.")


def _float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise SerializationException(f"The number {_clip(text)} is out of range for a double.")
    return number


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def nesting_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings not counted); it stops
    counting past MAX_DEPTH. Linear, and cheap next to parsing: brackets are found by bytes.translate."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:  # the common case: too few brackets to matter
        return min(body.count(b"[") + body.count(b"{"), MAX_DEPTH)
    # Keep only what changes the depth or starts/ends a string, then walk that.
    skeleton = body.translate(None, _NOT_STRUCTURAL)
    depth = deepest = 0
    in_string = escaped = False
    for byte in skeleton:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"\\')


def loads(body: bytes):
    """The value of a JSON request body (an empty body is an empty object), or SerializationException."""
    if not body:
        return {}
    if nesting_depth(body) > MAX_DEPTH:
        raise SerializationException(f"The request body nests arrays and objects deeper than {MAX_DEPTH} levels.")
    try:
        return json.loads(body, parse_constant=_constant, parse_float=_float)
    except SerializationException:
        raise
    except RecursionError:
        raise SerializationException("The request body nests arrays and objects too deeply.") from None
    except ValueError as err:  # (UnicodeDecodeError and digit-limit errors are ValueErrors too)
        raise SerializationException(f"The request body is not valid JSON: {_clip(str(err), 200)}.") from None
