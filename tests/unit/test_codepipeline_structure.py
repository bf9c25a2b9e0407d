"""What CreatePipeline and UpdatePipeline refuse (pipelines/structure.py), with CodePipeline's error codes, and
the defaults and versions they record."""

from __future__ import annotations

import copy

import pytest

from labcloud.services.codepipeline.exceptions import (InvalidActionDeclarationException, InvalidNextTokenException,
                                                       InvalidStageDeclarationException, InvalidStructureException,
                                                       PipelineNameInUseException, PipelineNotFoundException,
                                                       PipelineVersionNotFoundException, ValidationException)
from tests.support.codepipeline import Script, StandInContext, action, declaration, family, three_stages

SOURCE = ("Source", [action("Fetch", "Source", outputs=["Src"])])


@pytest.fixture
def pipelines():
    ctx = StandInContext()
    pipelines, _ = family(ctx, Script())
    yield pipelines
    ctx.shutting_down.set()


def with_stage(pipeline: dict, index: int, **fields) -> dict:
    pipeline["stages"][index].update(fields)
    return pipeline


def refused(pipelines, pipeline: dict, error, message: str):
    with pytest.raises(error) as raised:
        pipelines.create_pipeline({"pipeline": pipeline})
    assert message in raised.value.message, raised.value.message
    return raised.value


def test_defaults_are_filled_in_and_versions_kept(pipelines):
    given = three_stages("kept")
    for stage in given["stages"]:
        for entry in stage["actions"]:
            entry.pop("runOrder")
            if not entry["inputArtifacts"]:
                entry.pop("inputArtifacts")
    given["stages"][2]["actions"][1]["runOrder"] = 2
    created = pipelines.create_pipeline({"pipeline": given, "tags": [{"key": "team", "value": "ml"}]})
    pipeline = created["pipeline"]
    assert pipeline["version"] == 1 and pipeline["pipelineType"] == "V1" and pipeline["executionMode"] == "SUPERSEDED"
    fetch = pipeline["stages"][0]["actions"][0]
    assert fetch["runOrder"] == 1 and fetch["inputArtifacts"] == []
    assert created["tags"] == [{"key": "team", "value": "ml"}]
    got = pipelines.get_pipeline({"name": "kept"})
    assert got["pipeline"] == pipeline
    assert got["metadata"]["pipelineArn"] == "arn:aws:codepipeline:us-east-1:123456789012:kept"

    changed = copy.deepcopy(pipeline)
    changed["stages"][1]["actions"][0]["configuration"]["ProjectName"] = "other"
    assert pipelines.update_pipeline({"pipeline": changed})["pipeline"]["version"] == 2
    assert pipelines.get_pipeline({"name": "kept"})["pipeline"]["version"] == 2
    old = pipelines.get_pipeline({"name": "kept", "version": 1})["pipeline"]
    assert old["stages"][1]["actions"][0]["configuration"]["ProjectName"] == "p"
    with pytest.raises(PipelineVersionNotFoundException):
        pipelines.get_pipeline({"name": "kept", "version": 3})
    with pytest.raises(ValidationException, match="not the latest"):
        pipelines.update_pipeline({"pipeline": changed})  # still says version 1
    with pytest.raises(PipelineNameInUseException, match="already exists"):
        pipelines.create_pipeline({"pipeline": given})


def test_get_update_and_delete_of_a_missing_pipeline(pipelines):
    with pytest.raises(PipelineNotFoundException, match="does not have a pipeline with name 'nope'"):
        pipelines.get_pipeline({"name": "nope"})
    with pytest.raises(PipelineNotFoundException):
        pipelines.update_pipeline({"pipeline": three_stages("nope")})
    assert pipelines.delete_pipeline({"name": "nope"}) == {}


def test_list_pipelines_pages(pipelines):
    for name in ("c", "a", "b"):
        pipelines.create_pipeline({"pipeline": three_stages(name)})
    first = pipelines.list_pipelines({"maxResults": 2})
    assert [p["name"] for p in first["pipelines"]] == ["a", "b"]
    rest = pipelines.list_pipelines({"maxResults": 2, "nextToken": first["nextToken"]})
    assert [p["name"] for p in rest["pipelines"]] == ["c"] and "nextToken" not in rest
    with pytest.raises(InvalidNextTokenException):
        pipelines.list_pipelines({"nextToken": "bogus"})


