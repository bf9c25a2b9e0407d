"""The SageMaker inference handler contract: model_fn, input_fn, predict_fn, output_fn (or transform_fn),
with the defaults the scikit-learn and XGBoost framework containers provide when a script leaves one out.

A handler chain turns one request (body, Content-Type, Accept) into one response (body, Content-Type):

    transform_fn(model, body, content_type, accept)                 if the script defines it, else
    output_fn(predict_fn(input_fn(body, content_type), model), accept)

Text bodies (CSV, JSON) reach input_fn as str, others as bytes, as in the framework containers.

numpy, joblib and xgboost are imported inside the functions that use them: labcloud's server imports this
module too (framework_for), and must start without loading them.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import sys
from pathlib import Path

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
LIBSVM = "text/libsvm"
TEXT_TYPES = (CSV, JSON, LIBSVM, "text/plain")
# What the framework containers hand to input_fn as text (their UTF-8 types); every other body, text/libsvm
# and text/plain included, arrives as the bytes that were sent.
DECODED_FOR_HANDLERS = (CSV, JSON)
SUPPORTED = (CSV, JSON, NPY)


class UnsupportedFormatError(ValueError):
    """A content type or accept type the handler cannot read or write: the server answers 415/406."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def media_type(value: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (value or "").split(";", 1)[0].strip().lower()


def pick_accept(accept: str | None, default: str) -> str:
    """The first type of an Accept header this server can write; the default for none or */*."""
    for part in (accept or "").split(","):
        kind = media_type(part)
        if kind in SUPPORTED or kind == LIBSVM:
            return kind
    if accept and media_type(accept) not in ("", "*/*"):
        raise UnsupportedFormatError(f"Accept type {accept} is not supported; use one of {', '.join(SUPPORTED)}.",
                                     406)
    return default


# ---- decoding and encoding arrays (the framework containers' encoders) ----

def sklearn_csv(text: str):
    """numpy.genfromtxt with delimiter ",", as SageMaker's scikit-learn container reads CSV: one row gives a
    1-D array, an empty or non-numeric field gives nan."""
    import numpy as np

    return np.genfromtxt(io.StringIO(text), delimiter=",")


def xgboost_csv(text: str):
    """As SageMaker's XGBoost container reads CSV: the delimiter sniffed from the first line (a letter or
    digit means ","), one row per line, an empty field is nan; always 2-D."""
    import numpy as np

    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0][:512]).delimiter
    except csv.Error:  # one column: nothing to sniff
        delimiter = ","
    if delimiter.isalnum():
        delimiter = ","
    rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(float)


def decode(body, content_type: str, read_csv=sklearn_csv):
    import numpy as np

    kind = media_type(content_type) or JSON
    if isinstance(body, bytes) and kind in TEXT_TYPES:
        body = body.decode("utf-8")
    if kind == CSV:
        text = body.strip("\r\n")
        if not text.strip():
            raise UnsupportedFormatError("The request body is empty; send one or more CSV rows.", 400)
        try:
            return read_csv(text)
        except ValueError as err:
            raise UnsupportedFormatError(f"Could not parse the CSV body as numbers: {err}", 400) from None
    if kind == JSON:
        try:
            data = json.loads(body)
        except ValueError as err:
            raise UnsupportedFormatError(f"The body is not valid JSON: {err}", 400) from None
        if isinstance(data, dict):  # {"instances": [...]} / {"inputs": [...]}, as TF Serving style clients send
            data = data.get("instances", data.get("inputs", data))
        return np.array(data)
    if kind == NPY:
        return np.load(io.BytesIO(body), allow_pickle=False)
    if kind == LIBSVM:
        return _decode_libsvm(body)
    raise UnsupportedFormatError(
        f"Content type {content_type} is not supported by this model server; use one of {', '.join(SUPPORTED)}.",
        415)


def _decode_libsvm(text: str):
    import numpy as np

    rows = []
    width = 0
    for line in text.strip().splitlines():
        features = {}
        for token in line.split()[1:] if ":" not in line.split()[0] else line.split():
            index, value = token.split(":")
            features[int(index)] = float(value)
            width = max(width, int(index) + 1)
        rows.append(features)
    matrix = np.full((len(rows), width), np.nan)
    for i, features in enumerate(rows):
        for j, value in features.items():
            matrix[i, j] = value
    return matrix


def encode(prediction, accept: str) -> tuple[bytes, str]:
    import numpy as np

    if accept == JSON:
        value = prediction.tolist() if hasattr(prediction, "tolist") else prediction
        return json.dumps(value).encode(), JSON
    array = np.asarray(prediction)
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue(), NPY
    if accept == CSV:
        if array.ndim == 0:
            array = array.reshape(1)
        buffer = io.StringIO()
        np.savetxt(buffer, array, delimiter=",", fmt="%s")
        return buffer.getvalue().encode(), CSV
    raise UnsupportedFormatError(f"Accept type {accept} is not supported; use one of {', '.join(SUPPORTED)}.", 406)


# ---- framework defaults ----

def sklearn_model_fn(model_dir: str):
    import joblib

    for name in ("model.joblib", "model.pkl", "model.pickle"):
        path = Path(model_dir) / name
        if path.exists():
            return joblib.load(path)
    found = sorted(p.name for p in Path(model_dir).iterdir()) if Path(model_dir).is_dir() else []
    raise FileNotFoundError(f"No model.joblib in {model_dir} (found: {', '.join(found) or 'nothing'}); "
                            "save the model with joblib.dump(model, os.path.join(model_dir, 'model.joblib')) "
                            "or define model_fn in the entry point.")


