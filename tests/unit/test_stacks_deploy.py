"""The stacks engine's deploy, update and delete with stand-in clients: the record, the events, what an
update keeps, changes in place or replaces, and what a failure rolls back."""

from __future__ import annotations

import copy
import json
import re
import threading

import pytest

from labcloud.runtime.stacks import StackError, delete, deploy
from tests.support.fake_aws import FakeCloud

ENDPOINT = """
AWSTemplateFormatVersion: "2010-09-09"
Description: A model behind an endpoint.
Parameters:
  Image: {Type: String, Default: good-image}
  Count: {Type: Number, Default: 1}
Resources:
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: arn:aws:iam::123456789012:role/R
      PrimaryContainer: {Image: !Ref Image, ModelDataUrl: s3://b/model.tar.gz}
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - {VariantName: AllTraffic, ModelName: !GetAtt Model.ModelName, InitialInstanceCount: !Ref Count,
           InstanceType: ml.m5.large, InitialVariantWeight: 1}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: !Sub ${AWS::StackName}-endpoint
      EndpointConfigName: !GetAtt Config.EndpointConfigName
Outputs:
  EndpointName: {Value: !GetAtt Endpoint.EndpointName}
  ModelArn: {Value: !Ref Model}
"""


def statuses(events, since=0):
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events[since:]]


@pytest.fixture
def cloud():
    cloud = FakeCloud()
    cloud.failing_images.add("bad-image")
    return cloud


def test_create_makes_each_resource_in_order_and_records_the_stack(cloud):
    record = deploy("demo", ENDPOINT, {}, cloud)
    assert json.loads(json.dumps(record)) == record  # JSON-able, as services store it
    assert record["StackName"] == "demo" and record["StackStatus"] == "CREATE_COMPLETE"
    assert re.fullmatch(r"arn:aws:cloudformation:us-east-1:123456789012:stack/demo/[-0-9a-f]{36}", record["StackId"])
    assert record["Description"] == "A model behind an endpoint."
    assert record["Parameters"] == {"Image": "good-image", "Count": "1"}
    model_name = record["Resources"]["Model"]["Attributes"]["ModelName"]
    assert re.fullmatch(r"demo-Model-[A-Z0-9]{12}", model_name)
    assert record["Resources"]["Model"]["PhysicalResourceId"] == (
        f"arn:aws:sagemaker:us-east-1:123456789012:model/{model_name.lower()}")  # Ref is the ARN
    assert record["Resources"]["Config"]["DependsOn"] == ["Model"]
    assert record["Resources"]["Endpoint"]["Attributes"] == {"EndpointName": "demo-endpoint"}
    assert record["Outputs"] == {"EndpointName": "demo-endpoint",
                                 "ModelArn": record["Resources"]["Model"]["PhysicalResourceId"]}
    assert cloud.ops() == ["create_model", "create_endpoint_config", "create_endpoint", "describe_endpoint",
                           "describe_endpoint"]  # the stack waits for InService
    variant = cloud.params("sagemaker", "create_endpoint_config")[0]["ProductionVariants"][0]
    assert variant["ModelName"] == model_name and variant["InitialInstanceCount"] == 1
    assert statuses(record["Events"]) == [
        ("demo", "CREATE_IN_PROGRESS"), ("Model", "CREATE_IN_PROGRESS"), ("Model", "CREATE_COMPLETE"),
        ("Config", "CREATE_IN_PROGRESS"), ("Config", "CREATE_COMPLETE"), ("Endpoint", "CREATE_IN_PROGRESS"),
        ("Endpoint", "CREATE_COMPLETE"), ("demo", "CREATE_COMPLETE")]
    event = record["Events"][2]
    assert event["ResourceType"] == "AWS::SageMaker::Model" and event["StackId"] == record["StackId"]
    assert event["PhysicalResourceId"] == record["Resources"]["Model"]["PhysicalResourceId"]
    assert {"EventId", "Timestamp", "StackName"} <= set(event)


def test_an_update_that_changes_nothing_keeps_every_resource(cloud):
    first = deploy("demo", ENDPOINT, {}, cloud)
    calls = len(cloud.calls)
    second = deploy("demo", ENDPOINT, {"Count": "1"}, cloud, previous=first)
    assert cloud.calls[calls:] == []
    assert second["StackStatus"] == "UPDATE_COMPLETE" and second["StackId"] == first["StackId"]
    assert second["Resources"] == first["Resources"]
    assert statuses(second["Events"], len(first["Events"])) == [
        ("demo", "UPDATE_IN_PROGRESS"), ("demo", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), ("demo", "UPDATE_COMPLETE")]
    assert second["CreationTime"] == first["CreationTime"] and "LastUpdatedTime" in second


