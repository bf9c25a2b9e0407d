"""Processing step: the model's accuracy and recall on the test split, as evaluation.json (read by the
condition)."""

import json
import os
import tarfile

import joblib
import pandas as pd

FEATURES = ["tenure", "monthly_charges", "support_calls"]

with tarfile.open("/opt/ml/processing/model/model.tar.gz") as archive:
    archive.extractall("/opt/ml/processing/model")
model = joblib.load("/opt/ml/processing/model/model.joblib")
test = pd.read_csv("/opt/ml/processing/test/test.csv")
predicted = model.predict(test[FEATURES])
accuracy = float((predicted == test["churned"]).mean())
churned = test["churned"] == 1
recall = float((predicted[churned] == 1).mean()) if churned.any() else 0.0  # of the customers who left
os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
with open("/opt/ml/processing/evaluation/evaluation.json", "w") as report:
    json.dump({"metrics": {"accuracy": {"value": accuracy}, "recall": {"value": recall}}}, report)
print(f"evaluate: accuracy {accuracy:.3f}, recall {recall:.3f} on {len(test)} rows")
