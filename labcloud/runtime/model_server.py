"""One inference container, as a local process: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT.

    python -m labcloud.runtime.model_server

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
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from labcloud.runtime.inference_handlers import JSON, HandlerChain, UnsupportedFormatError

MAX_BODY_BYTES = 100 * 1024 * 1024


def log(message: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), message, flush=True)


class InferenceRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the platform reuses its connection to the container
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stalls
    chain: HandlerChain = None

    def do_GET(self):
        if self.path == "/ping":
            self._reply(200, b"", "text/plain")
        else:
            self._reply(404, b"Not found: only GET /ping and POST /invocations are served.", "text/plain")

    def do_POST(self):
        if self.path != "/invocations":
            self._drain()
            self._reply(404, b"Not found: only GET /ping and POST /invocations are served.", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._drain()
            self._reply(413, b"Request body too large.", "text/plain")
            return
        body = self.rfile.read(length) if length else b""
        try:
            out, content_type = self.chain(body, self.headers.get("Content-Type"), self.headers.get("Accept"))
        except UnsupportedFormatError as err:
            log(f"invocation refused ({err.status}): {err}")
            self._reply(err.status, str(err).encode(), "text/plain")
            return
        except Exception as err:  # the user's handler failed: 500 with its message, traceback to the logs
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            self._reply(500, f"{type(err).__name__}: {err}".encode(), "text/plain")
            return
        self._reply(200, out, content_type)

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _reply(self, status: int, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        if code != 200 or os.environ.get("LABCLOUD_LOG_REQUESTS"):
            log(f'"{self.requestline}" {code}')

    def log_message(self, format, *args):
        log(format % args)


def exit_with_parent(parent: int) -> None:
    """Exit when the platform process that started this one is gone. (PR_SET_PDEATHSIG would fire when the
    *thread* that started us ends, and labcloud starts containers from short-lived worker threads.)"""
    import threading

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
    framework = os.environ.get("LABCLOUD_FRAMEWORK", "sklearn")
    started = time.monotonic()
    try:
        chain = HandlerChain(model_dir, framework, program, code_dir,
                             default_accept=os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON)
    except BaseException:
        log("ERROR: the model could not be loaded:")
        traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        return 1
    InferenceRequestHandler.chain = chain
    server = ThreadingHTTPServer(("127.0.0.1", port), InferenceRequestHandler)
    server.daemon_threads = True

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