def test_a_new_instance_count_replaces_the_config_and_updates_the_endpoint(cloud):
    first = deploy("demo", ENDPOINT, {}, cloud)
    old_config = first["Resources"]["Config"]["Attributes"]["EndpointConfigName"]
    calls = len(cloud.calls)
    second = deploy("demo", ENDPOINT, {"Count": "2"}, cloud, previous=first)
    new_config = second["Resources"]["Config"]["Attributes"]["EndpointConfigName"]
    assert new_config != old_config
    assert second["Resources"]["Model"] == first["Resources"]["Model"]
    assert [op for _, op, _ in cloud.calls[calls:]] == [
        "create_endpoint_config", "describe_endpoint", "update_endpoint", "describe_endpoint", "describe_endpoint",
        "delete_endpoint_config"]  # the old config goes only once the endpoint serves the new one
    assert cloud.params("sagemaker", "update_endpoint") == [{"EndpointName": "demo-endpoint",
                                                               "EndpointConfigName": new_config}]
    assert cloud.params("sagemaker", "delete_endpoint_config") == [{"EndpointConfigName": old_config}]
    assert cloud.endpoints["demo-endpoint"]["EndpointConfigName"] == new_config
    events = second["Events"][len(first["Events"]):]
    replacing = [e for e in events if e["LogicalResourceId"] == "Config"]
    assert [e["ResourceStatus"] for e in replacing] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "DELETE_IN_PROGRESS",
                                                        "DELETE_COMPLETE"]
    assert replacing[0]["ResourceStatusReason"] == ("Requested update requires the creation of a new physical "
                                                    "resource; hence creating one.")
    assert second["Parameters"]["Count"] == "2"


def test_a_new_model_replaces_model_and_config_and_deletes_the_old_ones_dependents_first(cloud):
    first = deploy("demo", ENDPOINT, {}, cloud)
    old_model = first["Resources"]["Model"]["Attributes"]["ModelName"]
    second = deploy("demo", ENDPOINT, {"Image": "better-image"}, cloud, previous=first)
    new_model = second["Resources"]["Model"]["Attributes"]["ModelName"]
    assert new_model != old_model and list(cloud.models) == [new_model]
    assert cloud.models[new_model]["PrimaryContainer"]["Image"] == "better-image"
    deletes = [op for op in cloud.ops() if op.startswith("delete")]
    assert deletes == ["delete_endpoint_config", "delete_model"]
    assert second["Outputs"]["ModelArn"] == second["Resources"]["Model"]["PhysicalResourceId"]


def test_a_custom_named_resource_that_needs_replacing_is_cloudformation_s_error(cloud):
    named = ENDPOINT.replace("ExecutionRoleArn:", "ModelName: fixed\n      ExecutionRoleArn:")
    first = deploy("demo", named, {}, cloud)
    kept = copy.deepcopy(first)
    with pytest.raises(StackError) as err:
        deploy("demo", named, {"Image": "other"}, cloud, previous=first)
    assert "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename fixed " \
           "and update the stack again." in str(err.value)
    assert err.value.status == "UPDATE_ROLLBACK_COMPLETE" and first == kept
    assert list(cloud.models) == ["fixed"]


def test_a_resource_removed_from_the_template_is_deleted(cloud):
    with_role = ENDPOINT.replace("Outputs:", "  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: extra}}\n"
                                             "Outputs:")
    first = deploy("demo", with_role, {}, cloud)
    assert "extra" in cloud.buckets
    second = deploy("demo", ENDPOINT, {}, cloud, previous=first)
    assert "Bucket" not in second["Resources"] and "extra" not in cloud.buckets
    assert ("Bucket", "DELETE_COMPLETE") in statuses(second["Events"])


def test_retain_policies_keep_what_a_template_drops_or_replaces(cloud):
    retained = ENDPOINT.replace("  Config:\n    Type: AWS::SageMaker::EndpointConfig\n",
                                "  Config:\n    Type: AWS::SageMaker::EndpointConfig\n    UpdateReplacePolicy: Retain\n")
    retained = retained.replace("Outputs:", "  Bucket: {Type: AWS::S3::Bucket, DeletionPolicy: Retain, "
                                            "Properties: {BucketName: kept}}\nOutputs:")
    first = deploy("demo", retained, {}, cloud)
    old_config = first["Resources"]["Config"]["Attributes"]["EndpointConfigName"]
    second = deploy("demo", retained.replace("  Bucket: {Type: AWS::S3::Bucket, DeletionPolicy: Retain, "
                                             "Properties: {BucketName: kept}}\n", ""), {"Count": "2"}, cloud,
                    previous=first)
    assert old_config in cloud.configs and "kept" in cloud.buckets
    assert {("Config", "DELETE_SKIPPED"), ("Bucket", "DELETE_SKIPPED")} <= set(statuses(second["Events"]))
    delete(first | {"Resources": {"Bucket": first["Resources"]["Bucket"]}}, cloud)
    assert "kept" in cloud.buckets


