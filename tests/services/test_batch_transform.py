"""A batch transform job end to end through labcloud: a single-record job completes with one prediction per
line, and a model that cannot start fails its job."""

from __future__ import annotations

import time

import boto3
import pytest
from tests.support.hosting import BROKEN_SCRIPT, REGRESSOR_SCRIPT, ROLE, container, fitted_models, model_tarball, \
    upload


def run_job(sm, name, model, split="Line", strategy="SingleRecord"):
    sm.create_transform_job(
        TransformJobName=name, ModelName=model, BatchStrategy=strategy,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://transform/in/"}},
                        "ContentType": "text/csv", "SplitType": split},
        TransformOutput={"S3OutputPath": f"s3://transform/out/{name}", "Accept": "text/csv",
                         "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    deadline = time.monotonic() + 60
    while True:
        described = sm.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] not in ("InProgress", "Stopping") or time.monotonic() > deadline:
            return described
        time.sleep(0.1)


def test_single_record_job_completes_and_a_broken_model_fails(labcloud_server):
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket="transform")
    scaler, regressor = fitted_models()
    good = upload(s3, "transform", "models/good.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    bad = upload(s3, "transform", "models/bad.tar.gz", model_tarball(regressor, BROKEN_SCRIPT))
    upload(s3, "transform", "in/rows.csv", b"1,2,3\n4,5,6\n7,8,9\n")
    sm.create_model(ModelName="transform-good", ExecutionRoleArn=ROLE, PrimaryContainer=container(good))
    sm.create_model(ModelName="transform-bad", ExecutionRoleArn=ROLE, PrimaryContainer=container(bad))

    described = run_job(sm, "single-record", "transform-good")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    lines = s3.get_object(Bucket="transform", Key="out/single-record/rows.csv.out")["Body"].read().splitlines()
    expected = regressor.predict([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert [float(x) for x in lines] == pytest.approx(list(expected))

    described = run_job(sm, "broken-model", "transform-bad")
    assert described["TransformJobStatus"] == "Failed"
    assert "not_a_module_that_exists_anywhere" in described["FailureReason"]
    summaries = sm.list_transform_jobs(StatusEquals="Failed")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in summaries] == ["broken-model"]

    with pytest.raises(sm.exceptions.ClientError, match="Could not find requested job"):
        sm.describe_transform_job(TransformJobName="nope")
