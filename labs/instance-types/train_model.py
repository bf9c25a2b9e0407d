"""Training script of the instance-types lab: a random forest on `rows` rows of synthetic tabular data,
so that the work (and the job's billable time) grows with one hyperparameter."""

import argparse
import os
import time

import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--trees", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    features, labels = make_classification(n_samples=args.rows, n_features=20, n_informative=10, random_state=0)
    # One core, so that the time to train grows with the rows and not with the machine's other work.
    model = RandomForestClassifier(n_estimators=args.trees, max_depth=10, n_jobs=1, random_state=0)
    model.fit(features, labels)
    joblib.dump(model, os.path.join(os.environ.get("SM_MODEL_DIR", "."), "model.joblib"))
    print(f"rows={args.rows} fit_seconds={time.perf_counter() - started:.2f} "
          f"train_accuracy={model.score(features, labels):.4f}")
