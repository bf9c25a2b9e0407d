"""Training jobs through the SageMaker SDK v2, as a learner runs them: script mode and custom images."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap

import boto3
import numpy as np
import pytest

import labcloud

SKLEARN_SCRIPT = """
import argparse, os
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
args = parser.parse_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
model = LogisticRegression(C=args.C).fit(data[:, 1:], data[:, 0])
print(f"script says: trained with C={args.C} in {os.getcwd()}")
with open("/opt/ml/input/config/hyperparameters.json") as f:
    print("hyperparameters.json:", f.read())
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
with open("/opt/ml/output/data/metrics.json", "w") as f:
    f.write('{"ok": true}')
"""


@pytest.fixture(scope="module")
def train_uri(sagemaker_session, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    np.savetxt(folder / "data.csv", np.column_stack([y, x]), delimiter=",")
    uri = sagemaker_session.upload_data(str(folder / "data.csv"), key_prefix="tests/sdk/train")
    return uri.rsplit("/", 1)[0]


def source(tmp_path, name: str, code: str):
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code))
    return str(folder)


def read_tar(uri: str) -> dict[str, bytes]:
    bucket, key = uri[5:].split("/", 1)
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_sklearn_estimator_trains_prints_logs_and_saves_a_model(sagemaker_session, train_uri, tmp_path, capsys):
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(entry_point="train.py", source_dir=source(tmp_path, "train.py", SKLEARN_SCRIPT),
                        role=labcloud.ROLE_ARN, instance_count=1, instance_type="ml.m5.large",
                        framework_version="1.2-1",
                        sagemaker_session=sagemaker_session, hyperparameters={"C": 0.5})
    estimator.fit({"train": train_uri})
    printed = capsys.readouterr().out
    assert "script says: trained with C=0.5 in /opt/ml/code" in printed
    assert '"C": "0.5"' in printed  # hyperparameters.json holds strings, as AWS writes it
    assert "Completed - Training job completed" in printed
    assert "Training seconds:" in printed

    description = estimator.latest_training_job.describe()
    assert description["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert description["BillableTimeInSeconds"] == description["TrainingTimeInSeconds"] >= 1
    job = description["TrainingJobName"]
    assert estimator.model_data.endswith(f"/{job}/output/model.tar.gz")

    import joblib

    files = read_tar(estimator.model_data)
    model = joblib.load(io.BytesIO(files["model.joblib"]))
    assert list(model.predict([[2.0, 2.0], [-2.0, -2.0]])) == [1.0, 0.0]
    output = read_tar(estimator.model_data.replace("model.tar.gz", "output.tar.gz"))
    assert json.loads(output["metrics.json"]) == {"ok": True}


def test_xgboost_framework_mode_script_runs(sagemaker_session, train_uri, tmp_path):
    from sagemaker.xgboost import XGBoost

    script = """
    import argparse, os
    import numpy as np, xgboost as xgb
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int)
    parser.add_argument("--max_depth", type=int)
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
    booster = xgb.train({"max_depth": args.max_depth, "objective": "binary:logistic"},
                        xgb.DMatrix(data[:, 1:], label=data[:, 0]), num_boost_round=args.num_round)
    booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model.json"))
    print("rounds", args.num_round, "hps", os.environ["SM_HPS"])
    """
    estimator = XGBoost(entry_point="xgb.py", source_dir=source(tmp_path, "xgb.py", script),
                        framework_version="1.7-1", role=labcloud.ROLE_ARN, instance_count=1, instance_type="ml.m5.large",
                        sagemaker_session=sagemaker_session, hyperparameters={"num_round": 5, "max_depth": 2})
    estimator.fit({"train": train_uri}, logs=False)
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
    assert "xgboost-model.json" in read_tar(estimator.model_data)


def test_pytorch_estimator_script_runs_without_torch(sagemaker_session, tmp_path, capsys):
    from sagemaker.pytorch import PyTorch

    script = """
    import argparse, json, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    args = parser.parse_args()
    env = json.loads(os.environ["SM_TRAINING_ENV"])
    assert env["hyperparameters"] == {"epochs": 3, "lr": 0.1}, env["hyperparameters"]
    assert os.environ["SM_NUM_GPUS"] == "0" and os.environ["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(os.environ["SM_HOSTS"]) == ["algo-1"]
    print("pytorch-style script: epochs", args.epochs, "user args", os.environ["SM_USER_ARGS"])
    open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.txt"), "w").write("w")
    """
    estimator = PyTorch(entry_point="torch_train.py", source_dir=source(tmp_path, "torch_train.py", script),
                        framework_version="2.1", py_version="py310", role=labcloud.ROLE_ARN,
                        instance_count=1, instance_type="ml.m5.large", sagemaker_session=sagemaker_session,
                        hyperparameters={"epochs": 3, "lr": 0.1})
    assert "pytorch-training:2.1" in estimator.training_image_uri()
    estimator.fit()
    assert "pytorch-style script: epochs 3" in capsys.readouterr().out
    assert "weights.txt" in read_tar(estimator.model_data)


def test_custom_image_runs_the_registered_command(labcloud_server, sagemaker_session, train_uri, tmp_path, capsys):
    from sagemaker.estimator import Estimator

    entrypoint = tmp_path / "entrypoint.py"
    entrypoint.write_text(textwrap.dedent("""
    import json, os, sys
    assert sys.argv[1:] == ["train"], sys.argv
    hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
    channels = json.load(open("/opt/ml/input/config/inputdataconfig.json"))
    print("custom image trains with", hps, "channels", sorted(channels), "env", os.environ["MODE"])
    open("/opt/ml/model/model.txt", "w").write(hps["alpha"])
    """))
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:1.0"
    registry = labcloud_server.state_dir / "labcloud-images.json"
    registry.write_text(json.dumps({"my-trainer": {"command": ["{python}", str(entrypoint)],
                                                   "env": {"MODE": "fast"}}}))
    try:
        estimator = Estimator(image_uri=image, role=labcloud.ROLE_ARN, instance_count=1,
                              instance_type="ml.m5.large", sagemaker_session=sagemaker_session,
                              hyperparameters={"alpha": "0.3"})
        estimator.fit({"train": train_uri})
    finally:
        registry.unlink()
    assert "custom image trains with {'alpha': '0.3'} channels ['train'] env fast" in capsys.readouterr().out
    assert read_tar(estimator.model_data)["model.txt"] == b"0.3"


def test_unregistered_image_is_rejected_with_how_to_register(sagemaker_session):
    from botocore.exceptions import ClientError

    client = sagemaker_session.sagemaker_client
    with pytest.raises(ClientError) as err:
        client.create_training_job(**job_request("unknown-image-job",
                                                 "123456789012.dkr.ecr.us-east-1.amazonaws.com/nobody:1"))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Cannot find repository: nobody" in err.value.response["Error"]["Message"]
    assert "labcloud-images.json" in err.value.response["Error"]["Message"]


def job_request(name: str, image: str, **extra) -> dict:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": labcloud.ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": "s3://sagemaker-us-east-1-123456789012/tests/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(extra)
    return request
