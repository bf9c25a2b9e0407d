"""EventBridge rules with SQS targets, as a learner sets them up to watch the model registry."""

from __future__ import annotations

import json
import time

import boto3

DETAIL_TYPE = "SageMaker Model Package State Change"


def approval_queue(group: str) -> str:
    """An SQS queue behind a rule on the group's approval changes, as the Projects deploy template has it."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName=f"{group}-approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{group}-approved", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": [DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [group],
                   "ModelApprovalStatus": [{"anything-but": "PendingManualApproval"}]}}))
    events.put_targets(Rule=f"{group}-approved", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue


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
