"""CBOR (RFC 8949), the subset the Smithy RPC v2 CBOR protocol uses: what botocore sends and reads.

    decode(data) -> object     one data item, the whole of `data`; CBORDecodeError for anything else
    encode(value) -> bytes     dict, list/tuple, str, bytes, int, float, bool, None, datetime

Decoded values: unsigned and negative integers -> int; byte strings -> bytes and text strings -> str
(definite or indefinite length); arrays -> list; maps -> dict; tag 1 (epoch seconds) -> an aware UTC
datetime; true/false -> bool; null and undefined -> None; half, single and double floats -> float.
Other tags (bignums, decimal fractions, ...) and unassigned simple values are refused: Smithy says a
decoder without arbitrary precision must fail on them rather than guess.

Encoding follows Smithy's advice: integers in the shortest head, floats as single precision when that is
exact and double otherwise (never half), datetimes as tag 1 with integer seconds, or a float with
millisecond resolution; definite lengths only. `omit_none=True` leaves out map entries whose value is
None (Smithy: null members are not sent).
"""

from __future__ import annotations

import datetime as dt
import math
import struct

__all__ = ["CBORDecodeError", "decode", "encode"]

_UNSIGNED, _NEGATIVE, _BYTES, _TEXT, _ARRAY, _MAP, _TAG, _SIMPLE = range(8)
_INDEFINITE = 31
_BREAK = 0xFF
_EPOCH_TAG = 1
_MAX_DEPTH = 200  # nesting beyond this is an attack or a bug, not an AWS request
_ARGUMENT_BYTES = {24: 1, 25: 2, 26: 4, 27: 8}
_FLOATS = {25: (">e", 2), 26: (">f", 4), 27: (">d", 8)}
_SIMPLE_VALUES = {20: False, 21: True, 22: None, 23: None}  # 23 is undefined: read as null


class CBORDecodeError(ValueError):
    """The bytes are not one well-formed CBOR data item of the supported subset."""


# --- decoding ----------------------------------------------------------------------------------------

