"""Managed spot training: interruptions (by tag), checkpoints to S3 and back, billing."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap

import boto3

import labcloud

CHECKPOINTING_SCRIPT = """
import json, os, time
checkpoint = "/opt/ml/checkpoints/state.json"
state = {"epoch": 0, "w": 1.0}
if os.path.exists(checkpoint):
    state = json.load(open(checkpoint))
print("starting at epoch", state["epoch"], flush=True)
for epoch in range(state["epoch"], 6):
    state["w"] = state["w"] * 1.5 + epoch
    state["epoch"] = epoch + 1
    with open(checkpoint + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(checkpoint + ".tmp", checkpoint)
    print("epoch", epoch, "done", flush=True)
    time.sleep(0.4)
json.dump(state, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
"""


def _estimator(session, source_dir, checkpoint_uri, interruptions: int | None, spot: bool = True):
    from sagemaker.sklearn import SKLearn

    tags = [{"Key": "labcloud:spot-interruptions", "Value": str(interruptions)}] if interruptions else None
    return SKLearn(entry_point="train.py", source_dir=source_dir, role=labcloud.ROLE_ARN, instance_count=1,
                   instance_type="ml.m5.large", framework_version="1.2-1", sagemaker_session=session,
                   use_spot_instances=spot, max_run=300, max_wait=600 if spot else None,
                   checkpoint_s3_uri=checkpoint_uri, tags=tags)


def _model(uri: str) -> dict:
    bucket, key = uri[5:].split("/", 1)
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return json.load(tar.extractfile("model.json"))


def test_spot_job_interrupted_twice_resumes_from_its_checkpoint(sagemaker_session, tmp_path, capsys):
    (tmp_path / "train.py").write_text(textwrap.dedent(CHECKPOINTING_SCRIPT))
    bucket = sagemaker_session.default_bucket()

    reference = _estimator(sagemaker_session, str(tmp_path), f"s3://{bucket}/tests/spot/ref-ckpt", None, spot=False)
    reference.fit(logs=False)

    estimator = _estimator(sagemaker_session, str(tmp_path), f"s3://{bucket}/tests/spot/ckpt", 2)
    estimator.fit()
    printed = capsys.readouterr().out
    description = estimator.latest_training_job.describe()

    assert description["TrainingJobStatus"] == "Completed"
    statuses = [t["Status"] for t in description["SecondaryStatusTransitions"]]
    assert statuses.count("Interrupted") == 2
    assert statuses == ["Starting", "Downloading", "Training", "Interrupted"] * 2 + [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    # Each restart began where the last checkpoint left off, not at epoch 0.
    starts = [int(line.split("starting at epoch")[1]) for line in printed.splitlines() if "starting at epoch" in line]
    assert len(starts) == 3 and starts[0] == 0 and 0 < starts[1] < starts[2]
    assert _model(estimator.model_data) == _model(reference.model_data) == {"epoch": 6, "w": _expected_w()}

    assert description["BillableTimeInSeconds"] < description["TrainingTimeInSeconds"]
    assert "Managed Spot Training savings" in printed
    checkpoint = boto3.client("s3").get_object(Bucket=bucket, Key="tests/spot/ckpt/state.json")
    assert json.load(checkpoint["Body"])["epoch"] == 6


def test_a_new_job_on_the_same_checkpoint_uri_starts_from_it(sagemaker_session, tmp_path, capsys):
    (tmp_path / "train.py").write_text(textwrap.dedent(CHECKPOINTING_SCRIPT))
    bucket = sagemaker_session.default_bucket()
    boto3.client("s3").put_object(Bucket=bucket, Key="tests/spot/shared/state.json",
                                  Body=json.dumps({"epoch": 5, "w": 2.0}).encode())
    estimator = _estimator(sagemaker_session, str(tmp_path), f"s3://{bucket}/tests/spot/shared", None)
    estimator.fit()
    assert "starting at epoch 5" in capsys.readouterr().out
    assert _model(estimator.model_data) == {"epoch": 6, "w": 2.0 * 1.5 + 5}


def _expected_w() -> float:
    w = 1.0
    for epoch in range(6):
        w = w * 1.5 + epoch
    return w
