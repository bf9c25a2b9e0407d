"""What CreatePipeline and UpdatePipeline check of a pipeline declaration beyond botocore's model, and the
defaults they fill in (runOrder 1, empty configuration and artifact lists, pipelineType V1, execution mode
SUPERSEDED), so that GetPipeline answers the declaration as CodePipeline stores it.

    InvalidStructureException          fewer than two stages; a first stage of anything but Source actions,
                                       or a Source action later; duplicate stage, action or output artifact
                                       names; an input artifact no earlier action produces; no artifact store
    InvalidStageDeclarationException   a stage without actions; stage conditions labcloud does not run
    InvalidActionDeclarationException  an action type labcloud does not run; missing or unknown
                                       configuration; the wrong number of input or output artifacts
"""

from __future__ import annotations

import copy

from labcloud.services.codepipeline.actions.base import ActionProvider
from labcloud.services.codepipeline.exceptions import (InvalidActionDeclarationException,
                                                       InvalidStageDeclarationException, InvalidStructureException,
                                                       ValidationException)

_MODES_V2 = ("QUEUED", "PARALLEL")


def _type_text(type_id: dict) -> str:
    return (f"(Category: '{type_id['category']}', Provider: '{type_id['provider']}', Owner: '{type_id['owner']}', "
            f"Version: '{type_id['version']}')")


def artifact_bucket(declaration: dict, region: str) -> str:
    """The artifact store bucket this region's actions use."""
    if declaration.get("artifactStore"):
        return declaration["artifactStore"]["location"]
    return declaration["artifactStores"][region]["location"]


def normalize(declaration: dict, providers: dict[tuple[str, str, str], ActionProvider], region: str) -> dict:
    """A checked copy of `declaration` with CodePipeline's defaults; raises the AWS error of the first fault."""
    pipeline = copy.deepcopy(declaration)
    pipeline.setdefault("pipelineType", "V1")
    pipeline.setdefault("executionMode", "SUPERSEDED")
    _check_pipeline(pipeline, region)
    stages = pipeline["stages"]
    produced: dict[str, tuple[str, str]] = {}  # output artifact -> (stage, action) that makes it
    seen_stages: set[str] = set()
    for index, stage in enumerate(stages):
        name = stage["name"]
        if name in seen_stages:
            raise InvalidStructureException(f"Stage names must be unique within a pipeline: {name} appears more "
                                            f"than once.")
        seen_stages.add(name)
        _check_stage(stage)
        for action in stage["actions"]:
            action.setdefault("runOrder", 1)
            action.setdefault("configuration", {})
            action.setdefault("inputArtifacts", [])
            action.setdefault("outputArtifacts", [])
        _check_actions(stage, index, providers, region)
        _check_artifacts(stage, produced)
    return pipeline


def _check_pipeline(pipeline: dict, region: str) -> None:
    if pipeline.get("artifactStore") and pipeline.get("artifactStores"):
        raise InvalidStructureException("A pipeline has either artifactStore or artifactStores, not both.")
    if not pipeline.get("artifactStore"):
        stores = pipeline.get("artifactStores") or {}
        if not stores:
            raise InvalidStructureException("The pipeline has no artifact store: set artifactStore to "
                                            "{\"type\": \"S3\", \"location\": \"<bucket>\"}.")
        if region not in stores:
            raise InvalidStructureException(f"artifactStores has no store for the pipeline's region {region}.")
    stages = pipeline["stages"]
    if len(stages) < 2:
        raise InvalidStructureException(f"Pipeline has only {len(stages)} stage(s). There should be a minimum of 2 "
                                        f"stages in a pipeline")
    mode = pipeline["executionMode"]
    if mode in _MODES_V2 and pipeline["pipelineType"] != "V2":
        raise ValidationException(f"Execution mode {mode} is available for V2 pipelines only: set pipelineType "
                                  f"to V2 or use executionMode SUPERSEDED.")
    if pipeline.get("variables") and pipeline["pipelineType"] != "V2":
        raise ValidationException("Pipeline-level variables are available for V2 pipelines only: set "
                                  "pipelineType to V2.")
    names = [v["name"] for v in pipeline.get("variables") or []]
    if len(names) != len(set(names)):
        raise ValidationException("Pipeline variable names must be unique.")
    if pipeline.get("triggers"):
        raise ValidationException("labcloud starts pipelines from EventBridge rules, StartPipelineExecution and "
                                  "CreatePipeline; triggers (CodeStar connection git triggers) are not available. "
                                  "Remove triggers and add an EventBridge rule that targets the pipeline.")


