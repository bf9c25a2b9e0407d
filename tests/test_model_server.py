"""The inference contract of one container: handler chain defaults, and the model-server process."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
import time

import numpy as np
import pytest
from tests.conftest import read_http_response
from tests.test_hosting_support import REGRESSOR_SCRIPT, fitted_models, model_tarball, training_data

from labcloud.runtime.serving.handlers import (HandlerChain, UnsupportedFormatError, decode, encode,
                                                 xgboost_input_fn)
from labcloud.platform.ports import free_port


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
    rows = "\n".join(",".join(map(str, row)) for row in X[:2]).encode()
    body, content_type = chain(rows, "text/csv; charset=utf-8", None)
    assert content_type == "application/json"
    np.testing.assert_allclose(json.loads(body), regressor.predict(X[:2]))
    # No Content-Type: JSON, the framework containers' default.
    body, _ = chain(json.dumps(X[:1].tolist()).encode(), None, None)
    np.testing.assert_allclose(json.loads(body), regressor.predict(X[:1]))
    # One CSV row is 1-D after numpy.genfromtxt, as in SageMaker's scikit-learn container: the error says so.
    with pytest.raises(ValueError, match="single CSV row has one dimension"):
        chain(",".join(map(str, X[0])).encode(), "text/csv", None)


def test_csv_defaults_read_as_each_framework_container_does():
    assert decode(b"1,2,3", "text/csv").shape == (3,)  # scikit-learn: numpy.genfromtxt
    np.testing.assert_array_equal(decode(b"1,,x\n4,5,6\n", "text/csv"), [[1, np.nan, np.nan], [4, 5, 6]])
    assert xgboost_input_fn(b"1,2,3", "text/csv").shape == (1, 3)  # XGBoost: always one row per line
    np.testing.assert_array_equal(xgboost_input_fn("1.5|2|\n4|5|6", "text/csv"), [[1.5, 2, np.nan], [4, 5, 6]])
    assert decode(b"[[1, 2]]", None).shape == (1, 2)  # no Content-Type: JSON


def test_user_handlers_get_the_content_type_header_as_sent(tmp_path):
    (tmp_path / "seen.py").write_text(textwrap.dedent('''
        def model_fn(model_dir):
            return None

        def transform_fn(model, body, content_type, accept):
            return repr((type(body).__name__, content_type)), "text/plain"
    '''))
    chain = HandlerChain(str(tmp_path), "sklearn", "seen.py", str(tmp_path))
    assert chain(b"1,2", "text/csv; charset=utf-8", None)[0] == b"('str', 'text/csv; charset=utf-8')"
    assert chain(b"1,2", "text/csv", None)[0] == b"('str', 'text/csv')"
    assert chain(b"[1]", None, None)[0] == b"('str', 'application/json')"


def test_user_handlers_take_precedence(model_dir):
    chain = HandlerChain(str(model_dir), "sklearn", "inference.py", str(model_dir / "code"))
    with pytest.raises(ValueError, match="sentinel"):
        chain(b"-999,1,1\n1,1,1", "text/csv", "text/csv")


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
