"""Durability for the moto-backed services (S3, CloudWatch Logs, IAM, ...).

moto keeps its state in memory. labcloud appends every request that changed something to a journal
in the state directory and replays it into moto at start-up, so objects, log events and roles survive a
restart, a `kill -9` included. A record is a length-prefixed JSON header followed by the raw body; a
record cut short by a crash is ignored on replay.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import threading
from pathlib import Path

# Actions that only read. Anything else that succeeded is journaled.
_READ_ONLY_ACTION = re.compile(r"^(Get|Describe|List|Filter|Head|Lookup|Test|Search|Select|Check)")
_HEADER = struct.Struct(">II")  # header length, body length
_SKIPPED_HEADERS = {"HTTP_CONNECTION", "HTTP_KEEP_ALIVE"}


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
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        self._file = open(path, "ab")

    def record(self, environ: dict, body: bytes, response_body: bytes) -> None:
        headers = {k: v for k, v in environ.items()
                   if isinstance(v, str) and (k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH"))
                   and k not in _SKIPPED_HEADERS}
        header = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
        }
        upload_id = _upload_id(response_body)
        if upload_id:
            header["created_upload_id"] = upload_id
        data = json.dumps(header).encode()
        with self._lock:
            self._file.write(_HEADER.pack(len(data), len(body)) + data + body)
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


def _scan(path: Path):
    """Yield (header, body, end offset) for every whole record, reading the file one record at a time."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        offset = 0
        while True:
            prefix = f.read(_HEADER.size)
            if len(prefix) < _HEADER.size:
                return
            header_len, body_len = _HEADER.unpack(prefix)
            data = f.read(header_len + body_len)
            if len(data) < header_len + body_len:
                return  # cut short by a crash
            try:
                header = json.loads(data[:header_len])
            except ValueError:
                return  # a torn write
            offset += _HEADER.size + header_len + body_len
            yield header, data[header_len:], offset


def read_records(path: Path):
    """Yield (header, body) for every whole record in the journal."""
    for header, body, _ in _scan(path):
        yield header, body


def _drop_torn_tail(path: Path) -> None:
    """Cut the file after its last whole record, so records appended later are read back in line."""
    if not path.exists():
        return
    end = 0
    for _, _, end in _scan(path):
        pass
    if path.stat().st_size != end:
        os.truncate(path, end)


def replay(path: Path, app) -> int:
    """Send every journaled request to the WSGI app again. Returns how many were replayed."""
    upload_ids: dict[str, str] = {}
    count = 0
    for header, body in read_records(path):
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
