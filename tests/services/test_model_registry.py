"""The model registry through boto3 and the SageMaker Python SDK v2, against a real labcloud: groups and
versions, approvals and the EventBridge events they emit, AWS's errors, a restart, and an approved version
deployed with ModelPackage(...).deploy()."""

from __future__ import annotations

import datetime as dt

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from labcloud.client.environment import client_environment
from tests.support.events import DETAIL_TYPE, approval_queue, received
from tests.support.hosting import (REGRESSOR_SCRIPT, ROLE, SKLEARN_IMAGE, container, csv_rows, fitted_models,
                                  model_tarball, training_data, upload)
from tests.support.server import FAST_SETTINGS, LabcloudProcess

ACCOUNT_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"


def inference_spec(model_data: str = "s3://registry-bucket/model.tar.gz") -> dict:
    return {"Containers": [{"Image": SKLEARN_IMAGE, "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}


def register(sm, group: str, **extra) -> str:
    return sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference_spec(),
                                   **extra)["ModelPackageArn"]


def error_of(call) -> dict:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]


def test_versions_are_numbered_in_their_group_and_described_as_sagemaker_does(sm):
    group_arn = sm.create_model_package_group(ModelPackageGroupName="Churn-Models",
                                              ModelPackageGroupDescription="churn")["ModelPackageGroupArn"]
    assert group_arn == f"{ACCOUNT_PREFIX}:model-package-group/churn-models"
    described_group = sm.describe_model_package_group(ModelPackageGroupName="Churn-Models")
    assert described_group["ModelPackageGroupStatus"] == "Completed"
    assert described_group["ModelPackageGroupDescription"] == "churn"

    first = register(sm, "Churn-Models", ModelPackageDescription="first",
                     MetadataProperties={"GeneratedBy": "my-notebook"})
    second = register(sm, group_arn, ModelApprovalStatus="Approved")  # the group by ARN works too
    assert first == f"{ACCOUNT_PREFIX}:model-package/churn-models/1"
    assert second == f"{ACCOUNT_PREFIX}:model-package/churn-models/2"

    described = sm.describe_model_package(ModelPackageName=first)
    assert described["ModelPackageGroupName"] == "Churn-Models" and described["ModelPackageVersion"] == 1
    assert described["ModelPackageName"] == "Churn-Models/1"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["ModelPackageStatusDetails"] == {"ValidationStatuses": [], "ImageScanStatuses": []}
    assert described["ModelApprovalStatus"] == "PendingManualApproval"  # the default for a version
    assert described["InferenceSpecification"] == inference_spec()
    assert described["MetadataProperties"] == {"GeneratedBy": "my-notebook"}
    assert sm.describe_model_package(ModelPackageName="churn-models/2")["ModelApprovalStatus"] == "Approved"

    unversioned = sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=inference_spec())
    assert unversioned["ModelPackageArn"] == f"{ACCOUNT_PREFIX}:model-package/standalone"
    alone = sm.describe_model_package(ModelPackageName="standalone")
    assert "ModelPackageGroupName" not in alone and "ModelApprovalStatus" not in alone


def test_list_model_packages_filters_sorts_and_pages(sm):
    sm.create_model_package_group(ModelPackageGroupName="listing")
    before = dt.datetime.now(dt.timezone.utc)
    arns = [register(sm, "listing", ModelApprovalStatus=s) for s in ("Approved", "Rejected", "Approved")]

    def arns_of(**filters):
        return [s["ModelPackageArn"] for s in sm.list_model_packages(**filters)["ModelPackageSummaryList"]]

    # newest first when no SortOrder is given, as the Projects seed code (get_approved_package) relies on
    assert arns_of(ModelPackageGroupName="listing") == arns[::-1]
    assert arns_of(ModelPackageGroupName="listing", SortBy="CreationTime", SortOrder="Ascending") == arns
    assert arns_of(ModelPackageGroupName="listing", ModelApprovalStatus="Approved") == [arns[2], arns[0]]
    assert arns_of(ModelPackageGroupName="listing", CreationTimeBefore=before) == []
    assert arns_of(ModelPackageGroupName="nothing-registered-here") == []
    summary = sm.list_model_packages(ModelPackageGroupName="listing", MaxResults=1)["ModelPackageSummaryList"][0]
    assert set(summary) >= {"ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "CreationTime",
                            "ModelPackageStatus", "ModelApprovalStatus"}
    assert arns[0] not in arns_of(ModelPackageType="Unversioned")  # the type a list without a group shows
    assert set(arns) <= set(arns_of(ModelPackageType="Versioned", NameContains="listing", MaxResults=100))

    pages = list(sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName="listing", SortOrder="Ascending", PaginationConfig={"PageSize": 2}))
    assert [len(p["ModelPackageSummaryList"]) for p in pages] == [2, 1]
    assert [s["ModelPackageArn"] for p in pages for s in p["ModelPackageSummaryList"]] == arns

    groups = sm.list_model_package_groups(NameContains="listing", SortBy="Name")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["listing"]


