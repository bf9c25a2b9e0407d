"""An endpoint's invocation metrics reach CloudWatch as SageMaker publishes them (AWS/SageMaker): counts,
ModelLatency, OverheadLatency, and ContainerLatency per container of a pipeline, read back with the API a
learner would use; its state changes reach an EventBridge rule."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.events import received, rule_queue
from tests.support.hosting import (REGRESSOR_SCRIPT, ROLE, SCALER_SCRIPT, container, fitted_models, model_tarball,
                                   upload)
from tests.support.waiting import wait_until


def statistic(cloudwatch, metric, dimensions, stat="Sum"):
    now = dt.datetime.now(dt.timezone.utc)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions],
        StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=1), Period=3600,
        Statistics=[stat])["Datapoints"]
    return sum(p[stat] for p in points) if stat in ("Sum", "SampleCount") else (points[0][stat] if points else None)


def test_a_pipeline_endpoints_invocations_and_latencies_reach_cloudwatch(labcloud_server, sm, runtime):
    s3, cloudwatch = boto3.client("s3"), boto3.client("cloudwatch")
    s3.create_bucket(Bucket="endpoint-metrics")
    scaler, regressor = fitted_models()
    scale = upload(s3, "endpoint-metrics", "scaler.tar.gz", model_tarball(scaler, SCALER_SCRIPT))
    predict = upload(s3, "endpoint-metrics", "regressor.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    sm.create_model(ModelName="metered", ExecutionRoleArn=ROLE, Containers=[
        container(scale, hostname="scaler"), container(predict, hostname="regressor")])
    sm.create_endpoint_config(EndpointConfigName="metered", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "metered", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    changes = rule_queue("endpoint-changes", "endpoint-changes", {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {"EndpointName": ["metered"]}})
    sm.create_endpoint(EndpointName="metered", EndpointConfigName="metered")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="metered", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})

    for _ in range(5):
        runtime.invoke_endpoint(EndpointName="metered", Body=b"10,11,12", ContentType="text/csv")
    with pytest.raises(ClientError):  # a body the scaler cannot read: a ModelError, counted as an error
        runtime.invoke_endpoint(EndpointName="metered", Body=b"not,a,number", ContentType="text/csv")

    base = [("EndpointName", "metered"), ("VariantName", "AllTraffic")]
    wait_until(lambda: statistic(cloudwatch, "Invocations", base) == 6, "6 invocations in CloudWatch", timeout=20)
    assert statistic(cloudwatch, "Invocation4XXErrors", base) + statistic(cloudwatch, "Invocation5XXErrors", base) == 1
    model = statistic(cloudwatch, "ModelLatency", base, "Average")
    assert model and model > 0
    assert statistic(cloudwatch, "OverheadLatency", base, "SampleCount") >= 5
    per_container = {name: statistic(cloudwatch, "ContainerLatency", base + [("ContainerName", name)], "Average")
                     for name in ("scaler", "regressor")}
    assert all(value and value > 0 for value in per_container.values()), per_container
    assert sum(per_container.values()) <= model * 1.5  # the parts of ModelLatency, near enough on average
    sm.delete_endpoint(EndpointName="metered")
    statuses = [e["detail"]["EndpointStatus"] for e in received(changes, 2.0)]
    assert statuses == ["Creating", "InService", "Deleting"], statuses
