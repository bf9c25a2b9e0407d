"""A colleague's preprocessing handlers for the churn pipeline (the first container).

They deployed a pipeline of this preprocessor and the lab's classifier, and every request to it fails.
"""
import io
import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(request_body, request_content_type):
    if request_content_type != "text/csv":
        raise ValueError(f"content type {request_content_type} is not supported: send text/csv")
    text = request_body.decode("utf-8") if isinstance(request_body, (bytes, bytearray)) else request_body
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def predict_fn(input_data, model):
    return model.transform(input_data)


def output_fn(prediction, accept):
    # JSON reads better in a notebook than a wall of numbers.
    return json.dumps({"scaled": prediction.tolist()}), "application/json"
