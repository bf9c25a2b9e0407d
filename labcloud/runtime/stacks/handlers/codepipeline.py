"""AWS::CodePipeline::Pipeline: Ref is the pipeline's name; Fn::GetAtt X.Version its version. The
template's pipeline is CreatePipeline's `pipeline` declaration, but for CloudFormation's own properties:
ArtifactStores as a list of {Region, ArtifactStore} (the API's map by region), Tags, and
RestartExecutionOnUpdate (an update starts an execution)."""

from __future__ import annotations

from labcloud.runtime.stacks.api_shapes import shape_value
from labcloud.runtime.stacks.handlers.base import HandlerContext, ResourceHandler, call, tag_changes, without

_STACK_ONLY = ("ArtifactStores", "Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions")


class Pipeline(ResourceHandler):
    type_name = "AWS::CodePipeline::Pipeline"
    attribute_names = frozenset({"Version"})
    replacing = frozenset({"Name"})
    name_property = "Name"
    name_max_length = 100

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        params = {"pipeline": _declaration(properties, name)}
        if properties.get("Tags"):
            params["tags"] = [{"key": t["Key"], "value": t.get("Value", "")} for t in properties["Tags"]]
        pipeline = call(ctx, "codepipeline", "create_pipeline", **params)["pipeline"]
        _disable_transitions(ctx, name, properties)
        return name, {"Version": str(pipeline.get("version", 1))}

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        pipeline = call(ctx, "codepipeline", "update_pipeline",
                        pipeline=_declaration(new, physical_id))["pipeline"]
        put, remove = tag_changes(old.get("Tags"), new.get("Tags"))
        if put or remove:
            arn = f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{physical_id}"
            if remove:
                call(ctx, "codepipeline", "untag_resource", resourceArn=arn, tagKeys=remove)
            if put:
                call(ctx, "codepipeline", "tag_resource", resourceArn=arn,
                     tags=[{"key": k, "value": v} for k, v in put.items()])
        _disable_transitions(ctx, physical_id, new)
        if str(new.get("RestartExecutionOnUpdate", "false")).lower() == "true":
            call(ctx, "codepipeline", "start_pipeline_execution", name=physical_id)
        return {"Version": str(pipeline.get("version", attributes.get("Version", "1")))}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "codepipeline", "delete_pipeline", absent=("PipelineNotFoundException",), name=physical_id)


def _declaration(properties: dict, name: str) -> dict:
    declaration = {**without(properties, *_STACK_ONLY), "Name": name}
    if properties.get("ArtifactStores"):
        declaration["ArtifactStores"] = {s["Region"]: s["ArtifactStore"] for s in properties["ArtifactStores"]}
    return shape_value("codepipeline", "PipelineDeclaration", declaration)


def _disable_transitions(ctx: HandlerContext, name: str, properties: dict) -> None:
    for transition in properties.get("DisableInboundStageTransitions") or []:
        call(ctx, "codepipeline", "disable_stage_transition", pipelineName=name,
             stageName=transition["StageName"], transitionType="Inbound", reason=transition.get("Reason", ""))
