"""The HTTP/1.1 request handler of labcloud's endpoint: moto's (which keeps S3 metadata header names), with
kept-alive connections.

werkzeug's development server ends every response with "Connection: close", so each AWS call costs a new
TCP connection on both sides, a new server thread, and a 10 ms wait for stray bytes before the close.
SDK clients keep a pool of connections and would reuse them; this handler lets them. A connection stays
open when the request body can be consumed exactly (Content-Length, or a chunked body read to its end)
and the response's end is known (Content-Length, or chunked); otherwise it closes as before.

Limits at the front door, so one client cannot hold the server:

    READ_SECONDS        a connection idle this long between requests, or a request whose head or body
                        stalls this long, is closed (the write of an answer may wait WRITE_SECONDS)
    HEAD_SECONDS        a request head still incomplete this long after the connection's last answer
                        (sent a byte at a time, say) is cut off: the watchdog shuts its socket
    MAX_CONNECTIONS     connections served at once; one more waits up to BUSY_WAIT_SECONDS for a slot,
                        then gets 503 ServiceUnavailable (which SDK clients retry)
    DRAIN_BYTES         what is read and dropped of a body the gateway refused unread (too large), so the
                        client sees the answer rather than a reset; past it the connection just closes

Every answer carries x-amzn-RequestId (the gateway's request id); every error this handler makes itself
(ambiguous framing, a too long request line, a fault while answering) is AWS's error body.
"""

from __future__ import annotations

import http
import io
import logging
import socket
import threading
import time
import traceback

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.wsgi import LimitedStream

from labcloud.core.errors import AWSError, InternalFailure, ServiceUnavailable
from labcloud.protocols.errors import REQUEST_ID, any_protocol_error, request_id
from labcloud.core.tls import HANDSHAKE
from labcloud.protocols.http1 import CHUNKED, ProtocolError, body_length, http_date
from labcloud.server.gateway import BODY_REFUSED

READ_SECONDS = 10  # idle between requests, or stalled in one: closed after this, freeing its thread
WRITE_SECONDS = 120  # a client that reads its answer slowly (a large S3 object) has this long per send
MAX_CONNECTIONS = 256
BUSY_WAIT_SECONDS = 5
DRAIN_BYTES = 1 << 30
HEAD_SECONDS = 30
_NO_BODY = (204, 304)
_access_log = logging.getLogger("werkzeug")
_log = logging.getLogger("labcloud")


class KeepAliveRequestHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each answer leaves in one send; no delayed-ACK stalls between sends
    timeout = READ_SECONDS

    def setup(self) -> None:
        """HTTP and HTTPS on one port: a connection whose first byte opens a TLS handshake is wrapped in TLS
        (the server's tls_context, core/tls.py) before anything reads it."""
        self.tls_failed = False
        context = getattr(self.server, "tls_context", None)
        if context is not None:
            self.request.settimeout(READ_SECONDS)
            try:
                first = self.request.recv(1, socket.MSG_PEEK)
                if first and first[0] == HANDSHAKE:
                    self.request = context.wrap_socket(self.request, server_side=True)
            except (OSError, ValueError) as err:  # a failed handshake (ssl.SSLError is an OSError), a reset
                self.tls_failed = True
                _access_log.debug("a connection failed before its first request: %s", err)
        if self.tls_failed:
            # A failed wrap_socket has closed the socket: nothing to read or write; handle() returns and
            # finish() closes these.
            self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
            return
        super().setup()

    def handle_one_request(self) -> None:
        _watchdog.watch(self, HEAD_SECONDS)
        try:
            super().handle_one_request()
        finally:
            _watchdog.forget(self)

    def parse_request(self) -> bool:
        try:
            return super().parse_request()
        finally:
            _watchdog.forget(self)  # the head is in: what follows has READ_SECONDS per read, no overall bound

    def handle(self) -> None:
        if self.tls_failed:
            return
        slots = self.server.__dict__.setdefault("connection_slots", threading.BoundedSemaphore(MAX_CONNECTIONS))
        if not slots.acquire(timeout=BUSY_WAIT_SECONDS):
            self._busy()
            return
        try:
            super().handle()
        finally:
            slots.release()

    def _busy(self) -> None:
        """All MAX_CONNECTIONS slots are taken: read this request's head, answer 503, close."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            self.environ = self.head_environ()
            self.close_connection = True
            _Response(self, self.command == "HEAD").error(ServiceUnavailable(
                f"labcloud is serving {MAX_CONNECTIONS} connections; retry in a moment."))
            self.wfile.flush()
        except (OSError, ValueError):
            pass
        _log.warning("refused a connection: %d connections are served already", MAX_CONNECTIONS)

    def log_error(self, format: str, *args) -> None:
        if format.startswith("Request timed out"):  # an idle kept-alive connection closing: not an error
            _access_log.debug("closed a connection idle or stalled for %s s", READ_SECONDS)
            return
        super().log_error(format, *args)

    def send_error(self, code, message=None, explain=None) -> None:
        """http.server's own refusals (a request line over 64 KiB, too many headers, a bad version): AWS's
        error body instead of an HTML page."""
        self.close_connection = True
        err = AWSError(message or http.HTTPStatus(code).phrase)
        err.code, err.status = ("SerializationException" if code < 500 else "InternalFailure"), code
        self.environ = self.head_environ()  # (not the last request's)
        try:
            _Response(self, getattr(self, "command", "") == "HEAD").error(err)
        except OSError:
            pass
        self.log_error("refused a request (%s): %s", code, message or "")

    def run_wsgi(self) -> None:
        # (An "Expect: 100-continue" was answered by http.server's parse_request already.)
        try:
            length = body_length(self._field("Transfer-Encoding"), self._field("Content-Length"))
        except ProtocolError as err:  # where this body ends is ambiguous: answer, read no more of this connection
            self.close_connection = True
            _Response(self, False).refuse(err.status, str(err))
            return
        environ = self.environ = self.make_environ()
        request_id(environ)
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
            self.log_error("Error on request %s:\n%s", environ.get(REQUEST_ID), traceback.format_exc())
            if not response.sent:
                response.fail()
            return
        finally:
            self.connection.settimeout(READ_SECONDS)  # (a write may have had WRITE_SECONDS)
        if environ.get(BODY_REFUSED):  # refused unread: drop what the client still sends, then close
            self.close_connection = True
            _drain(body, DRAIN_BYTES)
            return
        if not response.keep_alive:
            self.close_connection = True
            return
        try:  # what the app left unread of this body, so the next request starts at its first byte
            while body.read(1 << 16):
                pass
        except Exception:  # noqa: BLE001 - a body that cannot be drained: close rather than misread
            self.close_connection = True


    def head_environ(self) -> dict:
        """What an error answer needs of a request that never became a WSGI environ: its path and the
        headers that say its protocol (protocols.errors.protocol_of)."""
        environ = {"PATH_INFO": (getattr(self, "path", "") or "").split("?", 1)[0],
                   "REMOTE_ADDR": self.client_address[0] if self.client_address else "<local>"}  # (werkzeug logs it)
        headers = getattr(self, "headers", None)
        if headers is not None:
            for name, key in (("Content-Type", "CONTENT_TYPE"), ("X-Amz-Target", "HTTP_X_AMZ_TARGET"),
                              ("Smithy-Protocol", "HTTP_SMITHY_PROTOCOL")):
                if headers.get(name) is not None:
                    environ[key] = headers[name]
        return environ

    def _field(self, name: str) -> str | None:
        """A request header's value, repeated fields joined by ", " as http1 reads them; None if absent."""
        values = self.headers.get_all(name)
        return None if values is None else ", ".join(values)