def decode(data: bytes):
    """The one data item `data` holds (trailing bytes are an error)."""
    reader = _Reader(bytes(data))
    value = reader.item(0)
    if reader.pos != len(reader.data):
        raise CBORDecodeError(f"{len(reader.data) - reader.pos} bytes follow the data item at offset {reader.pos}")
    return value


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise CBORDecodeError(f"the data ends early: {count} bytes needed at offset {self.pos}, "
                                  f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def head(self) -> tuple[int, int]:
        (initial,) = self.take(1)
        return initial >> 5, initial & 0x1F

    def argument(self, info: int) -> int:
        if info < 24:
            return info
        if info in _ARGUMENT_BYTES:
            return int.from_bytes(self.take(_ARGUMENT_BYTES[info]), "big")
        raise CBORDecodeError(f"additional information {info} is reserved or not allowed here "
                              f"(offset {self.pos - 1})")

    def at_break(self) -> bool:
        if self.pos >= len(self.data):
            raise CBORDecodeError("the data ends inside an indefinite-length item (no break)")
        if self.data[self.pos] == _BREAK:
            self.pos += 1
            return True
        return False

    def item(self, depth: int):
        if depth > _MAX_DEPTH:
            raise CBORDecodeError(f"the data nests deeper than {_MAX_DEPTH} levels")
        start = self.pos
        major, info = self.head()
        if major == _UNSIGNED:
            return self.argument(info)
        if major == _NEGATIVE:
            return -1 - self.argument(info)
        if major in (_BYTES, _TEXT):
            return self.string(major, info)
        if major == _ARRAY:
            return self.array(info, depth)
        if major == _MAP:
            return self.map(info, depth)
        if major == _TAG:
            return self.tag(info, depth, start)
        return self.simple(info, start)

    def string(self, major: int, info: int):
        if info == _INDEFINITE:  # chunks of the same major type, each of definite length, then a break
            chunks = []
            while not self.at_break():
                chunk_major, chunk_info = self.head()
                if chunk_major != major or chunk_info == _INDEFINITE:
                    raise CBORDecodeError(f"an indefinite-length string holds a chunk of another kind "
                                          f"(offset {self.pos - 1})")
                chunks.append(self.text_or_bytes(major, self.take(self.argument(chunk_info))))
            return "".join(chunks) if major == _TEXT else b"".join(chunks)
        return self.text_or_bytes(major, self.take(self.argument(info)))

    def text_or_bytes(self, major: int, raw: bytes):
        if major == _BYTES:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CBORDecodeError(f"a text string is not valid UTF-8: {err}") from None

    def array(self, info: int, depth: int) -> list:
        if info == _INDEFINITE:
            items = []
            while not self.at_break():
                items.append(self.item(depth + 1))
            return items
        return [self.item(depth + 1) for _ in range(self.argument(info))]

    def map(self, info: int, depth: int) -> dict:
        out: dict = {}
        if info == _INDEFINITE:
            while not self.at_break():
                self.pair(out, depth)
        else:
            for _ in range(self.argument(info)):
                self.pair(out, depth)
        return out

    def pair(self, out: dict, depth: int) -> None:
        at = self.pos
        key = self.item(depth + 1)
        if isinstance(key, (list, dict)):
            raise CBORDecodeError(f"a map key at offset {at} is an array or a map")
        if key in out:
            raise CBORDecodeError(f"the map key {key!r} appears twice (offset {at})")
        out[key] = self.item(depth + 1)

    def tag(self, info: int, depth: int, start: int):
        number = self.argument(info)
        value = self.item(depth + 1)
        if number != _EPOCH_TAG:
            raise CBORDecodeError(f"tag {number} (offset {start}) is not supported; only tag 1, epoch time")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CBORDecodeError(f"tag 1 (offset {start}) must hold a number of seconds, not {value!r}")
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise CBORDecodeError(f"tag 1 (offset {start}): {value!r} seconds is not a representable time") from None

    def simple(self, info: int, start: int):
        if info in _SIMPLE_VALUES:
            return _SIMPLE_VALUES[info]
        if info in _FLOATS:
            fmt, size = _FLOATS[info]
            return struct.unpack(fmt, self.take(size))[0]
        if info == _INDEFINITE:
            raise CBORDecodeError(f"a break (0xff) at offset {start} ends nothing")
        raise CBORDecodeError(f"simple value {info} (offset {start}) is not supported")


# --- encoding ----------------------------------------------------------------------------------------

def encode(value, *, omit_none: bool = False) -> bytes:
    out = bytearray()
    _encode(value, out, omit_none)
    return bytes(out)


def _head(major: int, argument: int, out: bytearray) -> None:
    if argument < 24:
        out.append(major << 5 | argument)
    elif argument < 1 << 8:
        out.append(major << 5 | 24)
        out.append(argument)
    elif argument < 1 << 16:
        out.append(major << 5 | 25)
        out += argument.to_bytes(2, "big")
    elif argument < 1 << 32:
        out.append(major << 5 | 26)
        out += argument.to_bytes(4, "big")
    elif argument < 1 << 64:
        out.append(major << 5 | 27)
        out += argument.to_bytes(8, "big")
    else:
        raise OverflowError(f"{argument} does not fit CBOR's 64-bit integers (bignums are not supported)")


def _encode(value, out: bytearray, omit_none: bool) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            _head(_UNSIGNED, value, out)
        else:
            _head(_NEGATIVE, -1 - value, out)
    elif isinstance(value, float):
        _float(value, out)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(_TEXT, len(raw), out)
        out += raw
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        _head(_BYTES, len(raw), out)
        out += raw
    elif isinstance(value, dt.datetime):
        _head(_TAG, _EPOCH_TAG, out)
        _encode(_epoch_seconds(value), out, omit_none)
    elif isinstance(value, dict):
        entries = [(k, v) for k, v in value.items() if not (omit_none and v is None)]
        _head(_MAP, len(entries), out)
        for key, item in entries:
            _encode(key, out, omit_none)
            _encode(item, out, omit_none)
    elif isinstance(value, (list, tuple)):
        _head(_ARRAY, len(value), out)
        for item in value:
            _encode(item, out, omit_none)
    else:
        raise TypeError(f"CBOR cannot encode a {type(value).__name__}: {value!r}")


def _float(value: float, out: bytearray) -> None:
    if math.isnan(value):
        out += b"\xfa\x7f\xc0\x00\x00"  # the single-precision quiet NaN
        return
    try:
        single = struct.pack(">f", value)
    except OverflowError:  # beyond single precision's range
        single = None
    if single is not None and struct.unpack(">f", single)[0] == value:
        out.append(0xFA)
        out += single
    else:
        out.append(0xFB)
        out += struct.pack(">d", value)


def _epoch_seconds(value: dt.datetime) -> int | float:
    if value.tzinfo is None:  # labcloud's times are UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    whole = value.replace(microsecond=0)
    seconds = int(whole.timestamp())
    if value.microsecond == 0:
        return seconds
    return round(seconds + value.microsecond / 1e6, 3)  # Smithy: millisecond resolution
