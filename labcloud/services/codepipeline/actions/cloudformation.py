"""Deploy/AWS/CloudFormation: a stack from a template in an input artifact, through labcloud's stacks engine.

    CREATE_UPDATE        create the stack, or update the one an earlier deploy of StackName made
    REPLACE_ON_FAILURE   the same; a stack left in a failed state is deleted first and created anew
    DELETE_ONLY          delete the stack if there is one (nothing to do otherwise)

The template is TemplatePath ("Artifact::path/in/zip"); parameters come from TemplateConfiguration
("Artifact::config.json", a JSON {"Parameters": {...}, "Tags": {...}}) and then ParameterOverrides (a JSON
object; a value may be {"Fn::GetParam": [artifact, json file, key]} or {"Fn::GetArtifactAtt": [artifact,
"BucketName" | "ObjectKey" | "URL"]}). A failed deploy fails the action with the engine's StackError text
(CloudFormation's own wording, after the engine rolled back). With an output artifact and OutputFileName,
the stack's outputs are written to that file as JSON. The engine's record of every stack is kept in this
service's store (stack_records.py), so the next deploy updates the stack in place.
"""

from __future__ import annotations

import json

from labcloud.services.codepipeline.actions.artifacts import read_member, write_zip
from labcloud.services.codepipeline.actions.base import (SUCCEEDED, ActionFailed, ActionJob, ActionProvider,
                                                         ActionResult)
from labcloud.services.codepipeline.exceptions import InvalidActionDeclarationException

MODES = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "DELETE_ONLY")
_LATER = ("CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE")
_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
_GOOD = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def _check(declaration: dict) -> None:
    configuration, action = declaration.get("configuration") or {}, declaration["name"]
    mode = configuration.get("ActionMode")
    if mode in _LATER:
        raise InvalidActionDeclarationException(
            f"Action '{action}': ActionMode {mode} is not available in labcloud, which deploys stacks directly; "
            f"use CREATE_UPDATE (or REPLACE_ON_FAILURE, DELETE_ONLY).")
    if mode not in MODES:
        raise InvalidActionDeclarationException(
            f"Action '{action}': ActionMode {mode} is not valid; use one of {', '.join(MODES)}.")
    if mode != "DELETE_ONLY" and not configuration.get("TemplatePath"):
        raise InvalidActionDeclarationException(
            f"Action configuration for action '{action}' is missing required configuration 'TemplatePath'.")
    for capability in filter(None, (c.strip() for c in str(configuration.get("Capabilities", "")).split(","))):
        if capability not in _CAPABILITIES:
            raise InvalidActionDeclarationException(
                f"Action '{action}': Capabilities {capability} is not valid; use {', '.join(_CAPABILITIES)}.")
    if configuration.get("ParameterOverrides"):
        try:
            overrides = json.loads(configuration["ParameterOverrides"])
        except ValueError:
            overrides = None
        if not isinstance(overrides, dict):
            raise InvalidActionDeclarationException(
                f"Action '{action}': ParameterOverrides must be a JSON object, e.g. {{\"Stage\": \"prod\"}}.")


def _engine():
    try:
        from labcloud.runtime import stacks
    except ImportError:
        stacks = None
    if not hasattr(stacks, "deploy"):
        raise ActionFailed("labcloud's stacks engine (labcloud.runtime.stacks) is not installed, so CloudFormation "
                           "actions cannot run.")
    return stacks