# ---- failures and rollback ----

def test_an_endpoint_that_fails_rolls_the_whole_stack_back(cloud):
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT, {"Image": "bad-image"}, cloud)
    message = str(err.value)
    assert message.startswith("The following resource(s) failed to create: [Endpoint]. Endpoint: Resource handler "
                              'returned message: "Endpoint demo-endpoint did not reach InService')
    assert "did not pass the ping health check" in message
    assert err.value.status == "ROLLBACK_COMPLETE"
    assert cloud.endpoints == {} and cloud.configs == {} and cloud.models == {}
    assert [op for op in cloud.ops() if op.startswith("delete")] == ["delete_endpoint", "delete_endpoint_config",
                                                                   "delete_model"]
    record = err.value.record
    assert record["StackStatus"] == "ROLLBACK_COMPLETE" and record["Resources"] == {}
    assert statuses(record["Events"])[-9:] == [
        ("Endpoint", "CREATE_FAILED"), ("demo", "ROLLBACK_IN_PROGRESS"), ("Endpoint", "DELETE_IN_PROGRESS"),
        ("Endpoint", "DELETE_COMPLETE"), ("Config", "DELETE_IN_PROGRESS"), ("Config", "DELETE_COMPLETE"),
        ("Model", "DELETE_IN_PROGRESS"), ("Model", "DELETE_COMPLETE"), ("demo", "ROLLBACK_COMPLETE")]
    failed = [e for e in record["Events"] if e["ResourceStatus"] == "CREATE_FAILED"][0]
    assert "ping health check" in failed["ResourceStatusReason"]
    with pytest.raises(StackError, match="is in ROLLBACK_COMPLETE state and can not be updated"):
        deploy("demo", ENDPOINT, {}, cloud, previous=record)
    delete(record, cloud)  # nothing left to delete


def test_an_api_error_is_worded_as_cloudformation_s_resource_handlers_word_it(cloud):
    cloud.fail("sagemaker", "create_endpoint_config", "ValidationException", "Invalid instance type ml.x.")
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT, {}, cloud)
    assert str(err.value) == ('The following resource(s) failed to create: [Config]. Config: Resource handler returned '
                              'message: "Invalid instance type ml.x." (Service: SageMaker, Status Code: 400, Error '
                              'Code: ValidationException)')
    assert cloud.models == {}


def test_properties_botocore_refuses_are_a_properties_validation_failure(cloud):
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT.replace("ExecutionRoleArn:", "Colour: blue\n      ExecutionRoleArn:"), {}, cloud)
    assert "Properties validation failed for resource Model with message: Parameter validation failed:" in str(err.value)
    assert 'Unknown parameter in input: "Colour"' in str(err.value)


def test_a_failed_update_restores_the_stack_and_leaves_the_previous_record_valid(cloud):
    first = deploy("demo", ENDPOINT, {}, cloud)
    kept = copy.deepcopy(first)
    old_model = first["Resources"]["Model"]["Attributes"]["ModelName"]
    old_config = first["Resources"]["Config"]["Attributes"]["EndpointConfigName"]
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT, {"Image": "bad-image"}, cloud, previous=first)
    assert str(err.value).startswith("The following resource(s) failed to update: [Endpoint]. Endpoint: ")
    assert err.value.status == "UPDATE_ROLLBACK_COMPLETE"
    assert first == kept  # the caller's record is untouched and still describes the stack
    assert list(cloud.models) == [old_model] and list(cloud.configs) == [old_config]
    assert cloud.endpoints["demo-endpoint"]["EndpointConfigName"] == old_config
    record = err.value.record
    assert record["Resources"] == first["Resources"] and record["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert ("demo", "UPDATE_ROLLBACK_IN_PROGRESS") in statuses(record["Events"])
    # the stack can be updated again from either record
    again = deploy("demo", ENDPOINT, {"Count": "2"}, cloud, previous=record)
    assert again["StackStatus"] == "UPDATE_COMPLETE"


def test_a_failure_after_an_endpoint_update_moves_the_endpoint_back(cloud):
    template = ENDPOINT.replace("Outputs:", "  Bucket:\n    Type: AWS::S3::Bucket\n    DependsOn: Endpoint\n"
                                            "    Properties: {BucketName: !Sub 'b-${Count}'}\nOutputs:")
    first = deploy("demo", template, {}, cloud)
    old_config = first["Resources"]["Config"]["Attributes"]["EndpointConfigName"]
    cloud.fail("s3", "create_bucket", "TooManyBuckets", "You have attempted to create more buckets than allowed")
    with pytest.raises(StackError, match=r"failed to update: \[Bucket\]"):
        deploy("demo", template, {"Count": "2"}, cloud, previous=first)
    updates = [p["EndpointConfigName"] for p in cloud.params("sagemaker", "update_endpoint")]
    assert updates[-1] == old_config and len(updates) == 2  # to the new config, then back
    assert list(cloud.configs) == [old_config] and "b-1" in cloud.buckets
    assert cloud.endpoints["demo-endpoint"]["EndpointConfigName"] == old_config


def test_what_a_rollback_cannot_delete_stays_in_the_record_for_delete(cloud):
    cloud.fail("sagemaker", "create_endpoint", "ValidationException", "no")
    cloud.fail("sagemaker", "delete_endpoint_config", "ThrottlingException", "Rate exceeded")
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT, {}, cloud)
    assert err.value.status == "ROLLBACK_FAILED"
    assert "The rollback could not delete Config (arn:aws:sagemaker:" in str(err.value)
    assert list(err.value.record["Resources"]) == ["Config"]
    assert cloud.models == {}  # what could go went
    del cloud.failures[("sagemaker", "delete_endpoint_config")]
    delete(err.value.record, cloud)
    assert cloud.configs == {}


