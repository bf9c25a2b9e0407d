"""Training script of the preprocessing step: fit a StandardScaler on the feature columns.

The training channel holds CSV files without a header, label in the first column (SageMaker's
convention for CSV training data). The fitted scaler is saved as model.joblib in SM_MODEL_DIR, which
SageMaker packs into model.tar.gz.
"""
import argparse
import glob
import os

import joblib
import numpy as np
from sklearn.preprocessing import StandardScaler


def read_features(channel_dir):
    files = sorted(glob.glob(os.path.join(channel_dir, "*.csv")))
    if not files:
        raise FileNotFoundError(f"no .csv file in the training channel {channel_dir}")
    data = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
    return data[:, 1:]  # column 0 is the label: the scaler only sees features


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    args = parser.parse_args()

    features = read_features(args.train)
    scaler = StandardScaler().fit(features)
    print(f"fitted a StandardScaler on {features.shape[0]} rows, {features.shape[1]} features")
    print("means:", np.round(scaler.mean_, 3).tolist())
    print("scales:", np.round(scaler.scale_, 3).tolist())
    joblib.dump(scaler, os.path.join(args.model_dir, "model.joblib"))