def _override(job: ActionJob, name: str, value):
    if not isinstance(value, dict):
        return value
    if list(value) == ["Fn::GetParam"]:
        args = value["Fn::GetParam"]
        if not (isinstance(args, list) and len(args) == 3 and all(isinstance(a, str) for a in args)):
            raise ActionFailed(f"ParameterOverrides {name}: Fn::GetParam takes [artifact, JSON file, key].",
                               code="ConfigurationError")
        artifact, path, key = args
        document = json.loads(read_member(job.clients, job.inputs, f"{artifact}::{path}", "Fn::GetParam"))
        if not isinstance(document, dict) or key not in document:
            raise ActionFailed(f"ParameterOverrides {name}: the key {key} is not in {path} of artifact {artifact}.")
        return document[key]
    if list(value) == ["Fn::GetArtifactAtt"]:
        args = value["Fn::GetArtifactAtt"]
        artifact, attribute = (args + [None, None])[:2] if isinstance(args, list) else (None, None)
        location = job.inputs.get(artifact)
        if location is None or attribute not in ("BucketName", "ObjectKey", "URL"):
            raise ActionFailed(f"ParameterOverrides {name}: Fn::GetArtifactAtt takes [input artifact, BucketName "
                               f"| ObjectKey | URL].", code="ConfigurationError")
        return {"BucketName": location["bucket"], "ObjectKey": location["key"],
                "URL": f"https://{location['bucket']}.s3.amazonaws.com/{location['key']}"}[attribute]
    raise ActionFailed(f"ParameterOverrides {name}: only Fn::GetParam and Fn::GetArtifactAtt may stand for a "
                       f"value.", code="ConfigurationError")


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_text(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def parameters(job: ActionJob) -> dict[str, str]:
    configuration = job.configuration
    values: dict[str, object] = {}
    if configuration.get("TemplateConfiguration"):
        text = read_member(job.clients, job.inputs, configuration["TemplateConfiguration"], "TemplateConfiguration")
        try:
            document = json.loads(text)
        except ValueError as err:
            raise ActionFailed(f"TemplateConfiguration {configuration['TemplateConfiguration']} is not valid JSON: "
                               f"{err}") from None
        if not isinstance(document, dict) or not isinstance(document.get("Parameters", {}), dict):
            raise ActionFailed(f"TemplateConfiguration {configuration['TemplateConfiguration']} must be a JSON "
                               f'object like {{"Parameters": {{"Name": "value"}}, "Tags": {{}}}}.')
        values.update(document.get("Parameters") or {})
    if configuration.get("ParameterOverrides"):
        overrides = json.loads(configuration["ParameterOverrides"])
        values.update({k: _override(job, k, v) for k, v in overrides.items()})
    return {k: _as_text(v) for k, v in values.items()}


def run(job: ActionJob) -> ActionResult:
    configuration = job.configuration
    name, mode = configuration["StackName"], configuration["ActionMode"]
    try:
        engine = _engine()
        with job.stacks.locked(name):
            previous = job.stacks.get(name)
            if mode == "DELETE_ONLY":
                return _delete(job, engine, name, previous)
            if mode == "REPLACE_ON_FAILURE" and previous and previous.get("StackStatus") not in _GOOD:
                engine.delete(previous, job.clients)
                job.stacks.remove(name)
                previous = None
            template = read_member(job.clients, job.inputs, configuration["TemplatePath"], "TemplatePath")
            try:
                record = engine.deploy(name, template, parameters(job), job.clients, previous=previous,
                                       region=job.region, account_id=job.account_id)
            except engine.StackError as err:
                raise ActionFailed(str(err)) from None
            job.stacks.put(name, record)
            _write_outputs(job, record)
    except ActionFailed as err:
        return ActionResult.failed(err.message, err.code)
    outputs = {k: _as_text(v) for k, v in (record.get("Outputs") or {}).items()}
    return ActionResult(SUCCEEDED, summary=f"Stack {name}: {record.get('StackStatus')}",
                        external_id=record.get("StackId"), output_variables=outputs)


def _delete(job: ActionJob, engine, name: str, previous: dict | None) -> ActionResult:
    if previous is None:
        return ActionResult(SUCCEEDED, summary=f"Stack {name} does not exist; nothing to delete")
    try:
        engine.delete(previous, job.clients)
    except engine.StackError as err:
        raise ActionFailed(str(err)) from None
    job.stacks.remove(name)
    return ActionResult(SUCCEEDED, summary=f"Stack {name} deleted", external_id=previous.get("StackId"))


def _write_outputs(job: ActionJob, record: dict) -> None:
    if not job.outputs:
        return
    [(artifact, location)] = job.outputs.items()
    file_name = job.configuration.get("OutputFileName") or "outputs.json"
    write_zip(job.clients, location, {file_name: json.dumps(record.get("Outputs") or {}, indent=2).encode()})


PROVIDER = ActionProvider("Deploy", "AWS", "CloudFormation", run, required=("ActionMode", "StackName", "RoleArn"),
                          optional=("TemplatePath", "TemplateConfiguration", "ParameterOverrides", "Capabilities",
                                    "OutputFileName", "ChangeSetName"),
                          inputs=(0, 10), outputs=(0, 1), check=_check)
