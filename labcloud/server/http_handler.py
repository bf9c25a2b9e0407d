"""The HTTP/1.1 request handler of labcloud's endpoint: moto's (which keeps S3 metadata header names), with
kept-alive connections.

werkzeug's development server ends every response with "Connection: close", so each AWS call costs a new
TCP connection on both sides, a new server thread, and a 10 ms wait for stray bytes before the close.
SDK clients keep a pool of connections and would reuse them; this handler lets them. A connection stays
open when the request body can be consumed exactly (Content-Length, or a chunked body read to its end)
and the response's end is known (Content-Length, or chunked); otherwise it closes as before.
"""

from __future__ import annotations

import http
import logging
import socket
import traceback

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.wsgi import LimitedStream

from labcloud.protocols.http1 import CHUNKED, ProtocolError, body_length, http_date

IDLE_SECONDS = 300  # an idle connection is closed after this, freeing its thread
_NO_BODY = (204, 304)
_access_log = logging.getLogger("werkzeug")


class KeepAliveRequestHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each answer leaves in one send; no delayed-ACK stalls between sends
    timeout = IDLE_SECONDS

    def run_wsgi(self) -> None:
        # (An "Expect: 100-continue" was answered by http.server's parse_request already.)
        try:
            length = body_length(self._field("Transfer-Encoding"), self._field("Content-Length"))
        except ProtocolError as err:  # where this body ends is ambiguous: answer, read no more of this connection
            self.close_connection = True
            _Response(self, False).refuse(err.status, str(err))
            return
        environ = self.environ = self.make_environ()
        body = environ["wsgi.input"]  # chunked: werkzeug's reader, which stops at the last chunk
        if length != CHUNKED:  # the app may read Content-Length bytes
            body = environ["wsgi.input"] = LimitedStream(self.rfile, length)
        response = _Response(self, environ["REQUEST_METHOD"] == "HEAD")
        try:
            chunks = self.server.app(environ, response.start)
            try:
                for data in chunks:
                    response.write(data)
                response.finish()
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except (ConnectionError, socket.timeout):
            self.close_connection = True
            return
        except Exception:  # noqa: BLE001 - a failing service answers 500, the server keeps serving
            self.close_connection = True
            self.log_error("Error on request:\n%s", traceback.format_exc())
            if not response.sent:
                response.fail()
            return
        if not response.keep_alive:
            self.close_connection = True
            return
        try:  # what the app left unread of this body, so the next request starts at its first byte
            while body.read(1 << 16):
                pass
        except Exception:  # noqa: BLE001 - a body that cannot be drained: close rather than misread
            self.close_connection = True


    def _field(self, name: str) -> str | None:
        """A request header's value, repeated fields joined by ", " as http1 reads them; None if absent."""
        values = self.headers.get_all(name)
        return None if values is None else ", ".join(values)


class _Response:
    """One response on a kept-alive connection: the head and the first body bytes go in one send."""

    def __init__(self, handler: KeepAliveRequestHandler, head_only: bool):
        self.handler = handler
        self.head_only = head_only
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.chunked = False
        self.keep_alive = not handler.close_connection
        self.size = 0

    def start(self, status: str, headers: list, exc_info=None):
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if self.head_only:
            data = b""
        if not self.sent:
            self._send_head(data)
        elif data:
            self.size += len(data)
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    def finish(self) -> None:
        if not self.sent:
            self._send_head(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
        if _access_log.isEnabledFor(logging.INFO):  # `labcloud up --verbose`; formatting costs even when muted
            self.handler.log_request(self.status.split(None, 1)[0], self.size)

    def fail(self) -> None:
        message = b"labcloud could not handle this request; see its log for the error."
        self.status, self.headers = "500 Internal Server Error", [("Content-Type", "text/plain"),
                                                                 ("Content-Length", str(len(message)))]
        self.keep_alive = False
        self._send_head(message)

    def refuse(self, status: int, message: str) -> None:
        """The answer (400) to a request whose framing is ambiguous; the connection closes after it."""
        body = message.encode()
        self.status = f"{status} {http.HTTPStatus(status).phrase}"
        self.headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        self.keep_alive = False
        self._send_head(body)
        self.handler.log_error("refused a request: %s", message)

    def _send_head(self, first: bytes) -> None:
        code = int(self.status.split(None, 1)[0])
        names = {name.lower(): value for name, value in self.headers}
        if names.get("connection", "").lower() == "close":
            self.keep_alive = False
        extra = [("Server", self.handler.version_string()), ("Date", http_date())]
        if "content-length" not in names and not (self.head_only or code < 200 or code in _NO_BODY):
            if self.handler.request_version == "HTTP/1.1":
                self.chunked = True
                extra.append(("Transfer-Encoding", "chunked"))
            else:  # an HTTP/1.0 client reads this body to the close
                self.keep_alive = False
        if not self.keep_alive:
            extra.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {self.status}"] + [f"{name}: {value}" for name, value in self.headers + extra]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if first and self.chunked:
            first = b"%x\r\n%s\r\n" % (len(first), first)
        self.sent = True
        self.size += len(first)
        self.handler.wfile.write(head + first)
