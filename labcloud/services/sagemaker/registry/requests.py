"""The model registry's rules that need no state: what CreateModelPackage accepts, what a version's
Describe answer and its event say, and which containers a model made from a package runs."""

from __future__ import annotations

import copy

from labcloud.core.errors import ValidationException
from labcloud.protocols.validation import require
from labcloud.services.sagemaker.registry.lifecycle import MODEL_PACKAGE, PENDING_APPROVAL

# What CreateModelPackage takes and the package keeps under other names, or not at all.
_NOT_COPIED = {"ModelPackageName", "ModelPackageGroupName", "Tags", "ClientToken", "ModelApprovalStatus",
               "CertifyForMarketplace"}

# The detail of "SageMaker Model Package State Change": the fields of the Developer Guide's example
# (automating-sagemaker-with-eventbridge.html, "Model package state change"), with the package's name,
# description, approval description and customer metadata, which a rule may also match on.
EVENT_FIELDS = ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelPackageName",
                "ModelPackageDescription", "CreationTime", "InferenceSpecification", "ModelPackageStatus",
                "ModelPackageStatusDetails", "CertifyForMarketplace", "ModelApprovalStatus",
                "ApprovalDescription", "MetadataProperties", "ModelMetrics", "CustomerMetadataProperties",
                "LastModifiedTime")

SUMMARY_FIELDS = ["ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
                  "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus",
                  "ModelLifeCycle", "ModelPackageRegistrationType"]


def check_create_request(params: dict) -> None:
    """CreateModelPackage's cross-field rules, and what labcloud cannot do offline."""
    name, group = params.get("ModelPackageName"), params.get("ModelPackageGroupName")
    # AWS's own words for these two cases (moto records them: getmoto/moto#7165), with what to do.
    require(not (name and group), "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
            "Cannot determine which one to use. Give ModelPackageGroupName to register a version in a model "
            "group, or ModelPackageName alone for an unversioned model package.")
    require(bool(name or group), "Missing ARN: give ModelPackageGroupName to register a version in a model "
            "group (or ModelPackageName for an unversioned model package).")
    require(not params.get("SourceAlgorithmSpecification"),
            "labcloud registers models from their containers only: SourceAlgorithmSpecification (an algorithm "
            "resource or AWS Marketplace algorithm) is not available offline. Give InferenceSpecification.")
    require(not params.get("ValidationSpecification"),
            "labcloud does not run a model package's ValidationSpecification (its batch transform "
            "validation jobs). Register the package without it, and test the model with a transform job.")
    require(bool((params.get("InferenceSpecification") or {}).get("Containers")),
            "InferenceSpecification with at least one container is required: the Image and ModelDataUrl "
            "an endpoint or transform job made from this package runs.")


def new_description(params: dict, name: str, arn: str, now, caller: dict) -> dict:
    """DescribeModelPackage of a package just created, passed through Pending and InProgress."""
    status = "Pending"
    for new in ("InProgress", "Completed"):  # nothing to validate: see lifecycle.py
        MODEL_PACKAGE.check(status, new)
        status = new
    package = {k: copy.deepcopy(v) for k, v in params.items() if k not in _NOT_COPIED and v is not None}
    package.update({
        "ModelPackageName": name, "ModelPackageArn": arn, "CreationTime": now, "LastModifiedTime": now,
        "ModelPackageStatus": status, "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": bool(params.get("CertifyForMarketplace", False)), "CreatedBy": caller,
    })
    return package


def versioned_fields(group: str, version: int, params: dict) -> dict:
    # Versioned packages are named "<group>/<version>" (botocore's ModelPackage.ModelPackageName). Their
    # approval defaults to PendingManualApproval, the SDK's default and the registry guide's starting point;
    # the API reference names no default.
    return {"ModelPackageGroupName": group, "ModelPackageVersion": version,
            "ModelApprovalStatus": params.get("ModelApprovalStatus") or PENDING_APPROVAL}


def event_detail(description: dict) -> dict:
    return {k: copy.deepcopy(description[k]) for k in EVENT_FIELDS if k in description}


def updated(description: dict, params: dict) -> dict:
    """UpdateModelPackage's changes but the approval (checked by the family): a new description."""
    package = copy.deepcopy(description)
    metadata = dict(package.get("CustomerMetadataProperties") or {})
    metadata.update(params.get("CustomerMetadataProperties") or {})
    for key in params.get("CustomerMetadataPropertiesToRemove") or []:
        metadata.pop(key, None)
    if metadata or "CustomerMetadataProperties" in package:
        package["CustomerMetadataProperties"] = metadata
    if params.get("AdditionalInferenceSpecificationsToAdd"):
        package["AdditionalInferenceSpecifications"] = (package.get("AdditionalInferenceSpecifications") or []) + \
            params["AdditionalInferenceSpecificationsToAdd"]
    for key in ("ApprovalDescription", "InferenceSpecification", "SourceUri", "ModelCard", "ModelLifeCycle",
                "ModelPackageRegistrationType"):
        if params.get(key) is not None:
            package[key] = copy.deepcopy(params[key])
    return package


def package_containers(reference: dict, package: dict) -> list[dict]:
    """The containers a model runs for one of its containers that names a model package: the package's
    InferenceSpecification containers, with the model container's own settings (Environment merged over
    the package's) and ModelPackageName kept, so that DescribeModel says where they came from."""
    definitions = package["InferenceSpecification"]["Containers"]
    if len(definitions) > 1 and reference.get("ContainerHostname"):
        raise ValidationException(f"ContainerHostname {reference['ContainerHostname']} names one container, but "
                                  f"model package {reference['ModelPackageName']} has {len(definitions)}: leave "
                                  "ContainerHostname out of a container that names a multi-container package.")
    own = {k: v for k, v in reference.items() if k != "Environment"}
    containers = []
    for definition in definitions:
        container = {k: copy.deepcopy(v) for k, v in definition.items()
                     if k in ("ContainerHostname", "Image", "ModelDataUrl", "ModelDataSource")}
        container.update(copy.deepcopy(own))
        environment = {**(definition.get("Environment") or {}), **(reference.get("Environment") or {})}
        if environment:
            container["Environment"] = environment
        containers.append(container)
    return containers