def test_approval_emits_exactly_one_event_with_the_documented_fields(sm):
    sm.create_model_package_group(ModelPackageGroupName="approvals")
    queue = approval_queue("approvals")
    arn = register(sm, "approvals", ModelMetrics={"ModelQuality": {"Statistics": {
        "ContentType": "application/json", "S3Uri": "s3://registry-bucket/evaluation.json"}}},
        MetadataProperties={"GeneratedBy": f"{ACCOUNT_PREFIX}:pipeline/p/execution/abc123"})
    assert received(queue, 1.0) == []  # a PendingManualApproval registration does not match the rule

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                            ApprovalDescription="AUC 0.91 on the holdout set")
    events = received(queue)
    assert len(events) == 1
    event = events[0]
    assert event["source"] == "aws.sagemaker" and event["detail-type"] == DETAIL_TYPE
    assert event["resources"] == [arn]
    detail = event["detail"]
    assert detail["ModelPackageGroupName"] == "approvals" and detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageArn"] == arn and detail["ModelPackageStatus"] == "Completed"
    assert detail["ModelApprovalStatus"] == "Approved"
    assert detail["ApprovalDescription"] == "AUC 0.91 on the holdout set"
    assert detail["MetadataProperties"]["GeneratedBy"] == f"{ACCOUNT_PREFIX}:pipeline/p/execution/abc123"
    assert detail["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == "s3://registry-bucket/evaluation.json"
    assert detail["InferenceSpecification"]["Containers"][0]["Image"] == SKLEARN_IMAGE
    assert dt.datetime.strptime(detail["CreationTime"], "%Y-%m-%dT%H:%M:%SZ")

    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ApprovalDescription"] == "AUC 0.91 on the holdout set"
    assert described["LastModifiedTime"] >= described["CreationTime"] and "LastModifiedBy" in described

    rejected = register(sm, "approvals")
    sm.update_model_package(ModelPackageArn=rejected, ModelApprovalStatus="Rejected",
                            CustomerMetadataProperties={"reason": "drift"})
    assert [(e["resources"], e["detail"]["ModelApprovalStatus"]) for e in received(queue)] == [
        ([rejected], "Rejected")]
    assert sm.describe_model_package(ModelPackageName=rejected)["CustomerMetadataProperties"] == {"reason": "drift"}


def test_errors_are_sagemakers_and_name_the_culprit(sm):
    sm.create_model_package_group(ModelPackageGroupName="errors")
    arn = register(sm, "errors")

    ninth = f"{ACCOUNT_PREFIX}:model-package/errors/9"
    missing = error_of(lambda: sm.describe_model_package(ModelPackageName=ninth))
    assert missing == {"Code": "ValidationException", "Message": f"ModelPackage {ninth} does not exist."}
    no_group = error_of(lambda: sm.describe_model_package_group(ModelPackageGroupName="no-such-group"))
    assert no_group == {"Code": "ValidationException", "Message":
                        f"ModelPackageGroup {ACCOUNT_PREFIX}:model-package-group/no-such-group does not exist."}
    into_nothing = error_of(lambda: register(sm, "no-such-group"))
    assert into_nothing["Code"] == "ValidationException"
    assert "model-package-group/no-such-group" in into_nothing["Message"]
    duplicate = error_of(lambda: sm.create_model_package_group(ModelPackageGroupName="errors"))
    assert duplicate["Code"] == "ValidationException" and "already exists" in duplicate["Message"]

    holding = error_of(lambda: sm.delete_model_package_group(ModelPackageGroupName="errors"))
    assert holding["Code"] == "ConflictException"
    assert "model-package-group/errors" in holding["Message"] and arn in holding["Message"]

    backwards = error_of(lambda: (sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved"),
                                  sm.update_model_package(ModelPackageArn=arn,
                                                          ModelApprovalStatus="PendingManualApproval")))
    assert backwards["Code"] == "ValidationException" and arn in backwards["Message"]
    both = error_of(lambda: sm.create_model_package(ModelPackageName="x", ModelPackageGroupName="errors",
                                                    InferenceSpecification=inference_spec()))
    assert both["Code"] == "ValidationException"
    assert "Both ModelPackageName and ModelPackageGroupName" in both["Message"]

    sm.delete_model_package(ModelPackageName=arn)
    assert error_of(lambda: sm.describe_model_package(ModelPackageName=arn))["Code"] == "ValidationException"
    assert register(sm, "errors").endswith("/errors/2")  # a deleted version's number is not given again
    sm.delete_model_package(ModelPackageName=f"{ACCOUNT_PREFIX}:model-package/errors/2")
    sm.delete_model_package_group(ModelPackageGroupName="errors")
    assert error_of(lambda: sm.describe_model_package_group(ModelPackageGroupName="errors"))["Code"] == \
        "ValidationException"


def test_groups_versions_and_approvals_survive_a_restart(tmp_path, monkeypatch):
    server = LabcloudProcess.start(tmp_path / "state", env=FAST_SETTINGS)
    for key, value in client_environment(server.url).items():
        monkeypatch.setenv(key, value)
    try:
        sm = boto3.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="durable")
        first = register(sm, "durable")
        register(sm, "durable")
        sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    finally:
        assert server.stop() == 0, server.log()
    server = LabcloudProcess.start(tmp_path / "state", port=server.port, env=FAST_SETTINGS)
    try:
        sm = boto3.client("sagemaker")
        described = sm.describe_model_package(ModelPackageName=first)
        assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "ok")
        assert [s["ModelPackageVersion"] for s in sm.list_model_packages(
            ModelPackageGroupName="durable", SortOrder="Ascending")["ModelPackageSummaryList"]] == [1, 2]
        assert register(sm, "durable").endswith("/durable/3")
    finally:
        assert server.stop() == 0, server.log()


