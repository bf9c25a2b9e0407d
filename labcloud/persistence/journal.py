"""Durability for the moto-backed services (S3, CloudWatch Logs, IAM, ...).

moto keeps its state in memory. labcloud appends every request that changed something to a journal
in the state directory and replays it into moto at start-up, so objects, log events and roles survive a
restart, a `kill -9` included.

The file starts with `MAGIC`; each record is `MARK`, the header's and the body's lengths and a CRC-32 of
both, then a JSON header and the raw body. The mark and checksum let a reader tell damage from data and
find the next whole record after it: a damaged stretch costs only the records in it. When the journal is
opened, a record cut short by a crash at the end is dropped (its request was never answered), and any
damaged stretch is moved to a `<journal>.damaged-<n>` file and reported (persistence/damage.py), so what
is replayed is exactly the records that read back whole. A journal of the first format (no `MAGIC`) is
rewritten in this one.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import mmap
import os
import re
import struct
import threading
import zlib
from pathlib import Path

from labcloud.persistence.damage import DamageReport

# Actions that only read. Anything else that succeeded is journaled.
_READ_ONLY_ACTION = re.compile(r"^(Get|Describe|List|Filter|Head|Lookup|Test|Search|Select|Check)")
MAGIC = b"labcloud-journal 2\n"
MARK = b"\xa5LCR"
_PREFIX = struct.Struct(">4sIII")  # mark, header length, body length, CRC-32 of header and body
_LEGACY_PREFIX = struct.Struct(">II")  # the first format: header length, body length, no checksum
_SKIPPED_HEADERS = {"HTTP_CONNECTION", "HTTP_KEEP_ALIVE"}

log = logging.getLogger("labcloud.persistence")


def _action(environ: dict, body: bytes) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        match = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body)
        return match.group(1).decode() if match else None
    return None


def is_mutation(environ: dict, body: bytes) -> bool:
    method = environ["REQUEST_METHOD"]
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    action = _action(environ, body)
    return not (action and _READ_ONLY_ACTION.match(action))


class Journal:
    """The journal file, repaired on opening (see the module's docstring) and appended to from then on."""

    def __init__(self, path: Path, damage: DamageReport | None = None):
        self.path = path
        self.damage = damage if damage is not None else DamageReport()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rewritten = _repair(path, self.damage)  # True: offsets into the old file mean nothing now
        self._file = open(path, "ab")

    def size(self) -> int:
        with self._lock:
            self._file.flush()
            return os.fstat(self._file.fileno()).st_size

    def is_record_boundary(self, offset: int) -> bool:
        """Whether a whole record starts at `offset` (or the journal ends there)."""
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset in (len(MAGIC), size):
                return True
            if offset < len(MAGIC) or offset > size:
                return False
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return _whole_record_at(view, offset) is not None

    def record(self, environ: dict, body: bytes, response_body: bytes, extra: dict | None = None) -> None:
        headers = {k: v for k, v in environ.items()
                   if isinstance(v, str) and (k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH"))
                   and k not in _SKIPPED_HEADERS}
        header = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
        }
        header.update(extra or {})
        upload_id = _upload_id(response_body)
        if upload_id:
            header["created_upload_id"] = upload_id
        data = json.dumps(header).encode()
        with self._lock:
            self._file.write(_record(data, body))
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _upload_id(response_body: bytes) -> str | None:
    # S3 multipart upload ids are random: replay maps the recorded id to the one moto issues anew.
    if b"<InitiateMultipartUploadResult" not in response_body[:400]:
        return None
    match = re.search(rb"<UploadId>([^<]+)</UploadId>", response_body)
    return match.group(1).decode() if match else None


def _record(header: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(header))
    return _PREFIX.pack(MARK, len(header), len(body), crc) + header + body


def _whole_record_at(view, pos: int) -> int | None:
    """The end of the record at `pos` if one reads back whole there (mark, lengths, checksum, header)."""
    if pos + _PREFIX.size > len(view):
        return None
    mark, header_len, body_len, crc = _PREFIX.unpack_from(view, pos)
    start = pos + _PREFIX.size
    end = start + header_len + body_len
    if mark != MARK or end > len(view):
        return None
    if zlib.crc32(view[start + header_len:end], zlib.crc32(view[start:start + header_len])) != crc:
        return None
    try:
        header = json.loads(bytes(view[start:start + header_len]))
    except ValueError:
        return None
    return end if isinstance(header, dict) else None


def _is_torn(view, pos: int) -> bool:
    """Whether the bytes from `pos` to the end are the start of one record a crash cut short."""
    rest = len(view) - pos
    if rest < _PREFIX.size:
        return bytes(view[pos:pos + min(rest, len(MARK))]) == MARK[:min(rest, len(MARK))]
    mark, header_len, body_len, _ = _PREFIX.unpack_from(view, pos)
    return mark == MARK and _PREFIX.size + header_len + body_len > rest


def _spans(view, start: int):
    """Walk the records from `start`: yield ("record" | "damaged" | "torn", begin, end) covering every byte."""
    pos = start
    while pos < len(view):
        end = _whole_record_at(view, pos)
        if end is not None:
            yield "record", pos, end
            pos = end
            continue
        found = view.find(MARK, pos + 1)
        while found != -1 and _whole_record_at(view, found) is None:
            found = view.find(MARK, found + 1)
        if found == -1:
            yield ("torn" if _is_torn(view, pos) else "damaged"), pos, len(view)
            return
        yield "damaged", pos, found
        pos = found


def _legacy_records(path: Path):
    """(header bytes, body) of every whole record of a first-format journal (length-prefixed, no checksum)."""
    with open(path, "rb") as f:
        while True:
            prefix = f.read(_LEGACY_PREFIX.size)
            if len(prefix) < _LEGACY_PREFIX.size:
                return
            header_len, body_len = _LEGACY_PREFIX.unpack(prefix)
            data = f.read(header_len + body_len)
            if len(data) < header_len + body_len:
                return  # cut short by a crash
            try:
                json.loads(data[:header_len])
            except ValueError:
                return  # a torn write
            yield data[:header_len], data[header_len:]


def _rewrite(path: Path, chunks) -> None:
    """Replace the journal with MAGIC and the given record bytes, atomically."""
    tmp = path.with_name(path.name + ".rewrite")
    with open(tmp, "wb") as f:
        f.write(MAGIC)
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _kept_path(path: Path) -> Path:
    n = 1
    while (kept := path.with_name(f"{path.name}.damaged-{n}")).exists():
        n += 1
    return kept


def _repair(path: Path, damage: DamageReport) -> bool:
    """Leave at `path` a journal of this format holding only whole records (the module's docstring says how).
    True if the file was written anew (so an offset into the old one is no longer a record's)."""
    if not path.exists() or path.stat().st_size == 0:
        _rewrite(path, [])
        return True
    with open(path, "rb") as f:
        head = f.read(len(MAGIC))
    if head != MAGIC:
        _rewrite(path, [_record(header, body) for header, body in _legacy_records(path)])
        return True
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        spans = list(_spans(view, len(MAGIC)))
        damaged = [(begin, end) for kind, begin, end in spans if kind == "damaged"]
        torn = spans[-1][1] if spans and spans[-1][0] == "torn" else None
        if damaged:
            kept = _kept_path(path)
            with open(kept, "wb") as out:
                for begin, end in damaged:
                    out.write(view[begin:end])
            lost = ", ".join(f"bytes {begin}-{end}" for begin, end in damaged)
            damage.add(f"{path.name}", f"{len(damaged)} damaged stretch(es) of the journal ({lost}) failed their "
                       "checksum; the requests in them were not replayed", str(kept))
            records = (bytes(view[begin:end]) for kind, begin, end in spans if kind == "record")
            _rewrite(path, records)
            return True
    if torn is not None:  # a write a crash cut short: its request was never answered
        log.info("dropped the last %d bytes of %s: a record cut short", path.stat().st_size - torn, path)
        os.truncate(path, torn)
    return False


def read_records(path: Path, start: int = 0):
    """Yield (header, body) for every whole record in the journal (from the record at offset `start`)."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC or os.fstat(f.fileno()).st_size == len(MAGIC):
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for kind, begin, end in _spans(view, max(start, len(MAGIC))):
                if kind == "record":
                    _, header_len, _, _ = _PREFIX.unpack_from(view, begin)
                    start = begin + _PREFIX.size
                    yield json.loads(view[start:start + header_len]), bytes(view[start + header_len:end])


def replay(path: Path, app, around=None, start: int = 0) -> int:
    """Send every journaled request (from the record at offset `start`) to the WSGI app again, each inside
    `around(header)` (a context manager) if given. Returns how many were replayed."""
    upload_ids: dict[str, str] = {}
    count = 0
    for header, body in read_records(path, start):
        query = header["query"]
        for old, new in upload_ids.items():
            query = query.replace(f"uploadId={old}", f"uploadId={new}")
        environ = {
            "REQUEST_METHOD": header["method"],
            "PATH_INFO": header["path"],
            "QUERY_STRING": query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "4566",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        environ.update(header["headers"])
        environ["CONTENT_LENGTH"] = str(len(body))
        with around(header) if around else contextlib.nullcontext():
            chunks = app(environ, lambda status, headers, exc_info=None: None)
            response = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        if header.get("created_upload_id"):
            new_id = _upload_id(response)
            if new_id:
                upload_ids[header["created_upload_id"]] = new_id
        count += 1
    return count
