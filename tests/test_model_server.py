"""The inference contract of one container: handler chain defaults, and the model-server process."""

from __future__ import annotations

import http.client
import io
import os
import subprocess
import sys
import tarfile
import time

import numpy as np
import pytest
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