class _HeadWatchdog:
    """One thread for every connection of the process: a connection whose request head is not complete by
    its deadline has its socket shut down, which ends the read it is blocked in."""

    def __init__(self):
        self._deadlines: dict = {}
        self._lock = threading.Lock()
        self._thread = None

    def watch(self, handler, seconds: float) -> None:
        with self._lock:
            self._deadlines[handler] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="labcloud-head-watchdog", daemon=True)
                self._thread.start()

    def forget(self, handler) -> None:
        with self._lock:
            self._deadlines.pop(handler, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self._lock:
                late = [h for h, deadline in self._deadlines.items() if deadline < now]
                for handler in late:
                    del self._deadlines[handler]
            for handler in late:
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                _access_log.debug("cut off a request head still incomplete after %s s", HEAD_SECONDS)


_watchdog = _HeadWatchdog()


def _drain(body, limit: int) -> None:
    try:
        while limit > 0:
            data = body.read(min(1 << 16, limit))
            if not data:
                return
            limit -= len(data)
    except Exception:  # noqa: BLE001 - a body that cannot be read: the connection closes anyway
        pass


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
        rid = self.handler.environ.get(REQUEST_ID) if getattr(self.handler, "environ", None) else None
        self.error(InternalFailure(f"labcloud could not handle this request; its log has the error (request {rid})."))

    def error(self, err: AWSError) -> None:
        """`err` as AWS's error body in the request's protocol; the connection closes after it."""
        environ = getattr(self.handler, "environ", None) or {}
        status, headers, body = any_protocol_error(environ, err)
        self.status = f"{status} {http.HTTPStatus(status).phrase}"
        self.headers = [*headers.items(), ("Content-Length", str(len(body)))]
        self.keep_alive = False
        self._send_head(b"" if self.head_only else body)

    def refuse(self, status: int, message: str) -> None:
        """The answer (400) to a request whose framing is ambiguous; the connection closes after it."""
        self.handler.environ = self.handler.head_environ()
        err = AWSError(message)
        err.code, err.status = "SerializationException", status
        self.error(err)
        self.handler.log_error("refused a request: %s", message)

    def _send_head(self, first: bytes) -> None:
        code = int(self.status.split(None, 1)[0])
        names = {name.lower(): value for name, value in self.headers}
        if names.get("connection", "").lower() == "close":
            self.keep_alive = False
        extra = [("Server", self.handler.version_string()), ("Date", http_date())]
        if "x-amzn-requestid" not in names:
            environ = getattr(self.handler, "environ", None)
            extra.append(("x-amzn-RequestId", request_id(environ) if environ is not None else request_id({})))
        if "content-length" not in names and not (self.head_only or code < 200 or code in _NO_BODY):
            if self.handler.request_version == "HTTP/1.1":
                self.chunked = True
                extra.append(("Transfer-Encoding", "chunked"))
            else:  # an HTTP/1.0 client reads this body to the close
                self.keep_alive = False
        if not self.keep_alive and "connection" not in names:
            extra.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {self.status}"] + [f"{name}: {value}" for name, value in self.headers + extra]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if first and self.chunked:
            first = b"%x\r\n%s\r\n" % (len(first), first)
        self.sent = True
        self.size += len(first)
        self.handler.connection.settimeout(WRITE_SECONDS)
        self.handler.wfile.write(head + first)
