"""Helpers the hosting, transform and model-server tests share: small models, their tarballs, the scripts
that serve them, and a look at the processes labcloud runs."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import urllib.request
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from tests.support.processes import alive as pid_alive, port_open  # noqa: F401  (re-exported for the hosting tests)
from tests.support.signing import bearer

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

# Preprocessing container: scales features and answers CSV for the next container.
SCALER_SCRIPT = textwrap.dedent('''
    import io, os
    import joblib
    import numpy as np

    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))

    def input_fn(body, content_type):
        return np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)

    def predict_fn(data, model):
        return model.transform(data)

    def output_fn(prediction, accept):
        buffer = io.StringIO()
        np.savetxt(buffer, prediction, delimiter=",")
        return buffer.getvalue(), "text/csv"
''')

# Model container: the framework's defaults, plus an explicit failure on a magic input.
REGRESSOR_SCRIPT = textwrap.dedent('''
    import os
    import joblib

    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))

    def predict_fn(data, model):
        data = data.reshape(1, -1) if data.ndim == 1 else data  # one CSV row: genfromtxt gives 1-D, as on AWS
        if data.shape[1] and data[0, 0] == -999:
            raise ValueError("refusing the sentinel input -999")
        return model.predict(data)
''')

BROKEN_SCRIPT = textwrap.dedent('''
    import not_a_module_that_exists_anywhere  # the container fails to start
''')


def training_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(10, 3, size=(40, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3
    return X, y


def fitted_models():
    X, y = training_data()
    scaler = StandardScaler().fit(X)
    regressor = LinearRegression().fit(scaler.transform(X), y)
    return scaler, regressor


def model_tarball(model, script: str | None = None, script_name: str = "inference.py") -> bytes:
    """A model.tar.gz as SageMaker expects it: model.joblib at the top, the entry point in code/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def add(name: str, data: bytes):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        model_bytes = io.BytesIO()
        joblib.dump(model, model_bytes)
        add("model.joblib", model_bytes.getvalue())
        if script is not None:
            add(f"code/{script_name}", script.encode())
    return buffer.getvalue()


def regressor_model_dir(folder: Path) -> Path:
    """The fitted regressor with REGRESSOR_SCRIPT, unpacked in `folder` as a container sees /opt/ml/model."""
    _, regressor = fitted_models()
    with tarfile.open(fileobj=io.BytesIO(model_tarball(regressor, REGRESSOR_SCRIPT))) as tar:
        tar.extractall(folder, filter="data")
    return folder


def upload(s3, bucket: str, key: str, data: bytes) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def container(model_data: str, program: str | None = "inference.py", hostname: str | None = None,
              env: dict | None = None) -> dict:
    definition = {"Image": SKLEARN_IMAGE, "ModelDataUrl": model_data, "Environment": dict(env or {})}
    if program:
        definition["Environment"].update({"SAGEMAKER_PROGRAM": program,
                                          "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"})
    if hostname:
        definition["ContainerHostname"] = hostname
    return definition


def csv_rows(X) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X)


def labcloud_status(url: str) -> dict:
    request = urllib.request.Request(f"{url}/_labcloud/status", headers=bearer())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def endpoint_processes(url: str, endpoint: str) -> list[dict]:
    return labcloud_status(url).get("endpoint_processes", {}).get(endpoint, [])
