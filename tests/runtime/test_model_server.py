"""The model-server process of one container: it answers /ping and /invocations over HTTP/1.1, refuses what
it cannot frame, and stops on SIGTERM."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time

import pytest
from tests.support.http import read_http_response
from tests.support.hosting import regressor_model_dir

from labcloud.platform.ports import free_port


@pytest.fixture
def model_dir(tmp_path):
    return regressor_model_dir(tmp_path)


def start_server(model_dir, **env):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labcloud.runtime.serving.model_server"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "SM_MODEL_DIR": str(model_dir), **env})
    return process, port


def test_model_server_answers_ping_and_invocations_then_stops_on_sigterm(model_dir):
    process, port = start_server(model_dir, SAGEMAKER_PROGRAM="inference.py",
                                 SAGEMAKER_SUBMIT_DIRECTORY=str(model_dir / "code"))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/ping")
                ping = conn.getresponse()
                ping.read()
                assert ping.status == 200
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        # The same keep-alive connection serves every request below.
        conn.request("POST", "/invocations", b"1,2,3\n4,5,6", {"Content-Type": "text/csv", "Accept": "text/csv"})
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "text/csv"
        assert len(response.read().decode().split()) == 2
        conn.request("POST", "/invocations", b"-999,1,1\n1,1,1", {"Content-Type": "text/csv"})
        response = conn.getresponse()
        assert response.status == 500 and b"sentinel" in response.read()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert b"ValueError: refusing the sentinel input" in process.stdout.read()


def test_model_server_exits_with_the_error_when_the_model_cannot_load(tmp_path):
    process, _ = start_server(tmp_path)
    assert process.wait(timeout=30) == 1
    assert b"No model.joblib" in process.stdout.read()


def wait_for_port(process, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except ConnectionRefusedError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_model_server_speaks_http_1_1_as_clients_send_it(model_dir):
    process, port = start_server(model_dir)
    try:
        wait_for_port(process, port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            stream = sock.makefile("rb")
            # Two pipelined requests in one send: answered in order, each as a whole.
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n3\r\n1,2\r\n8\r\n,3\n4,5,6\r\n0\r\n\r\n")
            assert read_http_response(stream)[0] == 200
            status, headers, body = read_http_response(stream)
            assert status == 200 and headers["content-type"] == "application/json" and body.startswith(b"[")
            # curl's Expect: 100-continue is answered before the body is sent.
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         b"Expect: 100-continue\r\nContent-Length: 11\r\n\r\n")
            assert stream.readline() == b"HTTP/1.1 100 Continue\r\n" and stream.readline() == b"\r\n"
            sock.sendall(b"1,2,3\n4,5,6")
            assert read_http_response(stream)[0] == 200
            sock.sendall(b"DELETE /models HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body = read_http_response(stream)
            assert status == 404 and b"GET /ping and POST /invocations" in body
            sock.sendall(b"POST /invocations HTTP/1.1\r\nContent-Type: image/png\r\nContent-Length: 1\r\n\r\nx")
            assert read_http_response(stream)[0] == 415
            sock.sendall(b"this is not http\r\n\r\n")
            status, headers, _ = read_http_response(stream)
            assert status == 400 and headers["connection"] == "close" and stream.read() == b""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # HTTP/1.0: one request
            sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
            stream = sock.makefile("rb")
            status, headers, _ = read_http_response(stream)
            assert status == 200 and headers.pop("date").endswith(" GMT")
            assert headers == {"content-type": "text/plain", "content-length": "0", "connection": "close"}
            assert stream.read() == b""
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    log = process.stdout.read().decode()
    assert '"DELETE /models HTTP/1.1" 404' in log and "bad request (400)" in log


@pytest.mark.parametrize("framing, why", [
    (b"Transfer-Encoding: chunked\r\n\r\n-5\r\n", b"Malformed chunk size"),  # once read to the end of the stream
    (b"Transfer-Encoding: chunked\r\n\r\n0x3\r\n1,2\r\n0\r\n\r\n", b"Malformed chunk size"),
    (b"Transfer-Encoding: chunked\r\n\r\n3\r\n1,2,3\r\n0\r\n\r\n", b"longer than its size line"),
    (b"Content-Length: -5\r\n\r\n", b"not one number"),  # once an empty body, then the body taken for a request
    (b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", b"not one number"),
    (b"Transfer-Encoding: gzip\r\n\r\n", b"not supported"),
    (b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", b"both"),
])
def test_model_server_refuses_ambiguous_body_framing_and_closes(model_dir, framing, why):
    process, port = start_server(model_dir)
    try:
        wait_for_port(process, port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            stream = sock.makefile("rb")
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n" + framing +
                         b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = read_http_response(stream)
            assert status == 400 and why in body and headers["connection"] == "close"
            assert stream.read() == b""
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_a_chunked_body_cut_short_is_not_predicted_on(model_dir):
    process, port = start_server(model_dir)
    try:
        wait_for_port(process, port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n20\r\n1,2,3\n4,5,6")
            sock.shutdown(socket.SHUT_WR)
            status, _, body = read_http_response(sock.makefile("rb"))
            assert status == 400 and b"closed before the whole chunked body" in body
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
