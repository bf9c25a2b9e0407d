"""A stack's events, as DescribeStackEvents lists them (here oldest first)."""

from __future__ import annotations

import uuid

from labcloud.core.clock import utc_now

STACK_TYPE = "AWS::CloudFormation::Stack"


class EventLog:
    def __init__(self, stack_name: str, stack_id: str, history: list[dict] | None = None):
        self.stack_name, self.stack_id = stack_name, stack_id
        self.events: list[dict] = list(history or [])

    def resource(self, logical: str, resource_type: str, status: str, physical: str = "",
                 reason: str | None = None) -> None:
        event = {"EventId": str(uuid.uuid4()), "StackName": self.stack_name, "StackId": self.stack_id,
                 "LogicalResourceId": logical, "PhysicalResourceId": physical or "", "ResourceType": resource_type,
                 "Timestamp": utc_now().isoformat(), "ResourceStatus": status}
        if reason:
            event["ResourceStatusReason"] = reason
        self.events.append(event)

    def stack(self, status: str, reason: str | None = None) -> None:
        self.resource(self.stack_name, STACK_TYPE, status, self.stack_id, reason)
