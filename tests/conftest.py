"""Fixtures shared by the test suite: a real labcloud server, started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from labcloud.client.embedded import wait_until_ready
from labcloud.client.environment import client_environment
from labcloud.platform.ports import free_port  # noqa: F401 (tests import it from here)

REPO = Path(__file__).resolve().parent.parent


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc), to check that nothing is left behind."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def read_http_response(stream) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response from a socket file: status, lower-cased headers, body (sized or chunked)."""
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    if "content-length" in headers:
        return status, headers, stream.read(int(headers["content-length"]))
    assert headers.get("transfer-encoding") == "chunked", headers
    body = b""
    while size := int(stream.readline().strip(), 16):
        body += stream.read(size)
        stream.readline()
    stream.readline()
    return status, headers, body



@dataclass
class LabcloudProcess:
    url: str
    port: int
    state_dir: Path
    process: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, state_dir: Path, port: int | None = None, env: dict | None = None) -> "LabcloudProcess":
        port = port or free_port()
        state_dir.mkdir(parents=True, exist_ok=True)
        log_path = state_dir.parent / f"labcloud-{port}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "labcloud", "up", "--port", str(port), "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(url, timeout=60, process=process)
        except Exception:
            process.kill()
            process.wait()
            raise RuntimeError(f"labcloud did not start:\n{log_path.read_text()}")
        return cls(url, port, state_dir, process, log_path)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# Short waits so tests of interruptions and stops do not sit idle; each is a documented setting.
FAST_SETTINGS = {
    "LABCLOUD_STOP_GRACE_SECONDS": "5",
    "LABCLOUD_SPOT_CAPACITY_WAIT_SECONDS": "0.5",
}


@pytest.fixture(scope="session")
def labcloud_server(tmp_path_factory):
    """One labcloud for the whole test session; the client environment points at it meanwhile."""
    server = LabcloudProcess.start(tmp_path_factory.mktemp("labcloud") / "state", env=FAST_SETTINGS)
    saved = dict(os.environ)
    os.environ.update(client_environment(server.url))
    try:
        yield server
    finally:
        os.environ.clear()
        os.environ.update(saved)
        children = descendants(server.process.pid)
        code = server.stop()
        assert code == 0, f"labcloud exited with {code}:\n{server.log()}"
        left = [pid for pid in children if alive(pid)]
        assert not left, f"processes left behind by labcloud: {left}"
        assert not port_open(server.port), f"port {server.port} still open after labcloud stopped"


@pytest.fixture(scope="session")
def sagemaker_session(labcloud_server):
    import labcloud

    return labcloud.session()


# boto3 clients on the session's labcloud, for tests that speak the API directly.
@pytest.fixture(scope="session")
def sm(labcloud_server):
    import boto3

    return boto3.client("sagemaker")


@pytest.fixture(scope="session")
def s3(labcloud_server):
    import boto3

    return boto3.client("s3")


@pytest.fixture(scope="session")
def runtime(labcloud_server):
    import boto3

    return boto3.client("sagemaker-runtime")
