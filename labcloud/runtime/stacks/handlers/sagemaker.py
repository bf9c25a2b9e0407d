"""SageMaker's resources: AWS::SageMaker::ModelPackageGroup, Model, EndpointConfig and Endpoint. Ref is
the ARN of each. Models and endpoint configurations cannot change: a changed one is made anew under a
new name, its dependents move to it, and the old one goes once the update has succeeded."""

from __future__ import annotations

import time

from labcloud.runtime.stacks.api_shapes import operation_params
from labcloud.runtime.stacks.errors import ResourceFailure
from labcloud.runtime.stacks.handlers.base import (HandlerContext, ResourceHandler, call, changed_properties,
                                                   tag_changes, without)

ABSENT = ("Could not find", "does not exist")  # SageMaker's ValidationException for a missing resource
POLL_SECONDS = 0.1
ENDPOINT_WAIT_SECONDS = 1800.0  # an endpoint that never settles fails the stack instead of hanging it
DELETE_WAIT_SECONDS = 300.0


def retag(ctx: HandlerContext, arn: str, old: dict, new: dict) -> None:
    put, remove = tag_changes(old.get("Tags"), new.get("Tags"))
    if remove:
        call(ctx, "sagemaker", "delete_tags", ResourceArn=arn, TagKeys=remove)
    if put:
        call(ctx, "sagemaker", "add_tags", ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in put.items()])


class _Immutable(ResourceHandler):
    """A SageMaker resource only its tags of can change."""

    def needs_replacement(self, changed: set[str]) -> bool:
        return bool(changed - {"Tags"})

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        retag(ctx, physical_id, old, new)
        return attributes


class ModelPackageGroup(_Immutable):
    type_name = "AWS::SageMaker::ModelPackageGroup"
    attribute_names = frozenset({"ModelPackageGroupArn", "CreationTime", "ModelPackageGroupStatus"})
    name_property = "ModelPackageGroupName"

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        # A group policy is an IAM document, which labcloud records but does not enforce: not sent.
        params = operation_params("sagemaker", "CreateModelPackageGroup",
                                  {**without(properties, "ModelPackageGroupPolicy"), "ModelPackageGroupName": name})
        arn = call(ctx, "sagemaker", "create_model_package_group", **params)["ModelPackageGroupArn"]
        described = call(ctx, "sagemaker", "describe_model_package_group", ModelPackageGroupName=name)
        return arn, {"ModelPackageGroupArn": arn, "ModelPackageGroupName": name,
                     "CreationTime": str(described.get("CreationTime", "")),
                     "ModelPackageGroupStatus": described.get("ModelPackageGroupStatus", "Completed")}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "sagemaker", "delete_model_package_group", absent=ABSENT,
             ModelPackageGroupName=attributes["ModelPackageGroupName"])


class Model(_Immutable):
    type_name = "AWS::SageMaker::Model"
    attribute_names = frozenset({"ModelName"})
    name_property = "ModelName"

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        params = operation_params("sagemaker", "CreateModel", {**properties, "ModelName": name})
        arn = call(ctx, "sagemaker", "create_model", **params)["ModelArn"]
        return arn, {"ModelName": name}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "sagemaker", "delete_model", absent=ABSENT, ModelName=attributes["ModelName"])


class EndpointConfig(_Immutable):
    type_name = "AWS::SageMaker::EndpointConfig"
    attribute_names = frozenset({"EndpointConfigName"})
    name_property = "EndpointConfigName"

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        params = operation_params("sagemaker", "CreateEndpointConfig", {**properties, "EndpointConfigName": name})
        arn = call(ctx, "sagemaker", "create_endpoint_config", **params)["EndpointConfigArn"]
        return arn, {"EndpointConfigName": name}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "sagemaker", "delete_endpoint_config", absent=ABSENT,
             EndpointConfigName=attributes["EndpointConfigName"])


# Properties CloudFormation passes to UpdateEndpoint only, not to CreateEndpoint.
_UPDATE_ONLY = ("RetainAllVariantProperties", "ExcludeRetainedVariantProperties", "RetainDeploymentConfig")