def test_a_version_registered_with_the_sdk_is_deployed_once_approved(tmp_path, sagemaker_session, sm):
    from sagemaker import ModelPackage
    from sagemaker.sklearn.model import SKLearnModel

    (tmp_path / "regressor.py").write_text(REGRESSOR_SCRIPT)
    scaler, regressor = fitted_models()
    bucket = sagemaker_session.default_bucket()
    model_data = upload(boto3.client("s3"), bucket, "registry-sdk/model.tar.gz", model_tarball(regressor))
    model = SKLearnModel(model_data=model_data, role=ROLE, entry_point="regressor.py", source_dir=str(tmp_path),
                         framework_version="1.2-1", py_version="py3", sagemaker_session=sagemaker_session)
    registered = model.register(content_types=["text/csv"], response_types=["text/csv"],
                                inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
                                model_package_group_name="sdk-registered")  # the SDK creates the group
    arn = registered.model_package_arn
    assert arn == f"{ACCOUNT_PREFIX}:model-package/sdk-registered/1"
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"

    refused = error_of(lambda: sm.create_model(ModelName="from-pending", ExecutionRoleArn=ROLE,
                                               PrimaryContainer={"ModelPackageName": arn}))
    assert refused["Code"] == "ValidationException"
    assert arn in refused["Message"] and "Approved" in refused["Message"]

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    ModelPackage(role=ROLE, model_package_arn=arn, sagemaker_session=sagemaker_session).deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="registry-sdk")
    try:
        X, _ = training_data(3)
        answer = boto3.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="registry-sdk", ContentType="text/csv", Accept="text/csv",
            Body=csv_rows(scaler.transform(X[:4])))
        got = np.loadtxt(answer["Body"].read().decode().splitlines(), delimiter=",", ndmin=1)
        np.testing.assert_allclose(got, regressor.predict(scaler.transform(X[:4])))
        config = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(
            EndpointName="registry-sdk")["EndpointConfigName"])
        created = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])["PrimaryContainer"]
        assert created["ModelPackageName"] == arn and created["Image"] == SKLEARN_IMAGE
    finally:
        sm.delete_endpoint(EndpointName="registry-sdk")


def test_a_model_from_a_version_named_in_containers_as_the_registry_guide_does(sm, s3, sagemaker_session):
    _, regressor = fitted_models()
    data = upload(s3, sagemaker_session.default_bucket(), "registry-boto3/model.tar.gz",
                  model_tarball(regressor, REGRESSOR_SCRIPT))
    sm.create_model_package_group(ModelPackageGroupName="guide")
    arn = sm.create_model_package(ModelPackageGroupName="guide", ModelApprovalStatus="Approved",
                                  InferenceSpecification={"Containers": [container(data)]})["ModelPackageArn"]
    sm.create_model(ModelName="guide-model", ExecutionRoleArn=ROLE,
                    Containers=[{"ModelPackageName": arn, "Environment": {"EXTRA": "1"}}])
    primary = sm.describe_model(ModelName="guide-model")["PrimaryContainer"]
    assert primary["ModelDataUrl"] == data and primary["Environment"]["EXTRA"] == "1"
    assert primary["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"  # the package's, merged
    unknown = error_of(lambda: sm.create_model(ModelName="guide-2", ExecutionRoleArn=ROLE,
                                               PrimaryContainer={"ModelPackageName": "guide/7"}))
    assert unknown == {"Code": "ValidationException",
                       "Message": f"ModelPackage {ACCOUNT_PREFIX}:model-package/guide/7 does not exist."}