def test_a_handler_s_own_fault_still_rolls_back(cloud, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("EndpointArn")

    monkeypatch.setattr(cloud, "sagemaker_create_endpoint", broken)
    with pytest.raises(StackError) as err:
        deploy("demo", ENDPOINT, {}, cloud)
    assert "KeyError" in str(err.value) and "HandlerErrorCode: InternalFailure" in str(err.value)
    assert cloud.models == {} and cloud.configs == {}


def test_a_cancelled_deploy_stops_and_rolls_back(cloud):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StackError, match="cancelled"):
        deploy("demo", ENDPOINT, {}, cloud, cancel=cancel)
    assert cloud.calls == []


def test_refused_updates(cloud):
    first = deploy("demo", "Resources: {Thing: {Type: AWS::IAM::Role}}", {}, cloud)
    with pytest.raises(StackError, match=r"Update of resource type is not permitted. The new template modifies "
                                         r"resource type of the following resources: \[Thing\]"):
        deploy("demo", "Resources: {Thing: {Type: AWS::S3::Bucket}}", {}, cloud, previous=first)
    assert cloud.buckets == {}
    with pytest.raises(StackError, match="is of stack demo, not other"):
        deploy("other", ENDPOINT, {}, cloud, previous=first)
    with pytest.raises(StackError, match="at 'stackName' failed to satisfy constraint"):
        deploy("1-bad_name", ENDPOINT, {}, cloud)


# ---- delete ----

def test_delete_goes_dependents_first_and_waits_for_the_endpoint(cloud):
    record = deploy("demo", ENDPOINT, {}, cloud)
    calls = len(cloud.calls)
    delete(record, cloud)
    assert [op for _, op, _ in cloud.calls[calls:]] == ["delete_endpoint", "describe_endpoint",
                                                       "delete_endpoint_config", "delete_model"]
    assert cloud.endpoints == {} and cloud.configs == {} and cloud.models == {}
    delete(record, cloud)  # what is already gone counts as deleted


def test_a_resource_that_cannot_be_deleted_keeps_what_it_depends_on(cloud):
    template = """
Resources:
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: data}}
  Role:
    Type: AWS::IAM::Role
    Properties: {RoleName: r}
  Rule:
    Type: AWS::Events::Rule
    Properties: {Name: !Sub "${Role}-rule", EventPattern: {source: [aws.s3]}, Targets: [{Id: t, Arn: !GetAtt Bucket.Arn}]}
"""
    record = deploy("demo", template, {}, cloud)
    cloud.s3_put_object("x", Bucket="data", Key="file", Body=b"1")
    cloud.fail("events", "delete_rule", "ConcurrentModificationException", "busy")
    with pytest.raises(StackError) as err:
        delete(record, cloud)
    assert str(err.value) == ('The following resource(s) failed to delete: [Rule]. Rule: Resource handler returned '
                              'message: "busy" (Service: EventBridge, Status Code: 400, Error Code: '
                              'ConcurrentModificationException)')
    assert err.value.status == "DELETE_FAILED"
    assert set(err.value.record["Resources"]) == {"Rule", "Bucket", "Role"}  # the rule still needs both
    assert "data" in cloud.buckets
    del cloud.failures[("events", "delete_rule")]
    with pytest.raises(StackError, match="The bucket you tried to delete is not empty"):
        delete(err.value.record, cloud)  # as on AWS: a bucket with objects stays
    cloud.buckets["data"]["objects"].clear()
    delete(err.value.record, cloud)
    assert cloud.buckets == {} and cloud.rules == {}