class Endpoint(ResourceHandler):
    """Created and updated as CloudFormation does: the stack waits for InService."""

    type_name = "AWS::SageMaker::Endpoint"
    attribute_names = frozenset({"EndpointName"})
    replacing = frozenset({"EndpointName"})
    name_property = "EndpointName"

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        params = operation_params("sagemaker", "CreateEndpoint",
                                  {**without(properties, *_UPDATE_ONLY), "EndpointName": name})
        arn = call(ctx, "sagemaker", "create_endpoint", **params)["EndpointArn"]
        attributes = {"EndpointName": name}
        try:
            _wait_in_service(ctx, name, properties["EndpointConfigName"])
        except ResourceFailure as err:
            raise ResourceFailure(err.reason, created=(arn, attributes)) from None
        return arn, attributes

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        name = attributes["EndpointName"]
        retag(ctx, physical_id, old, new)
        if changed_properties(old, new) <= {"Tags"}:
            return attributes
        current = call(ctx, "sagemaker", "describe_endpoint", EndpointName=name)
        if current["EndpointStatus"] == "InService" and current["EndpointConfigName"] == new["EndpointConfigName"]:
            return attributes  # already so (a rollback of an update the endpoint itself rolled back)
        params = operation_params("sagemaker", "UpdateEndpoint",
                                  {**without(new, "Tags"), "EndpointName": name})
        call(ctx, "sagemaker", "update_endpoint", **params)
        _wait_in_service(ctx, name, new["EndpointConfigName"])
        return attributes

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        name = attributes["EndpointName"]
        if call(ctx, "sagemaker", "delete_endpoint", absent=ABSENT, EndpointName=name) is None:
            return
        deadline = time.monotonic() + DELETE_WAIT_SECONDS
        while call(ctx, "sagemaker", "describe_endpoint", absent=ABSENT, EndpointName=name) is not None:
            if time.monotonic() > deadline:
                raise ResourceFailure(f'Resource handler returned message: "Endpoint {name} was still being '
                                      f'deleted after {DELETE_WAIT_SECONDS:.0f} seconds" (Service: SageMaker)')
            time.sleep(POLL_SECONDS)


def _wait_in_service(ctx: HandlerContext, name: str, config_name: str) -> None:
    """Until the endpoint serves `config_name`. An update SageMaker rolled back ends InService on the old
    config, with a FailureReason: that is a failure too."""
    deadline = time.monotonic() + ENDPOINT_WAIT_SECONDS
    while True:
        described = call(ctx, "sagemaker", "describe_endpoint", EndpointName=name)
        status = described["EndpointStatus"]
        if status == "InService" and described.get("EndpointConfigName") == config_name:
            return
        if status in ("Failed", "InService"):  # InService on another config: SageMaker rolled the update back
            reason = described.get("FailureReason") or f"it is {status} with {described.get('EndpointConfigName')}"
            raise ResourceFailure(f'Resource handler returned message: "Endpoint {name} did not reach InService '
                                  f'with {config_name}: {reason}" (Service: SageMaker, HandlerErrorCode: '
                                  "NotStabilized)")
        if status not in ("Creating", "Updating", "SystemUpdating", "RollingBack"):
            raise ResourceFailure(f'Resource handler returned message: "Endpoint {name} is {status}" (Service: '
                                  "SageMaker, HandlerErrorCode: NotStabilized)")
        if ctx.cancelled():
            raise ResourceFailure(f"Stopped waiting for endpoint {name}: the stack operation was cancelled.")
        if time.monotonic() > deadline:
            raise ResourceFailure(f'Resource handler returned message: "Endpoint {name} was not InService after '
                                  f'{ENDPOINT_WAIT_SECONDS:.0f} seconds (it is {status})" (Service: SageMaker, '
                                  "HandlerErrorCode: NotStabilized)")
        time.sleep(POLL_SECONDS)
