"""The inference contract of one container, in this process: the handler chain's defaults, user handlers
and the content types they encode and decode."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from tests.support.hosting import fitted_models, regressor_model_dir, training_data

from labcloud.runtime.serving.handlers import (HandlerChain, UnsupportedFormatError, decode, encode,
                                                 xgboost_input_fn)


@pytest.fixture
def model_dir(tmp_path):
    return regressor_model_dir(tmp_path)


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


def test_bodies_reach_input_fn_as_the_framework_containers_pass_them(tmp_path):
    (tmp_path / "kinds.py").write_text(textwrap.dedent('''
        def model_fn(model_dir):
            return None

        def input_fn(body, content_type):
            return type(body).__name__

        def predict_fn(data, model):
            return data

        def output_fn(prediction, accept):
            return prediction, "text/plain"
    '''))
    chain = HandlerChain(str(tmp_path), "sklearn", "kinds.py", str(tmp_path))
    assert chain(b"1,2", "text/csv", None)[0] == b"str"
    assert chain(b"[1]", "application/json", None)[0] == b"str"
    assert chain(b"1 1:0.5", "text/libsvm", None)[0] == b"bytes"
    assert chain(b"hello", "text/plain", None)[0] == b"bytes"


def test_a_response_object_is_unwrapped_not_stringified(tmp_path):
    (tmp_path / "responds.py").write_text(textwrap.dedent('''
        from werkzeug.wrappers import Response

        def model_fn(model_dir):
            return None

        def transform_fn(model, body, content_type, accept):
            if body == "pair":
                return Response("1.5\\n2.5\\n", mimetype="text/csv"), "application/json"
            return Response("1.5\\n2.5\\n", mimetype="text/csv")
    '''))
    chain = HandlerChain(str(tmp_path), "sklearn", "responds.py", str(tmp_path))
    assert chain(b"x", "text/csv", None) == (b"1.5\n2.5\n", "text/csv")
    assert chain(b"pair", "text/csv", None) == (b"1.5\n2.5\n", "text/csv")
