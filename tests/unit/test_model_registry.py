"""The model registry family without a server: its records in a store, events to a stand-in publisher, and
the rules of registry/requests.py and registry/lifecycle.py."""

from __future__ import annotations

import pytest

from labcloud.core.errors import ValidationException
from labcloud.services.sagemaker.registry import requests
from labcloud.services.sagemaker.registry.lifecycle import APPROVAL, MODEL_PACKAGE
from labcloud.services.sagemaker.registry.packages import DETAIL_TYPE, ModelRegistry
from tests.support.families import sagemaker_store, unit_context

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SPEC = {"Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz",
                        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "LEVEL": "package"}}]}


class Events:
    def __init__(self):
        self.published = []

    def publish(self, source, detail_type, detail, resources):
        self.published.append((source, detail_type, detail, resources))


@pytest.fixture
def registry(tmp_path):
    family = ModelRegistry(unit_context(tmp_path, events=Events()), sagemaker_store(tmp_path))
    family.start()
    family.create_model_package_group({"ModelPackageGroupName": "Group"})
    return family


def version(registry, **extra) -> str:
    return registry.create_model_package({"ModelPackageGroupName": "Group", "InferenceSpecification": SPEC,
                                          **extra})["ModelPackageArn"]


def test_the_life_cycles_are_the_documented_ones():
    assert MODEL_PACKAGE.allows("Pending", "InProgress") and MODEL_PACKAGE.allows("InProgress", "Completed")
    assert MODEL_PACKAGE.terminal == {"Deleting"}
    assert APPROVAL.allows("PendingManualApproval", "Approved") and APPROVAL.allows("Approved", "Rejected")
    assert APPROVAL.allows("Rejected", "Approved") and not APPROVAL.allows("Approved", "PendingManualApproval")


@pytest.mark.parametrize("params, words", [
    ({"ModelPackageName": "a", "ModelPackageGroupName": "g", "InferenceSpecification": SPEC}, "Both ModelPackageName"),
    ({"InferenceSpecification": SPEC}, "Missing ARN"),
    ({"ModelPackageGroupName": "g"}, "InferenceSpecification"),
    ({"ModelPackageGroupName": "g", "InferenceSpecification": SPEC, "ValidationSpecification": {"x": 1}},
     "ValidationSpecification"),
    ({"ModelPackageGroupName": "g", "SourceAlgorithmSpecification": {"x": 1}}, "SourceAlgorithmSpecification"),
])
def test_create_requests_labcloud_cannot_serve_are_refused_with_what_to_do(params, words):
    with pytest.raises(ValidationException, match=words):
        requests.check_create_request(params)


def test_a_package_container_merges_the_model_containers_environment_over_the_packages():
    reference = {"ModelPackageName": "g/1", "Environment": {"LEVEL": "model"}}
    [container] = requests.package_containers(reference, {"InferenceSpecification": SPEC})
    assert container == {"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz", "ModelPackageName": "g/1",
                         "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "LEVEL": "model"}}
    two = {"InferenceSpecification": {"Containers": SPEC["Containers"] * 2}}
    with pytest.raises(ValidationException, match="ContainerHostname"):
        requests.package_containers({**reference, "ContainerHostname": "one"}, two)


def test_versions_count_on_after_a_delete_and_across_a_restart(registry, tmp_path):
    first, second = version(registry), version(registry)
    registry.delete_model_package({"ModelPackageName": second})
    assert version(registry).endswith("/group/3")
    again = ModelRegistry(unit_context(tmp_path, events=Events()), sagemaker_store(tmp_path))
    again.start()
    assert again.describe_model_package({"ModelPackageName": first})["ModelPackageVersion"] == 1
    assert version(again).endswith("/group/4")


def test_a_retried_create_with_its_client_token_gets_the_same_version(registry):
    first = version(registry, ClientToken="token-1")
    assert version(registry, ClientToken="token-1") == first
    assert len(registry.ctx.events.published) == 1


def test_registration_and_approval_changes_are_published_and_nothing_else(registry):
    arn = version(registry)
    registry.update_model_package({"ModelPackageArn": arn, "CustomerMetadataProperties": {"k": "v"}})
    registry.update_model_package({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})
    registry.update_model_package({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})  # unchanged
    published = registry.ctx.events.published
    assert [(p[1], p[2]["ModelApprovalStatus"], p[3]) for p in published] == [
        (DETAIL_TYPE, "PendingManualApproval", [arn]), (DETAIL_TYPE, "Approved", [arn])]
    assert published[1][2]["CustomerMetadataProperties"] == {"k": "v"}
    assert set(published[1][2]) <= set(requests.EVENT_FIELDS)


def test_a_model_from_a_version_needs_it_approved_and_runs_its_containers(registry):
    arn = version(registry)
    request = {"ModelName": "m", "PrimaryContainer": {"ModelPackageName": arn}}
    with pytest.raises(ValidationException, match="must be Approved"):
        registry.model_containers(request)
    registry.update_model_package({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})
    resolved = registry.model_containers(request)
    assert resolved["PrimaryContainer"]["Image"] == IMAGE and resolved["PrimaryContainer"]["ModelPackageName"] == arn
    plain = {"ModelName": "m", "PrimaryContainer": {"Image": IMAGE}}
    assert registry.model_containers(plain) is plain


def test_an_unversioned_package_has_no_approval_to_give(registry):
    arn = registry.create_model_package({"ModelPackageName": "alone", "InferenceSpecification": SPEC,
                                         "ModelApprovalStatus": "PendingManualApproval"})["ModelPackageArn"]
    assert "ModelApprovalStatus" not in registry.describe_model_package({"ModelPackageName": "alone"})
    assert registry.model_containers({"PrimaryContainer": {"ModelPackageName": "alone"}})["PrimaryContainer"]["Image"]
    with pytest.raises(ValidationException, match="versioned model packages only"):
        registry.update_model_package({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"})
