"""EventBridge rules with SQS targets, as a learner sets them up to watch the model registry."""

from __future__ import annotations

import json
import time

import boto3

DETAIL_TYPE = "SageMaker Model Package State Change"


def rule_queue(queue_name: str, rule_name: str, pattern: dict) -> str:
    """The URL of a new SQS queue that an EventBridge rule with `pattern` delivers to."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=rule_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule_name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue


def approval_queue(group: str) -> str:
    """An SQS queue behind a rule on the group's approval changes, as the Projects deploy template has it."""
    return rule_queue(f"{group}-approvals", f"{group}-approved", {
        "source": ["aws.sagemaker"], "detail-type": [DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [group],
                   "ModelApprovalStatus": [{"anything-but": "PendingManualApproval"}]}})


def received(queue: str, seconds: float = 2.0) -> list[dict]:
    """Every event the queue holds after `seconds` (delivery is synchronous; the wait makes sure)."""
    sqs, found = boto3.client("sqs"), []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found