def sklearn_predict_fn(data, model):
    try:
        return model.predict(data)
    except ValueError as err:
        if getattr(data, "ndim", 2) != 1:
            raise
        raise ValueError(
            f"{err} The default input_fn read the body as a 1-D array: it parses CSV with numpy.genfromtxt, as "
            "SageMaker's scikit-learn container does, so a single CSV row has one dimension. Send two or more "
            "rows, send JSON [[...]] for one row, or define input_fn in the entry point to return a 2-D array."
        ) from err


def xgboost_model_fn(model_dir: str):
    import pickle

    import xgboost as xgb

    candidates = [Path(model_dir) / "xgboost-model"] + sorted(Path(model_dir).glob("*.json")) + sorted(
        Path(model_dir).glob("*.ubj"))
    for path in candidates:
        if not path.exists():
            continue
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
            return booster
        except xgb.core.XGBoostError:
            with open(path, "rb") as f:  # the XGBoost framework's training script pickles its Booster
                return pickle.load(f)
    raise FileNotFoundError(f"No xgboost-model file in {model_dir}; save the booster as "
                            "os.path.join(model_dir, 'xgboost-model') or define model_fn in the entry point.")


def xgboost_predict_fn(data, model):
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        return model.predict(xgb.DMatrix(data))
    return model.predict(data)


def sklearn_input_fn(body, content_type):
    return decode(body, content_type, sklearn_csv)


def xgboost_input_fn(body, content_type):
    return decode(body, content_type, xgboost_csv)


default_input_fn = sklearn_input_fn

FRAMEWORKS = {
    "sklearn": {"model_fn": sklearn_model_fn, "input_fn": sklearn_input_fn, "predict_fn": sklearn_predict_fn},
    "xgboost": {"model_fn": xgboost_model_fn, "input_fn": xgboost_input_fn, "predict_fn": xgboost_predict_fn},
}


def framework_for(image: str, model_dir: str | None = None) -> str:
    """Which framework's defaults a container gets: from its image URI, else from the model files."""
    name = (image or "").lower()
    if "xgboost" in name:
        return "xgboost"
    if "scikit-learn" in name or "sklearn" in name:
        return "sklearn"
    if model_dir and (Path(model_dir) / "xgboost-model").exists():
        return "xgboost"
    return "sklearn"


class HandlerChain:
    """The user's entry point functions over the framework's defaults, and the model they load."""

    def __init__(self, model_dir: str, framework: str = "sklearn", program: str | None = None,
                 code_dir: str | None = None, default_accept: str = JSON):
        self.model_dir = model_dir
        self.default_accept = default_accept
        defaults = FRAMEWORKS.get(framework, FRAMEWORKS["sklearn"])
        self.user = _import_entry_point(program, code_dir) if program else None

        def pick(name, default):
            return getattr(self.user, name, None) or default

        self.model_fn = pick("model_fn", defaults["model_fn"])
        self.input_fn = pick("input_fn", defaults["input_fn"])
        self.predict_fn = pick("predict_fn", defaults["predict_fn"])
        self.output_fn = getattr(self.user, "output_fn", None)
        self.transform_fn = getattr(self.user, "transform_fn", None)
        self.model = self.model_fn(model_dir)

    def __call__(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        # The handlers get the header as sent ("text/csv; charset=utf-8"), as the framework containers pass
        # it; a request without one is JSON, the containers' default.
        content_type = content_type or JSON
        if media_type(content_type) in DECODED_FOR_HANDLERS:
            body = body.decode("utf-8")
        if self.output_fn is None:
            accept = pick_accept(accept, self.default_accept)
        else:
            accept = media_type(accept) if accept and media_type(accept) != "*/*" else self.default_accept
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, body, content_type, accept)
        else:
            prediction = self.predict_fn(self.input_fn(body, content_type), self.model)
            result = self.output_fn(prediction, accept) if self.output_fn else encode(prediction, accept)
        return _as_response(result, accept)


def _unwrap(result, content_type: str) -> tuple[object, str]:
    """A response object (the toolkits' worker Response, any Flask/Werkzeug response): its body and type,
    never its repr."""
    get_data = getattr(result, "get_data", None)
    if callable(get_data):
        return get_data(), getattr(result, "mimetype", None) or getattr(result, "content_type", None) or content_type
    return result, content_type


def _as_response(result, accept: str) -> tuple[bytes, str]:
    """A handler may return body, (body, content_type) or a response object; the body may be str, bytes or a
    list of them."""
    content_type = accept
    result, content_type = _unwrap(result, content_type)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        result, content_type = result
        result, content_type = _unwrap(result, content_type)
    if isinstance(result, (list, tuple)) and result and isinstance(result[0], (str, bytes)):
        result = (b"" if isinstance(result[0], bytes) else "").join(result)
    if isinstance(result, str):
        result = result.encode("utf-8")
    if not isinstance(result, (bytes, bytearray)):
        # Scripts often return a plain object: the toolkit encodes it to the accept type.
        return encode(result, content_type if content_type in SUPPORTED else JSON)
    return bytes(result), content_type


def _import_entry_point(program: str, code_dir: str | None):
    module_name = Path(program).stem if program.endswith(".py") else program
    if code_dir:
        sys.path.insert(0, code_dir)
        if not (Path(code_dir) / f"{module_name}.py").exists() and not (Path(code_dir) / module_name).is_dir():
            raise FileNotFoundError(f"The entry point {program} is not in the code directory {code_dir} "
                                    f"(it holds: {', '.join(sorted(os.listdir(code_dir))) or 'nothing'}).")
    return importlib.import_module(module_name)
