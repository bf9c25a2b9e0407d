"""HTTP/1.1 message framing (RFC 9112), the one parser of labcloud: the endpoint's request handler decides
request framing with it, every model server reads its requests with it, and the platform reads each model
server's answers with it.

    read_request_head(rfile)     request line and headers (limits: 64 KiB a line, 100 headers), or None
    body_length(te, cl)          how a request body is delimited: a length, or CHUNKED; refuses ambiguity
    read_request_body(rfile, headers, max_bytes)   the body so delimited
    read_chunked(rfile)          a chunked body: strict hex sizes, a size limit
    read_response(rfile)         status line, headers and a sized, chunked or close-delimited body
    http_date()                  the Date header's value

Every rule broken raises ProtocolError, whose `status` is what a server answers the request that broke it.
`rfile` is a binary file on the connection (socket.makefile("rb")). Headers are a dict of lower-cased
names; a repeated header's values are joined by ", " (RFC 9110 5.3).

Only the standard library, and little of it: each model server process imports this module. In a
pipeline every prediction passes through this parser twice per container, so it stays lean.
"""

from __future__ import annotations

import email.utils
import time

MAX_LINE_BYTES = 64 * 1024
MAX_HEADERS = 100
CHUNKED = -1  # body_length()'s answer for a chunked body
_LINE_LIMIT = MAX_LINE_BYTES + 1
_BLANK = (b"\r\n", b"\n")
_HEX = b"0123456789abcdefABCDEF"


class ProtocolError(Exception):
    """A message that does not follow HTTP/1.1, or a connection that closed in the middle of one. After it
    the connection cannot be read any further: where the next message starts is unknown."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Request:
    """One request's head: method, path (without the query), version, lower-cased headers."""

    __slots__ = ("method", "path", "version", "headers")

    def __init__(self, method: str, path: str, version: str, headers: dict):
        self.method, self.path, self.version, self.headers = method, path, version, headers

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


def _line(rfile) -> bytes:
    line = rfile.readline(_LINE_LIMIT)
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(431, "A request line or header is longer than 64 KiB.")
    return line


def _read_fields(rfile, headers: dict) -> bool:
    """The header fields up to the blank line, into `headers`; False when the connection closed first."""
    readline = rfile.readline
    while True:
        line = readline(_LINE_LIMIT)
        if line in _BLANK:
            return True
        if not line:
            return False
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError(431, "A request line or header is longer than 64 KiB.")
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(400, f"Malformed header line: {line[:100]!r}.")
        if len(headers) >= MAX_HEADERS:
            raise ProtocolError(431, f"More than {MAX_HEADERS} headers.")
        name = name.lower()
        if name in headers:
            headers[name] = f"{headers[name]}, {value.strip()}"
        else:
            headers[name] = value.strip()


def read_request_head(rfile) -> Request | None:
    """The request line and headers; None when the client closed the connection between requests."""
    line = _line(rfile)
    while line in _BLANK:  # stray blank lines between requests are allowed (RFC 9112 2.2)
        line = _line(rfile)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ProtocolError(400, f"Malformed request line: {line[:100]!r}.")
    headers: dict[str, str] = {}
    _read_fields(rfile, headers)  # a head cut short ends there; a body it announced is then found missing
    return Request(parts[0], parts[1].split("?", 1)[0], parts[2], headers)


def _too_large(max_bytes: int) -> ProtocolError:
    return ProtocolError(413, f"The request body is larger than {max_bytes} bytes.")


def _content_length(value: str) -> int:
    if value.isdigit() and value.isascii():  # the usual case: one plain number
        return int(value)
    # Repeated headers arrive joined by ", ": the same value twice is one length.
    lengths = {part.strip() for part in value.split(",")}
    if len(lengths) != 1 or not all(part.isascii() and part.isdigit() for part in lengths):
        raise ProtocolError(400, f"Content-Length {value} is not one number of bytes (0 or more).")
    return int(lengths.pop())


