"""Build/AWS/CodeBuild (and Test/AWS/CodeBuild): a build of a CodeBuild project on the action's input zip.

Only CodeBuild's public API is used, as CodePipeline does: StartBuild with the input artifact as an S3
source override (the primary one: PrimarySource, else the first input; the others as secondary sources
named by their artifact names), the output artifact as an S3 ZIP artifacts override at the location this
execution chose, EnvironmentVariables as an environment override; then BatchGetBuilds every 0.1 s until
buildComplete. A build that does not succeed fails the action with the failing phase's message; the
build's exported environment variables become the action's output variables. An execution stopped and
abandoned stops the build (StopBuild); a stop-and-wait lets it finish.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from labcloud.services.codepipeline.actions.base import (ABANDONED, SUCCEEDED, ActionFailed, ActionJob,
                                                         ActionProvider, ActionResult)
from labcloud.services.codepipeline.exceptions import InvalidActionDeclarationException

POLL_SECONDS = 0.1
_ENV_TYPES = ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER")
_POLL_FAULTS_ALLOWED = 20  # BatchGetBuilds errors in a row before the action gives up


def environment_variables(configuration: dict, action: str) -> list[dict]:
    text = configuration.get("EnvironmentVariables")
    if not text:
        return []
    problem = (f"Action '{action}': EnvironmentVariables must be a JSON list of objects with name, value and "
               f"optionally type ({', '.join(_ENV_TYPES)}), e.g. "
               f'[{{"name":"STAGE","value":"prod","type":"PLAINTEXT"}}]')
    try:
        variables = json.loads(text)
    except ValueError:
        raise InvalidActionDeclarationException(problem) from None
    if not isinstance(variables, list) or not all(
            isinstance(v, dict) and isinstance(v.get("name"), str) and isinstance(v.get("value"), str)
            and v.get("type", "PLAINTEXT") in _ENV_TYPES for v in variables):
        raise InvalidActionDeclarationException(problem)
    return [{"name": v["name"], "value": v["value"], "type": v.get("type", "PLAINTEXT")} for v in variables]


def _check(declaration: dict) -> None:
    configuration, action = declaration.get("configuration") or {}, declaration["name"]
    environment_variables(configuration, action)
    if str(configuration.get("BatchEnabled", "false")).lower() == "true":
        raise InvalidActionDeclarationException(
            f"Action '{action}': labcloud runs single builds; batch builds (BatchEnabled true) are not available. "
            f"Remove BatchEnabled.")
    primary = configuration.get("PrimarySource")
    inputs = [a["name"] for a in declaration.get("inputArtifacts") or []]
    if primary and primary not in inputs:
        raise InvalidActionDeclarationException(
            f"Action '{action}': PrimarySource {primary} is not one of the action's input artifacts "
            f"({', '.join(inputs) or 'none'}).")
    if len(inputs) > 1 and not primary:
        raise InvalidActionDeclarationException(
            f"Action '{action}' has {len(inputs)} input artifacts: set PrimarySource to the one the build runs in.")


def _artifact(location: dict) -> dict:
    path, _, name = location["key"].rpartition("/")
    return {"type": "S3", "location": location["bucket"], "path": path, "name": name, "packaging": "ZIP",
            "namespaceType": "NONE"}


def start_request(job: ActionJob) -> dict:
    """The StartBuild request of this action."""
    configuration = job.configuration
    names = [a["name"] for a in job.action.get("inputArtifacts") or []]
    primary = configuration.get("PrimarySource") or names[0]
    location = job.inputs[primary]
    request = {"projectName": configuration["ProjectName"], "sourceTypeOverride": "S3",
               "sourceLocationOverride": f"{location['bucket']}/{location['key']}"}
    secondary = [n for n in names if n != primary]
    if secondary:
        request["secondarySourcesOverride"] = [
            {"type": "S3", "location": f"{job.inputs[n]['bucket']}/{job.inputs[n]['key']}", "sourceIdentifier": n}
            for n in secondary]
    outputs = [a["name"] for a in job.action.get("outputArtifacts") or []]
    request["artifactsOverride"] = _artifact(job.outputs[outputs[0]]) if outputs else {"type": "NO_ARTIFACTS"}
    if len(outputs) > 1:
        request["secondaryArtifactsOverride"] = [{**_artifact(job.outputs[n]), "artifactIdentifier": n}
                                                 for n in outputs[1:]]
    variables = environment_variables(configuration, job.action["name"])
    if variables:
        request["environmentVariablesOverride"] = variables
    return request


def failure_message(build: dict) -> str:
    """CodePipeline's text for a build that did not succeed: its state and the phase that failed."""
    text = f"Build terminated with state: {build.get('buildStatus')}."
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") not in (None, "SUCCEEDED"):
            contexts = [c for c in phase.get("contexts") or [] if c.get("message") or c.get("statusCode")]
            context = contexts[0] if contexts else {}
            text += f" Phase: {phase.get('phaseType')}, Code: {context.get('statusCode', phase.get('phaseStatus'))}"
            if context.get("message"):
                text += f", Message: {context['message']}"
            break
    return text


