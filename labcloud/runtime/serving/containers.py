"""Model-server processes for endpoints and transform jobs: their ports, health and logs, and the HTTP
calls that go through them.

    ServingInstance    the containers of one instance, started together; invoke() runs Serial or Direct
    ContainerProcess   one `python -m labcloud.runtime.serving.model_server` (forked by the launcher when it runs)
                       with a keep-alive pool of ContainerConnection (connection.py)

Before they start, prepare.py lays out each container's folders (container_specs, prepare_containers);
errors.py has the exceptions. All of these names are importable from here too.

Every call to a container has a timeout (AWS's invocation timeout is 60 s), and a container that exits
is seen at once: nothing waits forever on a process that is gone.
"""

from __future__ import annotations

import collections
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from labcloud.core import settings
from labcloud.platform.ports import free_port
from labcloud.platform.processes import signal_group, terminate_group
from labcloud.protocols.http1 import ProtocolError
from labcloud.runtime.job_logs import LogShipper
from labcloud.runtime.serving.connection import ContainerConnection
from labcloud.runtime.serving.errors import ContainerError, ContainerUnavailable, StartupCancelled, StartupFailed
from labcloud.runtime.serving.launcher import LauncherUnavailable, shared_launcher
from labcloud.runtime.serving.prepare import ContainerSpec, container_specs, prepare_containers

# Importable from here, where the services find every piece of serving.
__all__ = ["ContainerConnection", "ContainerError", "ContainerProcess", "ContainerSpec", "ContainerUnavailable",
           "ServingInstance", "StartupCancelled", "StartupFailed", "container_specs", "invocation_timeout_seconds",
           "prepare_containers", "stop_all", "wait_until_healthy"]

STOP_GRACE_SECONDS = 5.0
_LAST_LINES = 30
MODEL_SERVER_MODULE = "labcloud.runtime.serving.model_server"


def invocation_timeout_seconds() -> float:
    """How long a model server may take to answer one request (settings: LABCLOUD_INVOCATION_TIMEOUT_SECONDS)."""
    return settings.read("LABCLOUD_INVOCATION_TIMEOUT_SECONDS")


CRLF = "\r\n"
_COALESCE_BYTES = 256 * 1024  # smaller bodies leave with their headers in one send; bigger ones are not copied


