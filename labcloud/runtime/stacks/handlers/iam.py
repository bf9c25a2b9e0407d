"""AWS::IAM::Role, recorded only: labcloud does not enforce IAM, so a role needs no call to exist. Ref is
the role's name; Fn::GetAtt gives Arn and RoleId as IAM would."""

from __future__ import annotations

from labcloud.runtime.stacks.handlers.base import HandlerContext, ResourceHandler
from labcloud.runtime.stacks.naming import random_id


class Role(ResourceHandler):
    type_name = "AWS::IAM::Role"
    attribute_names = frozenset({"Arn", "RoleId"})
    replacing = frozenset({"RoleName", "Path"})
    name_property = "RoleName"
    name_max_length = 64

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        path = properties.get("Path") or "/"
        return name, {"Arn": f"arn:aws:iam::{ctx.account_id}:role{path}{name}", "RoleId": random_id("AROA", 21)}

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        return attributes

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        return None
