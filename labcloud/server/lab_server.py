"""Running labcloud: build the services from the registry, let them load their state, serve until told
to stop, then stop them in the order that loses nothing.

    LabServer(...)          the HTTP server bound, every service built; each prepare()s (loads what it
                            needs no request for) before anything is served
    start_in_thread()       serve; each service start()s (loads records, resumes work) and becomes ready
    stop()                  services shutdown() while the endpoint still answers (a job's last checkpoint
                            and log lines reach S3 and CloudWatch Logs through it), then the endpoint
                            stops, then services close()
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from labcloud.core.tls import certificates
from labcloud.server.context import LabContext
from labcloud.server.authentication import Authenticator
from labcloud.server.gateway import Gateway
from labcloud.server.http_handler import KeepAliveRequestHandler
from labcloud.server.registry import Registry, load_definition
from labcloud.services import SERVICES

log = logging.getLogger("labcloud")

HTTP_JOIN_SECONDS = 10


def _work_dir(state_dir: Path | None) -> Path:
    """Job and endpoint working folders: inside the state directory when there is one."""
    work_dir = state_dir / "work" if state_dir else Path(tempfile.mkdtemp(prefix="labcloud-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir


def _make_private(state_dir: Path) -> None:
    """The state directory holds every S3 body and the code jobs run: only its owner may enter it (other
    users of a shared workshop machine included)."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if state_dir.stat().st_uid == os.getuid() and state_dir.stat().st_mode & 0o077:
        os.chmod(state_dir, 0o700)


class LabServer:
    """The gateway, the services behind it and the HTTP server, as one thing to start and stop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566, state_dir: str | os.PathLike | None = None,
                 owner_pid: int | None = None, services: list[str] | None = None, authenticate: bool | None = None):
        self.state_dir = Path(state_dir).resolve() if state_dir else None
        if self.state_dir:
            _make_private(self.state_dir)
        self.http = make_server(host, port, app=None, threaded=True, request_handler=KeepAliveRequestHandler)
        self.http.daemon_threads = True
        self.http.tls_context = _tls_context()  # HTTPS on the same port (for kubectl, which sends tokens only so)
        self.port = self.http.server_port
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"
        self.ctx = LabContext(endpoint_url=self.url, state_dir=self.state_dir, work_dir=_work_dir(self.state_dir),
                              owner_pid=owner_pid)
        if authenticate is None:
            authenticate = self.ctx.settings.authenticate
        # Only this user's signed requests are served, unless a shared workshop server opts out (--no-auth).
        self.ctx.authenticator = Authenticator(self.ctx.credentials if authenticate else None)
        try:
            self.registry = Registry(self.ctx, [load_definition(spec) for spec in (services or SERVICES)])
            self.ctx.services = self.registry
            for service in self.registry.services:
                service.prepare()
        except BaseException:
            self.http.server_close()
            raise
        self.http.app = Gateway(self.ctx, self.registry)
        self._thread = None
        self._stopped = threading.Event()

    def _write_server_file(self) -> None:
        if self.state_dir:
            info = {"pid": os.getpid(), "url": self.url, "port": self.port}
            (self.state_dir / "server.json").write_text(json.dumps(info))

    def start_in_thread(self) -> "LabServer":
        """Serve from a background thread; returns once every service has loaded its state."""
        self._write_server_file()
        self._thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="labcloud-http", daemon=True)
        self._thread.start()
        # Services start once the HTTP server answers, since they talk to it (S3, Logs, IAM).
        for service in self.registry.services:
            service.start()
            service.ready.set()
        # What start-up built (the services' backends, botocore's models) lives as long as the server: keep it out
        # of the garbage collector's full passes, which otherwise stall a request for 100 ms now and then.
        gc.collect()
        gc.freeze()
        self.ctx.ready.set()
        return self

    def wait(self) -> None:
        # Wake up now and then: a signal the kernel hands to another thread is only handled once the main
        # thread runs Python code again, and an untimed wait would sleep through SIGTERM.
        while not self._stopped.wait(0.25):
            pass

    def stop(self) -> None:
        """Stop every process the services started, then stop serving."""
        if self._stopped.is_set():
            return
        self.ctx.shutting_down.set()
        for service in reversed(self.registry.services):
            service.shutdown()
        self.ctx.close()
        self.http.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=HTTP_JOIN_SECONDS)
        for service in reversed(self.registry.services):
            service.close()
        self.http.server_close()
        if self.state_dir:
            (self.state_dir / "server.json").unlink(missing_ok=True)
        self._stopped.set()


def serve(host: str, port: int, state_dir: str | None, owner_pid: int | None = None,
          authenticate: bool | None = None) -> None:
    """`labcloud up`: serve in the foreground; Ctrl-C or SIGTERM stops the server and all it started."""
    server = LabServer(host, port, state_dir, owner_pid, authenticate=authenticate)

    def on_signal(signum, frame):
        # stop() joins threads: run it off the signal handler.
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    access = "open to every local user (--no-auth)" if server.ctx.authenticator.open else \
        "your labcloud credentials only (labcloud env)"
    print(f"labcloud {server.url} (state: {server.state_dir or 'in memory'}; requests: {access})", flush=True)
    server.start_in_thread()
    server.wait()
    print("labcloud stopped", flush=True)


def _tls_context():
    try:
        return certificates().server_context()
    except Exception as err:  # noqa: BLE001 - without a certificate labcloud still serves HTTP
        log.warning("labcloud serves HTTP only: it could not make or load its TLS certificate (%s: %s)",
                    type(err).__name__, err)
        return None

