"""git's smart HTTP protocol, served by `git http-backend` run as a CGI program, one process a request.

    GET  <repo>/info/refs?service=git-upload-pack|git-receive-pack   the references (clone, fetch, push)
    POST <repo>/git-upload-pack                                        objects for a clone or fetch
    POST <repo>/git-receive-pack                                       a push

The request body (already de-chunked by the server's HTTP layer) is spooled to a temporary file that is
the program's stdin; a gzip-encoded body (git sends one for upload-pack) goes through as it came, with
HTTP_CONTENT_ENCODING, and http-backend inflates it. The program's output is a CGI response: header
lines (Status:, Content-Type, ...), a blank line, the body, which streams to the client as it is written.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from labcloud.platform import processes
from labcloud.services.codecommit.git import program

log = logging.getLogger("labcloud.codecommit")

SERVICES = ("git-upload-pack", "git-receive-pack")
_CHUNK = 64 * 1024
_MAX_HEAD_LINES = 100
_EXIT_SECONDS = 30  # after its last byte, http-backend ends at once; one that does not is stuck
_PASSED_HEADERS = ("HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL", "HTTP_ACCEPT")


def git_service(environ: dict, endpoint: str) -> str | None:
    """Which git service a request asks for, or None when it is not a git smart HTTP request at all
    (an S3 request for the key "repos/<x>/info/refs" of a bucket "v1" looks the same up to here)."""
    if endpoint == "info/refs":
        query = environ.get("QUERY_STRING", "")
        wanted = [part.partition("=")[2] for part in query.split("&") if part.startswith("service=")]
        return wanted[0] if len(wanted) == 1 and wanted[0] in SERVICES else None
    if endpoint in SERVICES and environ.get("CONTENT_TYPE", "").startswith(f"application/x-{endpoint}-request"):
        return endpoint
    return None


@dataclass
class CgiResponse:
    """What http-backend answered: status line, headers, and its body as a WSGI iterable."""

    status: str
    headers: list[tuple[str, str]]
    body: "_Output"

    def read_all(self) -> bytes:
        try:
            return b"".join(self.body)
        finally:
            self.body.close()


def run(project_root: Path, path_info: str, environ: dict) -> CgiResponse:
    """Run http-backend for one request; `path_info` is "/<dir>.git/<endpoint>" below project_root."""
    stdin = tempfile.TemporaryFile()
    stderr = tempfile.TemporaryFile()
    try:
        shutil.copyfileobj(get_input_stream(environ, safe_fallback=False), stdin, _CHUNK)
        length = stdin.tell()
        stdin.seek(0)
        cgi = {"GIT_PROJECT_ROOT": str(project_root), "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "labcloud",
               "REMOTE_ADDR": environ.get("REMOTE_ADDR", "127.0.0.1"), "PATH_INFO": path_info,
               "QUERY_STRING": environ.get("QUERY_STRING", ""), "REQUEST_METHOD": environ["REQUEST_METHOD"],
               "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""), "CONTENT_LENGTH": str(length),
               "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
               # upload-pack requests are buffered whole, 10 MB at most by default: a fetch of a clone with
               # a long history (many "have" lines) may need more
               "GIT_HTTP_MAX_REQUEST_BUFFER": "256M"}
        cgi.update({name: environ[name] for name in _PASSED_HEADERS if name in environ})
        process = subprocess.Popen([program.require(), "http-backend"], stdin=stdin, stdout=subprocess.PIPE,
                                   stderr=stderr, env=program.environment(cgi), start_new_session=True)
    except BaseException:
        stdin.close()
        stderr.close()
        raise
    stdin.close()  # the child has its own descriptor
    output = _Output(process, stderr)
    try:
        status, headers = _read_head(process.stdout)
    except Exception:
        output.close()
        raise
    if status is None:  # it ended without answering: say what it said
        message = output.finish_and_stderr() or "git http-backend gave no answer"
        body = f"labcloud's CodeCommit could not serve this git request: {message}\n".encode()
        return CgiResponse("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                         ("Content-Length", str(len(body)))], _Bytes(body))
    return CgiResponse(status, headers, output)


def _read_head(stdout) -> tuple[str | None, list[tuple[str, str]]]:
    status, headers = None, []
    for _ in range(_MAX_HEAD_LINES):
        line = stdout.readline(8192)
        if not line:
            return None, []
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, _, value = text.partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = value
        else:
            headers.append((name.strip(), value))
    if status is None:
        status = "200 OK"
    elif " " not in status:  # "Status: 404" without the reason phrase
        status = f"{status} {HTTP_STATUS_CODES.get(int(status), 'Unknown')}"
    return status, headers


class _Output:
    """The rest of http-backend's stdout, streamed; closing it ends the process (the client went away)."""

    def __init__(self, process: subprocess.Popen, stderr):
        self.process = process
        self.stderr = stderr
        self.drained = False  # its stdout was read to the end
        self.closed = False

    def __iter__(self):
        while True:
            data = self.process.stdout.read1(_CHUNK)
            if not data:
                self.drained = True
                return
            yield data

    def finish_and_stderr(self) -> str:
        self.drained = True
        text = self._stderr_text()
        self.close()
        return text

    def _stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-4000:].decode(errors="replace").strip()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if not self.drained:  # the client went away before the whole answer: nobody reads the rest
                self.process.stdout.close()
                processes.terminate_group(self.process, grace_seconds=2)
                return
            try:
                code = self.process.wait(timeout=_EXIT_SECONDS)  # it has written its answer and is ending
            except subprocess.TimeoutExpired:
                code = processes.terminate_group(self.process, grace_seconds=2)
            if code:
                log.warning("git http-backend exited with %s: %s", code, self._stderr_text())
        finally:
            self.process.stdout.close()
            self.stderr.close()


class _Bytes(list):
    """A body already in memory, with the close() of _Output."""

    def __init__(self, data: bytes):
        super().__init__([data])

    def close(self) -> None:
        pass