def _console_url(job: ActionJob, build_id: str) -> str:
    return (f"https://console.aws.amazon.com/codebuild/home?region={job.region}#/builds/"
            f"{build_id.replace(':', '%3A')}/view/new")


def run(job: ActionJob) -> ActionResult | None:
    codebuild = job.clients("codebuild")
    project = job.configuration["ProjectName"]
    try:
        build_id = codebuild.start_build(**start_request(job))["build"]["id"]
    except ClientError as err:
        error = err.response.get("Error", {})
        return ActionResult.failed(f"Error calling startBuild: {error.get('Message', err)} (Service: AWSCodeBuild; "
                                   f"Status Code: {err.response.get('ResponseMetadata', {}).get('HTTPStatusCode')}; "
                                   f"Error Code: {error.get('Code')}; Project: {project})")
    url = _console_url(job, build_id)
    job.report(externalExecutionId=build_id, externalExecutionUrl=url)
    try:
        build = _follow(job, codebuild, build_id)
    except ActionFailed as err:
        return ActionResult.failed(err.message, err.code, external_id=build_id, external_url=url)
    if build is None:
        return None if job.shutting_down.is_set() else ActionResult(ABANDONED, external_id=build_id, external_url=url)
    if build["buildStatus"] != "SUCCEEDED":
        return ActionResult.failed(failure_message(build), external_id=build_id, external_url=url)
    variables = {v["name"]: v.get("value", "") for v in build.get("exportedEnvironmentVariables") or []}
    return ActionResult(SUCCEEDED, summary=f"Build {build_id} succeeded", external_id=build_id, external_url=url,
                        output_variables=variables)


def _follow(job: ActionJob, codebuild, build_id: str) -> dict | None:
    """The finished build, or None once the execution is abandoned (the build is stopped) or labcloud stops."""
    faults = 0
    while True:
        if job.stop.is_set():
            try:
                codebuild.stop_build(id=build_id)
            except ClientError:
                pass  # it ended meanwhile
            return None
        if job.shutting_down.is_set():
            return None
        try:
            builds = codebuild.batch_get_builds(ids=[build_id])["builds"]
            faults = 0
        except Exception as err:  # noqa: BLE001 - the endpoint may be busy; give up only if it stays so
            faults += 1
            if faults > _POLL_FAULTS_ALLOWED:
                raise ActionFailed(f"Could not follow the build {build_id}: {err}") from None
            builds = []
        if builds and builds[0].get("buildComplete"):
            return builds[0]
        if not builds and faults == 0:
            raise ActionFailed(f"The build {build_id} is no longer known to CodeBuild.")
        job.stop.wait(POLL_SECONDS)


_COMMON = dict(required=("ProjectName",), optional=("PrimarySource", "EnvironmentVariables", "BatchEnabled",
                                                     "CombineArtifacts"),
               inputs=(1, 5), outputs=(0, 5), check=_check)
PROVIDER = ActionProvider("Build", "AWS", "CodeBuild", run, **_COMMON)
TEST_PROVIDER = ActionProvider("Test", "AWS", "CodeBuild", run, **_COMMON)
