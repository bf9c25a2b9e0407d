"""Running the gateway: build the services, replay durable state, serve until told to stop."""

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

from labcloud.server.context import LabContext

log = logging.getLogger("labcloud")


def _moto_app():
    from moto.moto_api._internal.models import moto_api_backend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # moto's state is per process: a server starts from empty and replays its own journal into it.
    moto_api_backend.reset()
    return DomainDispatcherApplication(create_backend_app)


class LabServer:
    """The gateway, the services behind it and the HTTP server, as one thing to start and stop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566, state_dir: str | os.PathLike | None = None,
                 owner_pid: int | None = None):
        from labcloud.server.gateway import Gateway
        from labcloud.server.http_handler import KeepAliveRequestHandler
        from labcloud.persistence.journal import Journal, replay
        from labcloud.services.sagemaker.backend import SageMakerBackend
        from labcloud.services.sagemaker.responses import SageMakerResponse

        self.state_dir = Path(state_dir).resolve() if state_dir else None
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            work_dir = self.state_dir / "work"
        else:
            work_dir = Path(tempfile.mkdtemp(prefix="labcloud-"))
        work_dir.mkdir(parents=True, exist_ok=True)

        self.http = make_server(host, port, app=None, threaded=True, request_handler=KeepAliveRequestHandler)
        self.http.daemon_threads = True
        self.port = self.http.server_port
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"
        self.ctx = LabContext(endpoint_url=self.url, state_dir=self.state_dir, work_dir=work_dir,
                              owner_pid=owner_pid)

        moto_app = _moto_app()
        journal = None
        if self.state_dir:
            journal_path = self.state_dir / "moto-journal.bin"
            replayed = replay(journal_path, moto_app)
            if replayed:
                log.info("replayed %d requests from %s", replayed, journal_path)
            journal = Journal(journal_path)
        self.journal = journal
        self.backend = SageMakerBackend(self.ctx)
        runtime = self._runtime()
        self.http.app = Gateway(self.ctx, SageMakerResponse(self.backend), runtime, moto_app, journal)
        self._thread = None
        self._stopped = threading.Event()

    def _runtime(self):
        try:
            from labcloud.services.sagemaker_runtime.invoke import RuntimeResponse
        except ModuleNotFoundError:
            return None
        return RuntimeResponse(self.ctx, self.backend)

    def _write_server_file(self) -> None:
        if self.state_dir:
            info = {"pid": os.getpid(), "url": self.url, "port": self.port}
            (self.state_dir / "server.json").write_text(json.dumps(info))

    def start_in_thread(self) -> "LabServer":
        """Serve from a background thread; returns once every service has loaded its state."""
        self._write_server_file()
        from labcloud.runtime.serving.launcher import shared_launcher

        shared_launcher()  # the model-server launcher preloads its libraries in its own process meanwhile
        self._thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="labcloud-http", daemon=True)
        self._thread.start()
        # Families resume their work once the HTTP server answers, since they talk to it (S3, Logs).
        from labcloud.services.moto import defaults as bootstrap

        bootstrap.ensure_defaults(self.ctx)
        self.backend.start()
        # What start-up built (moto's backends, botocore's models) lives as long as the server: keep it out
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
        """Stop every process the services started, then stop serving.

        The services stop first, while the endpoint still answers: a job's last checkpoint and log lines
        reach S3 and CloudWatch Logs through it."""
        if self._stopped.is_set():
            return
        self.ctx.shutting_down.set()
        self.backend.shutdown()
        self.ctx.close()
        self.http.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        from labcloud.runtime.serving.launcher import close_shared_launcher

        close_shared_launcher()
        if self.journal:
            self.journal.close()
        self.http.server_close()
        if self.state_dir:
            try:
                (self.state_dir / "server.json").unlink()
            except FileNotFoundError:
                pass
        self._stopped.set()


def serve(host: str, port: int, state_dir: str | None, owner_pid: int | None = None) -> None:
    """`labcloud up`: serve in the foreground; Ctrl-C or SIGTERM stops the server and all it started."""
    server = LabServer(host, port, state_dir, owner_pid)

    def on_signal(signum, frame):
        # stop() joins threads: run it off the signal handler.
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"labcloud {server.url} (state: {server.state_dir or 'in memory'})", flush=True)
    server.start_in_thread()
    server.wait()
    print("labcloud stopped", flush=True)
