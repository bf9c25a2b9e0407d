"""One inference container, as a local process: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT.

    python -m labcloud.runtime.serving.model_server

Environment (what SageMaker gives a serving container, plus where its folders are on this machine):
    SAGEMAKER_BIND_TO_PORT            port to listen on (default 8080)
    SM_MODEL_DIR                      the container's /opt/ml/model: the extracted model.tar.gz
    SAGEMAKER_PROGRAM                 entry point module (inference.py), optional
    SAGEMAKER_SUBMIT_DIRECTORY        folder holding the entry point (already local)
    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT  response type when a request has no Accept (default JSON)
    LABCLOUD_FRAMEWORK                sklearn or xgboost: which defaults fill in missing handlers

The model is loaded before the port opens, so a server that answers /ping can predict. A model that
fails to load ends the process with the traceback on stdout (SageMaker's "failed to pass the ping
health check"). Everything is logged to stdout, which the platform ships to CloudWatch Logs.

The HTTP/1.1 layer is small: labcloud.protocols.http1 reads each request (Content-Length or chunked
bodies); this module adds keep-alive connections, Expect: 100-continue, and each answer written in one send. In a pipeline every request passes
through each container in turn, so this layer's cost is paid once per container per prediction.
"""

from __future__ import annotations

import os
import signal
import socketserver
import sys
import threading
import time
import traceback

from labcloud.core import settings
from labcloud.protocols.http1 import ProtocolError, Request, http_date, read_request_body, read_request_head
from labcloud.runtime.serving.handlers import JSON, HandlerChain, UnsupportedFormatError

MAX_BODY_BYTES = 100 * 1024 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 406: "Not Acceptable", 411: "Length Required",
            413: "Payload Too Large", 415: "Unsupported Media Type", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented"}
NOT_FOUND = b"Not found: only GET /ping and POST /invocations are served."


def log(message: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), message, flush=True)


def response_bytes(status: int, body: bytes, content_type: str, keep_alive: bool = True) -> bytes:
    """Status line, headers and body as one buffer: one send, so the platform reads the whole answer at
    once instead of waking up for the headers and again for the body."""
    close = "" if keep_alive else "Connection: close\r\n"
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nDate: {http_date()}\r\n{close}\r\n")
    return head.encode("latin-1") + body


class InferenceConnection(socketserver.StreamRequestHandler):
    """One client connection, kept alive: each request is read, answered, and the next one awaited."""

    disable_nagle_algorithm = True  # the one send of each answer leaves at once
    chain: HandlerChain = None

    def handle(self):
        while True:
            try:
                request = read_request_head(self.rfile)
                if request is None:
                    return
                if request.headers.get("expect", "").lower() == "100-continue":  # curl asks before big bodies
                    self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = read_request_body(self.rfile, request.headers, MAX_BODY_BYTES)
            except ProtocolError as err:
                log(f"bad request ({err.status}): {err}")
                self.connection.sendall(response_bytes(err.status, str(err).encode(), "text/plain", False))
                return
            except (ConnectionError, TimeoutError):
                return
            status, out, content_type = self.respond(request, body)
            if status != 200 or LOG_REQUESTS:
                log(f'"{request.method} {request.path} {request.version}" {status}')
            try:
                self.connection.sendall(response_bytes(status, out, content_type, request.keep_alive))
            except (ConnectionError, TimeoutError):
                return
            if not request.keep_alive:
                return

    def respond(self, request: Request, body: bytes) -> tuple[int, bytes, str]:
        if request.method == "GET" and request.path == "/ping":
            return 200, b"", "text/plain"
        if request.method != "POST" or request.path != "/invocations":
            return 404, NOT_FOUND, "text/plain"
        try:
            # "ContentType" as some AWS services spell it, as the framework containers read it first.
            content_type = request.headers.get("contenttype") or request.headers.get("content-type")
            out, content_type = self.chain(body, content_type, request.headers.get("accept"))
        except UnsupportedFormatError as err:
            log(f"invocation refused ({err.status}): {err}")
            return err.status, str(err).encode(), "text/plain"
        except Exception as err:  # the user's handler failed: 500 with its message, traceback to the logs
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            return 500, f"{type(err).__name__}: {err}".encode(), "text/plain"
        return 200, out, content_type


class InferenceServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128  # a burst of platform connections is queued, not refused


LOG_REQUESTS = settings.read("LABCLOUD_LOG_REQUESTS")  # one process per container: read once, at its start


def exit_with_parent(parent: int) -> None:
    """Exit when the platform process that started this one is gone. (PR_SET_PDEATHSIG would fire when the
    *thread* that started us ends, and labcloud starts containers from short-lived worker threads.)"""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    exit_with_parent(os.getppid())
    sys.stderr = sys.stdout  # one stream: an undrained stderr pipe can block a process
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    program = os.environ.get("SAGEMAKER_PROGRAM") or None
    code_dir = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY") or None
    framework = settings.read("LABCLOUD_FRAMEWORK")
    started = time.monotonic()
    try:
        chain = HandlerChain(model_dir, framework, program, code_dir,
                             default_accept=os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON)
    except BaseException:
        log("ERROR: the model could not be loaded:")
        traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        return 1
    InferenceConnection.chain = chain
    server = InferenceServer(("127.0.0.1", port), InferenceConnection)

    def stop(signum, frame):
        log("received SIGTERM, shutting down")
        server.server_close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    log(f"model server ({framework}{', ' + program if program else ''}) loaded in "
        f"{time.monotonic() - started:.2f} s, listening on port {port}")
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
