"""Processing step: split the raw data (label, features...) into a training and a test set."""

import os

import pandas as pd

INPUT = "/opt/ml/processing/input/churn.csv"
TRAIN_FRACTION = 0.75

frame = pd.read_csv(INPUT).sample(frac=1.0, random_state=0)
cut = int(len(frame) * TRAIN_FRACTION)
for name, part in (("train", frame[:cut]), ("test", frame[cut:])):
    folder = f"/opt/ml/processing/{name}"
    os.makedirs(folder, exist_ok=True)
    part.to_csv(os.path.join(folder, f"{name}.csv"), index=False)
print(f"preprocess: {cut} rows to train, {len(frame) - cut} rows to test")