def _start_model_server(env: dict, folder: Path):
    """Fork the model server from the warm launcher (milliseconds); a fresh interpreter if there is none."""
    launcher = shared_launcher()
    if launcher is not None:
        try:
            return launcher.spawn(MODEL_SERVER_MODULE, env, str(folder))
        except LauncherUnavailable as err:
            print(f"labcloud: starting a model server without the launcher: {err}", file=sys.stderr)
    return subprocess.Popen(
        [sys.executable, "-m", MODEL_SERVER_MODULE], cwd=str(folder), env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


class ContainerProcess:
    def __init__(self, hostname: str, folder: Path, env: dict, log_group: str, log_stream: str,
                 shipper: LogShipper | None):
        self.hostname = hostname
        self.folder = folder
        self.log_group = log_group
        self.log_stream = log_stream
        self.port = free_port()
        self.timeout = invocation_timeout_seconds()
        self.last_lines: collections.deque[str] = collections.deque(maxlen=_LAST_LINES)
        self._shipper = shipper
        self._idle: collections.deque[ContainerConnection] = collections.deque()  # append/pop are atomic
        full_env = {**os.environ, **env, "SAGEMAKER_BIND_TO_PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self.process = _start_model_server(full_env, folder)
        self.pid = self.process.pid
        self._reader = threading.Thread(target=self._pump, name=f"model-server-{self.pid}-stdout", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.last_lines.append(line)
            if self._shipper is not None:
                self._shipper.ship(self.log_group, self.log_stream, line)
        self.process.stdout.close()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def failure_text(self) -> str:
        self._reader.join(timeout=1)  # the last lines of a process that just exited
        lines = [line for line in self.last_lines if line.strip()]
        return "\n".join(lines[-8:])

    def ping(self) -> bool:
        try:
            conn = ContainerConnection(self.port, timeout=1)
        except OSError:
            return False
        try:
            return conn.exchange(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")[0] == 200
        except (OSError, ProtocolError, ValueError):
            return False
        finally:
            conn.close()

    def post(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """POST /invocations; returns (body, content type) or raises ContainerError / ContainerUnavailable."""
        head = (f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: {content_type or 'application/octet-stream'}\r\n"
                f"{'Accept: ' + accept + CRLF if accept else ''}Content-Length: {len(body)}\r\n\r\n")
        message = head.encode("latin-1") + body if len(body) <= _COALESCE_BYTES else None
        while True:
            if self.process.poll() is not None:
                raise ContainerUnavailable(self, f"the process exited with code {self.process.returncode}")
            try:
                conn = self._idle.pop()
                reused = True
            except IndexError:  # none idle: open one more (each concurrent caller gets its own)
                try:
                    conn = ContainerConnection(self.port, self.timeout)
                except OSError as err:
                    raise ContainerUnavailable(self, f"connection refused ({err})") from None
                reused = False
            try:
                status, headers, data = conn.exchange(message or head.encode("latin-1"), None if message else body)
            except TimeoutError:
                conn.close()
                raise ContainerUnavailable(
                    self, f"no answer within {self.timeout:.0f} s (the invocation timeout)") from None
            except (ProtocolError, OSError, ValueError) as err:
                conn.close()
                if reused:  # a kept-alive connection the server closed meanwhile: retry on a fresh one
                    continue
                raise ContainerUnavailable(self, f"the connection failed ({type(err).__name__}: {err})") from None
            if conn.keep_alive:
                self._idle.append(conn)
            else:
                conn.close()
            if status >= 300:
                raise ContainerError(self, status, data.decode("utf-8", "replace"))
            return data, headers.get("content-type") or (accept or "application/octet-stream")

    def signal_stop(self) -> None:
        if self.running:
            signal_group(self.pid, signal.SIGTERM)

    def wait_stopped(self, grace: float = STOP_GRACE_SECONDS) -> None:
        terminate_group(self.process, grace)
        while self._idle:
            self._idle.pop().close()
        self._reader.join(timeout=2)


def wait_until_healthy(containers: list[ContainerProcess], timeout: float,
                       cancel: threading.Event | None = None) -> None:
    """Return once every container answers /ping; raise StartupFailed if one exits or time runs out, and
    StartupCancelled as soon as `cancel` is set (a start can take minutes: nobody should wait that out)."""
    cancel = cancel or threading.Event()
    pending = list(containers)
    deadline = time.monotonic() + timeout
    delay = 0.01
    while pending:
        if cancel.is_set():
            raise StartupCancelled("The start was called off before every container passed the ping health check.")
        for container in list(pending):
            if not container.running:
                raise StartupFailed(
                    f"The container {container.hostname} exited with code {container.process.returncode} "
                    f"before it passed the ping health check. Its last log lines:\n{container.failure_text()}")
            if container.ping():
                pending.remove(container)
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(c.hostname for c in pending)
            raise StartupFailed(f"The container(s) {names} did not pass the ping health check within "
                                f"{timeout:.0f} s. Last log lines:\n{pending[0].failure_text()}")
        cancel.wait(delay)
        delay = min(delay * 1.5, 0.1)


def stop_all(containers: list[ContainerProcess]) -> None:
    """SIGTERM every container first, then wait for each: stopping N containers takes one grace period."""
    for container in containers:
        container.signal_stop()
    for container in containers:
        container.wait_stopped()


def new_instance_id() -> str:
    return "i-" + secrets.token_hex(8)


class ServingInstance:
    """All containers of one instance of an endpoint variant or a transform job."""

    def __init__(self, prepared: list[dict], log_group: str, stream_prefix: str, shipper: LogShipper | None,
                 instance_id: str | None = None):
        self.instance_id = instance_id or new_instance_id()
        single = len(prepared) == 1
        self.containers: list[ContainerProcess] = []
        try:
            for item in prepared:
                stream = f"{stream_prefix}/{self.instance_id}"
                if not single:
                    stream += f"/{item['spec'].hostname}"
                self.containers.append(ContainerProcess(item["spec"].hostname, item["folder"], item["env"],
                                                        log_group, stream, shipper))
        except BaseException:
            stop_all(self.containers)
            raise
        self.by_hostname = {c.hostname: c for c in self.containers}
        self._in_flight = 0  # requests inside invoke(): an update lets them finish before stopping us
        self._idle_changed = threading.Condition()

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in self.containers]

    @property
    def ports(self) -> list[int]:
        return [c.port for c in self.containers]

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               target_hostname: str | None = None, timings: list | None = None) -> tuple[bytes, str]:
        """Serial: each container's response is the next one's request; Accept goes to the last container
        (the others answer in their SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT). Direct: only the target runs.
        `timings` gets (hostname, seconds) for each container that answered (the endpoint's metrics)."""
        with self._idle_changed:
            self._in_flight += 1
        try:
            chain = [self.by_hostname[target_hostname]] if target_hostname is not None else self.containers
            last = len(chain) - 1
            for i, container in enumerate(chain):
                started = time.monotonic()
                body, content_type = container.post(body, content_type, accept if i == last else None)
                if timings is not None:
                    timings.append((container.hostname, time.monotonic() - started))
            return body, content_type
        finally:
            with self._idle_changed:
                self._in_flight -= 1
                self._idle_changed.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float, abort: threading.Event | None = None) -> bool:
        """Wait until no request is inside invoke() (True), at most `timeout` s or until `abort` is set."""
        deadline = time.monotonic() + timeout
        with self._idle_changed:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or (abort is not None and abort.is_set()):
                    return False
                self._idle_changed.wait(min(left, 0.1))  # wake now and then to look at `abort`
            return True

    def stop(self) -> None:
        stop_all(self.containers)
