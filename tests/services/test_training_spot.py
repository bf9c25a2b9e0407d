"""Managed spot training: interruptions (by tag: after checkpoints or after some seconds), checkpoints to S3
and back, billing."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap

import boto3
import pytest
from botocore.exceptions import ClientError

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


# Works about 3 s and never writes a checkpoint: an interrupted attempt's work is lost.
NEVER_CHECKPOINTING_SCRIPT = """
import os, time
print("attempt starts from scratch", flush=True)
time.sleep(3)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w").write("{}")
"""

INTERRUPTED = ["Starting", "Downloading", "Training", "Interrupted"]
FINISHED = ["Starting", "Downloading", "Training", "Uploading", "Completed"]


def _estimator(session, source_dir, checkpoint_uri, interruptions: int | str | None, spot: bool = True,
               after_seconds: float | str | None = None):
    from sagemaker.sklearn import SKLearn

    tags = [{"Key": "labcloud:spot-interruptions", "Value": str(interruptions)}] if interruptions else []
    if after_seconds is not None:
        tags.append({"Key": "labcloud:spot-interrupt-after-seconds", "Value": str(after_seconds)})
    return SKLearn(entry_point="train.py", source_dir=source_dir, role=labcloud.ROLE_ARN, instance_count=1,
                   instance_type="ml.m5.large", framework_version="1.2-1", sagemaker_session=session,
                   use_spot_instances=spot, max_run=300, max_wait=600 if spot else None,
                   checkpoint_s3_uri=checkpoint_uri, tags=tags or None)


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
    assert statuses == INTERRUPTED * 2 + FINISHED
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


def _interrupted_training_seconds(description: dict) -> list[float]:
    """How long each interrupted attempt was Training before it was Interrupted."""
    transitions = description["SecondaryStatusTransitions"]
    return [(after["StartTime"] - before["StartTime"]).total_seconds()
            for before, after in zip(transitions, transitions[1:]) if after["Status"] == "Interrupted"]


def test_a_job_that_never_checkpoints_is_interrupted_by_time_and_pays_for_the_lost_work(
        sagemaker_session, tmp_path, capsys):
    (tmp_path / "train.py").write_text(textwrap.dedent(NEVER_CHECKPOINTING_SCRIPT))
    reference = _estimator(sagemaker_session, str(tmp_path), None, None)
    estimator = _estimator(sagemaker_session, str(tmp_path), None, 2, after_seconds=1)
    reference.fit(wait=False)  # the two run side by side
    estimator.fit()
    reference.latest_training_job.wait(logs=False)
    printed = capsys.readouterr().out
    description = estimator.latest_training_job.describe()
    uninterrupted = reference.latest_training_job.describe()

    assert description["TrainingJobStatus"] == uninterrupted["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]] == INTERRUPTED * 2 + FINISHED
    assert all(seconds >= 1 for seconds in _interrupted_training_seconds(description))
    assert printed.count("attempt starts from scratch") == 3
    # The seconds the interrupted attempts ran (about 2) are paid for on top of a whole run.
    assert description["TrainingTimeInSeconds"] > uninterrupted["TrainingTimeInSeconds"]
    assert description["BillableTimeInSeconds"] < description["TrainingTimeInSeconds"]


def test_a_checkpointing_job_is_interrupted_by_time_once_and_resumes(sagemaker_session, tmp_path, capsys):
    (tmp_path / "train.py").write_text(textwrap.dedent(CHECKPOINTING_SCRIPT))
    bucket = sagemaker_session.default_bucket()
    # The time tag alone: one interruption, 1.5 s into the attempt (after a few epochs, not the first).
    estimator = _estimator(sagemaker_session, str(tmp_path), f"s3://{bucket}/tests/spot/timed-ckpt", None,
                           after_seconds=1.5)
    estimator.fit()
    printed = capsys.readouterr().out
    description = estimator.latest_training_job.describe()

    assert description["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]] == INTERRUPTED + FINISHED
    assert _interrupted_training_seconds(description)[0] >= 1.5
    starts = [int(line.split("starting at epoch")[1]) for line in printed.splitlines() if "starting at epoch" in line]
    assert len(starts) == 2 and starts[0] == 0 and starts[1] > 0
    assert _model(estimator.model_data) == {"epoch": 6, "w": _expected_w()}


@pytest.mark.parametrize("interruptions, after_seconds, tag, expected", [
    (None, "soon", "labcloud:spot-interrupt-after-seconds", "must be a positive number of seconds"),
    (None, "0", "labcloud:spot-interrupt-after-seconds", "must be a positive number of seconds"),
    (None, "inf", "labcloud:spot-interrupt-after-seconds", "must be a positive number of seconds"),
    ("two", None, "labcloud:spot-interruptions", "must be a whole number of interruptions, 0 or more"),
])
def test_a_spot_tag_value_it_cannot_mean_is_refused(sagemaker_session, tmp_path, interruptions, after_seconds,
                                                     tag, expected):
    (tmp_path / "train.py").write_text("print('never runs')\n")
    estimator = _estimator(sagemaker_session, str(tmp_path), None, interruptions, after_seconds=after_seconds)
    with pytest.raises(ClientError) as err:
        estimator.fit(wait=False)
    error = err.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(f"The value of tag {tag} {expected}")


def _expected_w() -> float:
    w = 1.0
    for epoch in range(6):
        w = w * 1.5 + epoch
    return w
