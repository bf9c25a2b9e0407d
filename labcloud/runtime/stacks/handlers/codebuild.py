"""AWS::CodeBuild::Project: Ref is the project's name. Every property but Name changes in place
(UpdateProject)."""

from __future__ import annotations

from labcloud.runtime.stacks.api_shapes import operation_params
from labcloud.runtime.stacks.handlers.base import HandlerContext, ResourceHandler, call


class Project(ResourceHandler):
    type_name = "AWS::CodeBuild::Project"
    attribute_names = frozenset({"Arn"})
    replacing = frozenset({"Name"})
    name_property = "Name"
    name_max_length = 150

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        params = operation_params("codebuild", "CreateProject", {**properties, "Name": name})
        project = call(ctx, "codebuild", "create_project", **params)["project"]
        return name, {"Arn": project["arn"]}

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        params = operation_params("codebuild", "UpdateProject", {**new, "Name": physical_id})
        project = call(ctx, "codebuild", "update_project", **params)["project"]
        return {"Arn": project["arn"]}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "codebuild", "delete_project", absent=("ResourceNotFoundException",), name=physical_id)
