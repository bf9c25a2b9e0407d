"""Events labcloud's services publish reach a learner's EventBridge rule and its SQS target, and
labcloud's own subscribers."""

from __future__ import annotations

import json

import boto3
import pytest


def test_a_published_event_reaches_a_rules_queue_and_the_subscribers(in_process):
    server = in_process(state_dir=None)
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="approved", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelApprovalStatus": [{"anything-but": "PendingManualApproval"}]}}))
    events.put_targets(Rule="approved", Targets=[{"Id": "q", "Arn": queue_arn}])
    seen = []
    unsubscribe = server.ctx.events.subscribe(seen.append)
    for status in ("PendingManualApproval", "Approved"):
        server.ctx.events.publish("aws.sagemaker", "SageMaker Model Package State Change",
                                  {"ModelPackageGroupName": "g", "ModelApprovalStatus": status},
                                  ["arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"])
    unsubscribe()
    server.ctx.events.publish("aws.sagemaker", "Something Else", {}, [])
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    delivered = [json.loads(m["Body"]) for m in messages]
    assert [d["detail"]["ModelApprovalStatus"] for d in delivered] == ["Approved"]  # the rule's pattern held
    assert delivered[0]["source"] == "aws.sagemaker" and delivered[0]["resources"] == [
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"]
    assert [e["detail"]["ModelApprovalStatus"] for e in seen] == ["PendingManualApproval", "Approved"]
    assert seen[0]["account"] == "123456789012" and seen[0]["region"] == "us-east-1"


def test_a_missing_rules_targets_are_resource_not_found(labcloud_server):
    """moto answers this JSON error labelled text/html; it reaches the client as EventBridge's error, not as
    a page labcloud has no operation for."""
    events = boto3.client("events")
    with pytest.raises(events.exceptions.ResourceNotFoundException, match="nope"):
        events.list_targets_by_rule(Rule="nope")
