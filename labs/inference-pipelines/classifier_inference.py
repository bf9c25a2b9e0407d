"""Inference handler of the model step (the second container of the pipeline).

It receives what the preprocessing container answered: scaled features as CSV, one row per line, and
answers CSV too, one line per row: the predicted class, then the probability of class 1.

Instead of input_fn, predict_fn and output_fn, this script defines transform_fn, which SageMaker's
framework containers call with the whole request when a script provides it.
"""
import io
from pathlib import Path

import joblib
import pandas as pd


def model_fn(model_dir):
    classifier_file = Path(model_dir) / "model.joblib"
    return joblib.load(classifier_file)


def transform_fn(model, request_body, content_type, accept):
    if content_type != "text/csv":
        raise ValueError(f"the classifier reads text/csv only, not {content_type}")
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    rows = pd.read_csv(io.StringIO(text), header=None).to_numpy(dtype=float)
    classes = model.predict(rows)
    probabilities = model.predict_proba(rows)[:, 1]
    answer = "".join(f"{int(c)},{float(p)!r}\n" for c, p in zip(classes, probabilities))
    # Always CSV, whatever Accept asked for: the tuple sets the response's content type.
    return answer, "text/csv"