def _check_stage(stage: dict) -> None:
    name = stage["name"]
    if not stage.get("actions"):
        raise InvalidStageDeclarationException(f"Stage {name} has no actions; a stage needs at least one.")
    if stage.get("blockers"):
        raise InvalidStageDeclarationException(f"Stage {name}: blockers are reserved for future use; remove them.")
    for key in ("beforeEntry", "onSuccess"):
        if stage.get(key):
            raise InvalidStageDeclarationException(
                f"Stage {name}: labcloud does not evaluate stage conditions ({key}); remove it.")
    on_failure = stage.get("onFailure") or {}
    if on_failure.get("conditions") or on_failure.get("result", "FAIL") != "FAIL":
        raise InvalidStageDeclarationException(
            f"Stage {name}: labcloud fails a stage whose action failed (onFailure result FAIL); rollback, retry "
            f"and skip on failure are not available. Remove onFailure or set its result to FAIL, and use "
            f"RetryStageExecution to retry.")


def _check_actions(stage: dict, index: int, providers: dict, region: str) -> None:
    seen: set[str] = set()
    for action in stage["actions"]:
        name, type_id = action["name"], action["actionTypeId"]
        if name in seen:
            raise InvalidStructureException(f"Action names must be unique within a stage: {name} appears more than "
                                            f"once in stage {stage['name']}.")
        seen.add(name)
        source = type_id["category"] == "Source"
        if index == 0 and not source:
            raise InvalidStructureException(
                f"The first stage of a pipeline may contain only source actions: action {name} in stage "
                f"{stage['name']} is a {type_id['category']} action.")
        if index > 0 and source:
            raise InvalidStructureException(
                f"Source actions may only be in the first stage: action {name} in stage {stage['name']} is a "
                f"Source action.")
        provider = providers.get((type_id["category"], type_id["owner"], type_id["provider"]))
        if provider is None or type_id["version"] != "1":
            known = ", ".join(f"{c}/{o}/{p}" for c, o, p in sorted(providers))
            raise InvalidActionDeclarationException(
                f"ActionType {_type_text(type_id)} in action '{name}' is not available in region "
                f"'{region.upper().replace('-', '_')}'. labcloud runs these action types (version 1): {known}.")
        if action.get("region") not in (None, region):
            raise InvalidActionDeclarationException(
                f"Action '{name}': labcloud runs actions in {region} only, not {action['region']}.")
        _check_configuration(action, provider)
        _check_counts(action, provider)
        if provider.check:
            provider.check(action)


def _check_configuration(action: dict, provider: ActionProvider) -> None:
    configuration, name = action["configuration"], action["name"]
    for key in provider.required:
        if not configuration.get(key):
            raise InvalidActionDeclarationException(
                f"Action configuration for action '{name}' is missing required configuration '{key}'")
    allowed = set(provider.required) | set(provider.optional)
    for key in configuration:
        if key not in allowed:
            raise InvalidActionDeclarationException(
                f"Action configuration for action '{name}' contains unknown configuration '{key}'. The "
                f"{provider.provider} action takes: {', '.join(sorted(allowed))}.")


def _check_counts(action: dict, provider: ActionProvider) -> None:
    name = action["name"]
    for kind, (low, high) in (("input", provider.inputs), ("output", provider.outputs)):
        count = len(action[f"{kind}Artifacts"])
        if not low <= count <= high:
            wanted = f"exactly {low}" if low == high else f"between {low} and {high}"
            raise InvalidActionDeclarationException(
                f"Action '{name}' has {count} {kind} artifact(s); a {provider.category}/{provider.provider} action "
                f"takes {wanted}.")


def _check_artifacts(stage: dict, produced: dict[str, tuple[str, str]]) -> None:
    """Every input artifact is made by an action of an earlier stage, or of a lower runOrder in this one."""
    orders = sorted({a["runOrder"] for a in stage["actions"]})
    for order in orders:
        group = [a for a in stage["actions"] if a["runOrder"] == order]
        for action in group:
            for artifact in action["inputArtifacts"]:
                if artifact["name"] not in produced:
                    raise InvalidStructureException(
                        f"Input artifact {artifact['name']} of action {action['name']} in stage {stage['name']} is "
                        f"not the output of an action that runs before it: declare it as an outputArtifact of an "
                        f"action in an earlier stage or with a lower runOrder.")
        for action in group:
            for artifact in action["outputArtifacts"]:
                if artifact["name"] in produced:
                    stage_name, other = produced[artifact["name"]]
                    raise InvalidStructureException(
                        f"Output artifact names must be unique within a pipeline: {artifact['name']} is made by "
                        f"action {other} in stage {stage_name} and by action {action['name']} in stage "
                        f"{stage['name']}.")
                produced[artifact["name"]] = (stage["name"], action["name"])

