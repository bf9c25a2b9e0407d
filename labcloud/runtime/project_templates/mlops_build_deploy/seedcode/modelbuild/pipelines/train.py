"""Training step (scikit-learn script mode), and model_fn for the endpoints that serve the model."""

import argparse
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ["tenure", "monthly_charges", "support_calls"]


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()
    frame = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"))
    model = LogisticRegression(C=args.C, max_iter=1000).fit(frame[FEATURES], frame["churned"])
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
    print(f"train: fitted on {len(frame)} rows with C={args.C}")
