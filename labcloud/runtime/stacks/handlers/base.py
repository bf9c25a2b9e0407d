"""What a resource type's handler is, and what the engine gives it.

A handler makes, changes and removes one type's resources through boto3 clients (`ctx.client(name)`),
and says what CloudFormation says of the type: the property holding its name, which property changes
need a new resource (replacement) and the attributes Fn::GetAtt may read. What Ref returns is the
resource's physical id, the first item create() returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, ClassVar

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from labcloud.runtime.stacks.errors import ResourceFailure, handler_message
from labcloud.runtime.stacks.naming import generated_name

SERVICE_LABELS = {"sagemaker": "SageMaker", "s3": "S3", "codecommit": "CodeCommit", "codebuild": "CodeBuild",
                  "codepipeline": "CodePipeline", "events": "EventBridge", "iam": "Iam"}


@dataclass
class HandlerContext:
    clients: Callable[[str], object]
    stack_name: str
    stack_id: str
    region: str
    account_id: str
    logical_id: str
    cancel: threading.Event | None = None

    def client(self, service: str):
        return self.clients(service)

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


class ResourceHandler:
    type_name: ClassVar[str] = ""
    attribute_names: ClassVar[frozenset[str]] = frozenset()
    replacing: ClassVar[frozenset[str]] = frozenset()  # a change of these makes a new resource
    ignored_on_update: ClassVar[frozenset[str]] = frozenset()  # read at creation only (CodeCommit's Code)
    name_property: ClassVar[str | None] = None
    name_max_length: ClassVar[int] = 63
    name_lowercase: ClassVar[bool] = False

    def needs_replacement(self, changed: set[str]) -> bool:
        return bool(changed & self.replacing)

    def physical_name(self, ctx: HandlerContext, properties: dict) -> str:
        """The template's name for the resource, else one made up as CloudFormation makes them."""
        given = properties.get(self.name_property) if self.name_property else None
        if given:
            return str(given)
        return generated_name(ctx.stack_name, ctx.logical_id, self.name_max_length, self.name_lowercase)

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        """Make the resource: (physical id, attributes)."""
        raise NotImplementedError

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        """Change the resource in place from properties `old` to `new`: its attributes now."""
        raise NotImplementedError

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        raise NotImplementedError


def call(ctx: HandlerContext, service: str, operation: str, absent: tuple[str, ...] = (), **params):
    """`operation` (boto3's snake_case name) on `service`; a failure as CloudFormation's handler message.
    An error whose code or message contains one of `absent` means the resource is not there: None."""
    try:
        return getattr(ctx.client(service), operation)(**params)
    except ParamValidationError as err:
        raise ResourceFailure(f"Properties validation failed for resource {ctx.logical_id} with message: "
                              f"{err}") from None
    except ClientError as err:
        error = err.response.get("Error", {})
        if absent and any(a == error.get("Code") or a in str(error.get("Message", "")) for a in absent):
            return None
        raise ResourceFailure(handler_message(err, SERVICE_LABELS.get(service, service))) from None
    except BotoCoreError as err:
        raise ResourceFailure(handler_message(err, SERVICE_LABELS.get(service, service))) from None


def changed_properties(old: dict, new: dict) -> set[str]:
    return {key for key in set(old) | set(new) if old.get(key) != new.get(key)}


def tag_changes(old: list | None, new: list | None) -> tuple[dict, list[str]]:
    """CloudFormation's Tags lists [{Key, Value}] compared: (tags to set, keys to remove)."""
    before = {t["Key"]: t.get("Value", "") for t in old or []}
    after = {t["Key"]: t.get("Value", "") for t in new or []}
    return ({k: v for k, v in after.items() if before.get(k) != v}, [k for k in before if k not in after])


def without(properties: dict, *names: str) -> dict:
    return {k: v for k, v in properties.items() if k not in names}
