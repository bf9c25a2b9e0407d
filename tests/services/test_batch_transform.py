"""A batch transform job end to end through labcloud: a single-record job completes with one prediction per
line, a model that cannot start fails its job, and DataProcessing keeps an id beside each prediction."""

from __future__ import annotations

import time

import boto3
import pytest
from tests.support.hosting import BROKEN_SCRIPT, REGRESSOR_SCRIPT, ROLE, container, fitted_models, model_tarball, \
    upload


def run_job(sm, name, model, split="Line", strategy="SingleRecord", source="s3://transform/in/", **more):
    sm.create_transform_job(
        TransformJobName=name, ModelName=model, BatchStrategy=strategy, **more,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
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


def test_data_processing_keeps_an_id_beside_each_prediction_through_the_sdk(labcloud_server, sagemaker_session):
    from sagemaker.transformer import Transformer

    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    if "transform" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="transform")
    _, regressor = fitted_models()
    good = upload(s3, "transform", "models/ids.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    sm.create_model(ModelName="transform-ids", ExecutionRoleArn=ROLE, PrimaryContainer=container(good))
    upload(s3, "transform", "with-ids/rows.csv", b"c-17,1,2,3\nc-42,4,5,6\nc-99,7,8,9\n")

    transformer = Transformer(model_name="transform-ids", instance_count=1, instance_type="ml.m5.large",
                              output_path="s3://transform/out/ids", accept="text/csv", assemble_with="Line",
                              strategy="MultiRecord", sagemaker_session=sagemaker_session)
    transformer.transform("s3://transform/with-ids/", content_type="text/csv", split_type="Line",
                          input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]", wait=True, logs=False)
    lines = s3.get_object(Bucket="transform", Key="out/ids/rows.csv.out")["Body"].read().decode().splitlines()
    expected = regressor.predict([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert [line.split(",")[0] for line in lines] == ["c-17", "c-42", "c-99"]
    assert [float(line.split(",")[1]) for line in lines] == pytest.approx(list(expected))

    # A filter past the record's values fails the job saying so; one labcloud cannot read is refused at once.
    described = run_job(sm, "ids-past-the-end", "transform-ids", source="s3://transform/with-ids/", DataProcessing={
        "InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[9]"})
    assert described["TransformJobStatus"] == "Failed" and "past the record" in described["FailureReason"]
    with pytest.raises(sm.exceptions.ClientError, match=r"OutputFilter '\$\.\.deep'"):
        run_job(sm, "ids-unreadable", "transform-ids", source="s3://transform/with-ids/",
                DataProcessing={"OutputFilter": "$..deep"})

