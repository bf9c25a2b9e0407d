"""Training script of the model step: logistic regression on features scaled by the fitted scaler.

Two channels: `train` (CSV, label first, no header) and `scaler` (the preprocessing job's
model.tar.gz). Using the scaler the first job fitted, rather than fitting a new one here, is what keeps
training and serving consistent: the endpoint's first container applies exactly this transformation.
"""
import argparse
import glob
import os
import tarfile
import tempfile

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression


def read_training_data(channel_dir):
    files = sorted(glob.glob(os.path.join(channel_dir, "*.csv")))
    if not files:
        raise FileNotFoundError(f"no .csv file in the training channel {channel_dir}")
    data = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
    return data[:, 1:], data[:, 0].astype(int)


def load_scaler(channel_dir):
    archive = os.path.join(channel_dir, "model.tar.gz")
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        return joblib.load(os.path.join(folder, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--scaler", default=os.environ.get("SM_CHANNEL_SCALER", "/opt/ml/input/data/scaler"))
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()

    features, labels = read_training_data(args.train)
    scaler = load_scaler(args.scaler)
    classifier = LogisticRegression(C=args.C, max_iter=1000).fit(scaler.transform(features), labels)
    accuracy = classifier.score(scaler.transform(features), labels)
    print(f"trained LogisticRegression(C={args.C}) on {len(labels)} rows; training accuracy {accuracy:.3f}")
    joblib.dump(classifier, os.path.join(args.model_dir, "model.joblib"))
