"""services/sagemaker/usage.py: usage rows from jobs' descriptions and endpoints' usage records."""

from __future__ import annotations

import datetime as dt

from labcloud.services.sagemaker.usage import (EndpointUsage, UsageRow, processing_rows, training_rows,
                                               transform_rows)

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_training_job_bills_what_describe_training_job_reports():
    job = {"TrainingJobName": "spot", "TrainingJobStatus": "Completed", "EnableManagedSpotTraining": True,
           "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 1},
           "TrainingStartTime": at(0), "TrainingEndTime": at(100), "TrainingTimeInSeconds": 90,
           "BillableTimeInSeconds": 27}
    (row,) = training_rows(job)
    assert (row.kind, row.name, row.instance_type, row.instance_count, row.billable_seconds, row.spot,
            row.training_seconds) == ("training-job", "spot", "ml.m5.xlarge", 2, 27, True, 90)


def test_a_heterogeneous_cluster_is_a_row_per_instance_group_and_a_running_job_bills_nothing_yet():
    job = {"TrainingJobName": "hetero", "TrainingJobStatus": "InProgress", "ResourceConfig": {
        "VolumeSizeInGB": 1, "InstanceGroups": [
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.xlarge", "InstanceCount": 1}]}}
    rows = training_rows(job)
    assert [(r.name, r.instance_type, r.instance_count, r.billable_seconds) for r in rows] == [
        ("hetero/cpu", "ml.c5.xlarge", 2, 0), ("hetero/gpu", "ml.g5.xlarge", 1, 0)]


def test_processing_and_transform_bill_from_start_to_end_or_now_rounded_up():
    processing = {"ProcessingJobName": "p", "ProcessingJobStatus": "InProgress", "ProcessingStartTime": at(0),
                  "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3,
                                                            "VolumeSizeInGB": 1}}}
    (row,) = processing_rows(processing, now=at(10.2))
    assert (row.instance_count, row.billable_seconds, row.end) == (3, 11, None)
    transform = {"TransformJobName": "t", "TransformJobStatus": "Completed", "TransformStartTime": at(5),
                 "TransformEndTime": at(65), "TransformResources": {"InstanceType": "ml.m5.xlarge",
                                                                    "InstanceCount": 1}}
    (row,) = transform_rows(transform, now=at(1000))
    assert (row.kind, row.billable_seconds, row.status) == ("transform-job", 60, "Completed")
    assert transform_rows({**transform, "TransformStartTime": None, "TransformEndTime": None,
                           "TransformJobStatus": "InProgress"}, now=at(9))[0].billable_seconds == 0


def config(name: str, *variants) -> dict:
    return {"EndpointConfigName": name, "ProductionVariants": [
        {"VariantName": v, "InstanceType": t, "InitialInstanceCount": n} for v, t, n in variants]}


def test_an_endpoint_bills_each_config_it_served_until_deleted():
    usage = EndpointUsage.new("ep", at(0))
    assert usage.in_service(config("small", ("AllTraffic", "ml.m5.large", 1)), at(10))
    assert not usage.in_service(config("small", ("AllTraffic", "ml.m5.large", 1)), at(50))  # a restart
    assert usage.in_service(config("big", ("a", "ml.m5.xlarge", 2), ("b", "ml.g4dn.xlarge", 1)), at(100))
    rows = usage.rows("InService", now=at(160))
    assert [(r.name, r.instance_type, r.instance_count, r.billable_seconds, r.status) for r in rows] == [
        ("ep", "ml.m5.large", 1, 90, "InService"), ("ep/a", "ml.m5.xlarge", 2, 60, "InService"),
        ("ep/b", "ml.g4dn.xlarge", 1, 60, "InService")]
    usage.deleted(at(200))
    later = usage.rows(None, now=at(10_000))
    assert [(r.billable_seconds, r.status, r.end) for r in later] == [
        (90, "Deleted", at(100)), (100, "Deleted", at(200)), (100, "Deleted", at(200))]


def test_an_endpoint_that_never_served_bills_nothing_and_rows_survive_json():
    usage = EndpointUsage.new("failed", at(0))
    usage.deleted(at(30))
    assert usage.rows(None, now=at(60)) == []
    assert EndpointUsage.key("ep", at(0)) != EndpointUsage.key("ep", at(1))  # same name, made again
    row = UsageRow("endpoint", "ep", "ml.m5.large", 1, 90, "InService", at(10), None)
    assert UsageRow.from_json(row.to_json()) == row