@pytest.mark.parametrize("pipeline, error, message", [
    (declaration("one", SOURCE), InvalidStructureException,
     "Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline"),
    (declaration("first", ("Build", [action("Compile")]), SOURCE), InvalidStructureException,
     "The first stage of a pipeline may contain only source actions: action Compile"),
    (declaration("later", SOURCE, ("Again", [action("Fetch2", "Source", outputs=["Other"])])),
     InvalidStructureException, "Source actions may only be in the first stage"),
    (declaration("dupstage", SOURCE, ("Source", [action("Compile", inputs=["Src"])])), InvalidStructureException,
     "Stage names must be unique"),
    (declaration("dupaction", SOURCE, ("Build", [action("A", inputs=["Src"]), action("A", inputs=["Src"])])),
     InvalidStructureException, "Action names must be unique within a stage"),
    (declaration("noinput", SOURCE, ("Build", [action("Compile", inputs=["Missing"])])), InvalidStructureException,
     "Input artifact Missing of action Compile in stage Build is not the output of an action that runs before it"),
    (declaration("sameorder", SOURCE, ("Build", [action("A", inputs=["Src"], outputs=["Out"]),
                                                 action("B", "Test", inputs=["Out"])])),
     InvalidStructureException, "Input artifact Out of action B"),
    (declaration("dupout", SOURCE, ("Build", [action("A", inputs=["Src"], outputs=["Src"])])),
     InvalidStructureException, "Output artifact names must be unique within a pipeline"),
    (declaration("empty", SOURCE, ("Build", [])), InvalidStageDeclarationException, "Stage Build has no actions"),
    (declaration("kind", SOURCE, ("Build", [{**action("J", inputs=["Src"]), "actionTypeId": {
        "category": "Build", "owner": "Custom", "provider": "Jenkins", "version": "1"}}])),
     InvalidActionDeclarationException,
     "ActionType (Category: 'Build', Provider: 'Jenkins', Owner: 'Custom', Version: '1') in action 'J' is not "
     "available in region 'US_EAST_1'"),
    (declaration("config", ("Source", [action("Fetch", "Source", outputs=["Src"], BranchName="")]),
                 ("Build", [action("Compile", inputs=["Src"])])), InvalidActionDeclarationException,
     "Action configuration for action 'Fetch' is missing required configuration 'BranchName'"),
    (declaration("unknown", SOURCE, ("Build", [action("Compile", inputs=["Src"], Colour="blue")])),
     InvalidActionDeclarationException, "contains unknown configuration 'Colour'"),
    (declaration("count", ("Source", [action("Fetch", "Source")]), ("Build", [action("Compile")])),
     InvalidActionDeclarationException, "Action 'Fetch' has 0 output artifact(s)"),
    (declaration("mode", SOURCE, ("Deploy", [action("Stack", "Deploy", inputs=["Src"],
                                                     ActionMode="CHANGE_SET_REPLACE")])),
     InvalidActionDeclarationException, "ActionMode CHANGE_SET_REPLACE is not available in labcloud"),
    (declaration("envvars", SOURCE, ("Build", [action("Compile", inputs=["Src"], EnvironmentVariables="{")])),
     InvalidActionDeclarationException, "EnvironmentVariables must be a JSON list"),
    (declaration("primary", SOURCE, ("Build", [action("Compile", inputs=["Src"], PrimarySource="Other")])),
     InvalidActionDeclarationException, "PrimarySource Other is not one of the action's input artifacts"),
    (declaration("zip", ("Source", [action("Fetch", "Source", outputs=["Src"],
                                           OutputArtifactFormat="CODEBUILD_CLONE_REF")]),
                 ("Build", [action("Compile", inputs=["Src"])])),
     InvalidActionDeclarationException, "OutputArtifactFormat CODEBUILD_CLONE_REF is not available"),
    (declaration("queued", SOURCE, ("Build", [action("Compile", inputs=["Src"])]), executionMode="QUEUED"),
     ValidationException, "Execution mode QUEUED is available for V2 pipelines only"),
    (with_stage(declaration("rollback", SOURCE, ("Build", [action("Compile", inputs=["Src"])])), 1,
                onFailure={"result": "ROLLBACK"}),
     InvalidStageDeclarationException, "rollback, retry and skip on failure are not available"),
])
def test_structures_codepipeline_refuses(pipelines, pipeline, error, message):
    refused(pipelines, pipeline, error, message)
    assert pipeline["name"] not in pipelines.pipelines


def test_a_pipeline_without_an_artifact_store_is_refused(pipelines):
    pipeline = three_stages("nostore")
    del pipeline["artifactStore"]
    refused(pipelines, pipeline, InvalidStructureException, "The pipeline has no artifact store")
