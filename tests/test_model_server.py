"""The inference contract of one container: handler chain defaults, and the model-server process."""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
import tarfile
import time

import numpy as np
import pytest
from tests.conftest import read_http_response
from tests.test_hosting_support import REGRESSOR_SCRIPT, fitted_models, model_tarball, training_data

from labcloud.runtime.inference_handlers import HandlerChain, UnsupportedFormatError, decode, encode
from labcloud.runtime.serving import free_port


@pytest.fixture
def model_dir(tmp_path):
    _, regressor = fitted_models()
    with tarfile.open(fileobj=io.BytesIO(model_tarball(regressor, REGRESSOR_SCRIPT))) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path


@pytest.mark.parametrize("accept", ["text/csv", "application/json", "application/x-npy"])
def test_encode_then_decode_round_trips(accept):
    array = np.array([[1.5, 2.0], [3.0, -4.25]])
    body, content_type = encode(array, accept)
    assert content_type == accept
    np.testing.assert_allclose(decode(body, content_type), array)


def test_unsupported_content_type_is_a_415():
    with pytest.raises(UnsupportedFormatError) as info:
        decode(b"x", "image/png")
    assert info.value.status == 415


def test_framework_defaults_serve_a_joblib_model_without_a_script(model_dir):
    _, regressor = fitted_models()
    X, _ = training_data(5)
    chain = HandlerChain(str(model_dir), "sklearn")
    body, content_type = chain(",".join(map(str, X[0])).encode(), "text/csv", None)
    assert content_type == "application/json"
    np.testing.assert_allclose(np.array(eval(body)), regressor.predict(X[:1]))  # noqa: S307 - a JSON list


def test_user_handlers_take_precedence(model_dir):
    chain = HandlerChain(str(model_dir), "sklearn", "inference.py", str(model_dir / "code"))
    with pytest.raises(ValueError, match="sentinel"):
        chain(b"-999,1,1", "text/csv", "text/csv")


def start_server(model_dir, **env):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labcloud.runtime.model_server"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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
        conn.request("POST", "/invocations", b"-999,1,1", {"Content-Type": "text/csv"})
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
                         b"Transfer-Encoding: chunked\r\n\r\n3\r\n1,2\r\n2\r\n,3\r\n0\r\n\r\n")
            assert read_http_response(stream)[0] == 200
            status, headers, body = read_http_response(stream)
            assert status == 200 and headers["content-type"] == "application/json" and body.startswith(b"[")
            # curl's Expect: 100-continue is answered before the body is sent.
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                         b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            assert stream.readline() == b"HTTP/1.1 100 Continue\r\n" and stream.readline() == b"\r\n"
            sock.sendall(b"1,2,3")
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