def body_length(transfer_encoding: str | None, content_length: str | None, max_bytes: int | None = None) -> int:
    """How a request's body is delimited (RFC 9112 6.1-6.3): its length in bytes, or CHUNKED.

    The arguments are the Transfer-Encoding and Content-Length values (repeated fields joined by ", "),
    None when absent. ProtocolError when two parties could frame the body differently, which would let a
    second request hide inside the first one, or when it is longer than `max_bytes`."""
    if transfer_encoding is not None:
        if transfer_encoding.strip().lower() != "chunked":
            raise ProtocolError(400, f"Transfer-Encoding {transfer_encoding} is not supported; "
                                     "send the body with Content-Length or Transfer-Encoding: chunked.")
        if content_length is not None:
            raise ProtocolError(400, "A request cannot have both Transfer-Encoding and Content-Length; "
                                     "send one of them.")
        return CHUNKED
    if content_length is None:
        return 0
    length = _content_length(content_length)
    if max_bytes is not None and length > max_bytes:
        raise _too_large(max_bytes)
    return length


def _read_exact(rfile, length: int) -> bytes:
    data = rfile.read(length) if length > 0 else b""
    if len(data) < length:
        raise ProtocolError(400, "The connection closed before the whole body arrived.")
    return data


def read_request_body(rfile, headers: dict, max_bytes: int | None = None) -> bytes:
    """The body of a request whose head was `headers`, delimited as body_length() says."""
    length = body_length(headers.get("transfer-encoding"), headers.get("content-length"), max_bytes)
    if length == CHUNKED:
        return read_chunked(rfile, max_bytes)
    return _read_exact(rfile, length)


def read_chunked(rfile, max_bytes: int | None = None) -> bytes:
    """A chunked body (RFC 9112 7.1), trailers skipped."""
    chunks, total = [], 0
    while True:
        size_line = _line(rfile).split(b";", 1)[0].strip()
        # Hex digits only: int(..., 16) would also take "-5", "+5", "0x5" and "5_0".
        if not size_line or size_line.strip(_HEX):
            raise ProtocolError(400, f"Malformed chunk size {size_line[:20]!r} in a chunked body.")
        size = int(size_line, 16)
        if size == 0:
            while _line(rfile) not in (b"\r\n", b"\n", b""):  # trailers, ignored
                pass
            return b"".join(chunks)
        total += size
        if max_bytes is not None and total > max_bytes:
            raise _too_large(max_bytes)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise ProtocolError(400, "The connection closed before the whole chunked body arrived.")
        if rfile.readline(3) not in _BLANK:
            raise ProtocolError(400, f"A chunk of a chunked body is longer than its size line says ({size} bytes).")
        chunks.append(chunk)


def read_response_head(rfile) -> tuple[int, str, dict]:
    """A response's status line and headers: (status, version, lower-cased headers)."""
    line = _line(rfile)
    if not line:
        raise ProtocolError(502, "the connection closed before an answer")
    version, _, rest = line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(502, f"not an HTTP response: {line[:80]!r}")
    headers: dict[str, str] = {}
    if not _read_fields(rfile, headers):
        raise ProtocolError(502, "the connection closed in the middle of the headers")
    return int(rest[:3]), version, headers


def read_response_body(rfile, headers: dict) -> tuple[bytes, bool]:
    """A response's body: (body, whether it was delimited); one that is not ends when the server closes."""
    if "content-length" in headers:
        return _read_exact(rfile, _content_length(headers["content-length"])), True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return read_chunked(rfile), True
    return rfile.read(), False


def read_response(rfile) -> tuple[int, dict, bytes, bool]:
    """One response: (status, lower-cased headers, body, whether the connection can carry another request)."""
    status, version, headers = read_response_head(rfile)
    body, delimited = read_response_body(rfile, headers)
    keep_alive = delimited and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return status, headers, body, keep_alive


_date = (0, "")


def http_date() -> str:
    """Now, as the Date header writes it (RFC 9110 5.6.7)."""
    global _date
    now = int(time.time())
    stamp, text = _date
    if stamp != now:  # formatted once a second, not once a request; one tuple, so threads never see half
        text = email.utils.formatdate(now, usegmt=True)
        _date = (now, text)
    return text
