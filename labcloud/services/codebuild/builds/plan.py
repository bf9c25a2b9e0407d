"""What one StartBuild runs: the project's settings with the request's overrides applied and checked.

Secondary sources (S3 or CODECOMMIT, each with a sourceIdentifier) are fetched beside the primary one
into CODEBUILD_SRC_DIR_<sourceIdentifier>; secondary artifacts (each with an artifactIdentifier) are the
buildspec's artifacts/secondary-artifacts of that name.

A project of source type CODEPIPELINE is CodePipeline's: its builds start only with a source override
(sourceTypeOverride, e.g. S3, and sourceLocationOverride "<bucket>/<key of the input zip>") and, its
artifacts being CODEPIPELINE too, an artifactsOverride (S3 or NO_ARTIFACTS). That is how labcloud's
CodePipeline starts the builds of its Build actions, through the public API.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from labcloud.services.codebuild.builds.artifacts import destination
from labcloud.services.codebuild.builds.environment import merge_variables
from labcloud.services.codebuild.exceptions import InvalidInputException
from labcloud.services.codebuild.projects.validation import (check_artifacts, check_environment,
                                                              check_secondary_artifacts, check_secondary_sources,
                                                              check_secondary_versions, check_source)

DEFAULT_BUILDSPEC = "buildspec.yml"
_ENVIRONMENT_OVERRIDES = {"imageOverride": "image", "computeTypeOverride": "computeType",
                          "environmentTypeOverride": "type", "privilegedModeOverride": "privilegedMode",
                          "certificateOverride": "certificate"}


@dataclass
class Plan:
    source: dict
    source_version: str | None
    artifacts: dict  # the artifacts settings (type, location, path, name, packaging, namespaceType)
    environment: dict
    timeout_minutes: int
    queued_timeout_minutes: int
    service_role: str
    logs_config: dict
    buildspec: str  # inline YAML, a file name relative to the source folder, or an S3 ARN
    secondary_sources: list[dict]  # each with its sourceIdentifier
    secondary_versions: list[dict]  # [{sourceIdentifier, sourceVersion}]
    secondary_artifacts: list[dict]  # each with its artifactIdentifier

    def log_target(self, project_name: str, build_uuid: str) -> tuple[str, str] | None:
        """(group, stream) of the build's CloudWatch Logs, or None when they are disabled."""
        cloudwatch = self.logs_config.get("cloudWatchLogs") or {}
        if cloudwatch.get("status", "ENABLED") != "ENABLED":
            return None
        group = cloudwatch.get("groupName") or f"/aws/codebuild/{project_name}"
        prefix = (cloudwatch.get("streamName") or "").strip("/")
        return group, f"{prefix}/{build_uuid}" if prefix else build_uuid

    def logs_location(self, project_name: str, build_uuid: str, region: str, account_id: str) -> dict:
        """BatchGetBuilds' logs."""
        location = {"cloudWatchLogs": copy.deepcopy(self.logs_config.get("cloudWatchLogs") or {"status": "ENABLED"}),
                    "s3Logs": copy.deepcopy(self.logs_config.get("s3Logs") or {"status": "DISABLED"})}
        target = self.log_target(project_name, build_uuid)
        if target:
            group, stream = target
            location.update({
                "groupName": group, "streamName": stream,
                "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                             f"#logEvent:group={group};stream={stream}"),
                "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account_id}:log-group:{group}:log-stream:{stream}"})
        return location

    def artifacts_location(self, build_uuid: str) -> dict:
        """BatchGetBuilds' artifacts as the build starts (the location the artifacts will have)."""
        dest = destination(self.artifacts, build_uuid)
        return {"location": dest.location if dest else ""}

    def secondary_artifacts_locations(self, build_uuid: str) -> list[dict]:
        locations = []
        for entry in self.secondary_artifacts:
            dest = destination(entry, build_uuid)
            locations.append({"location": dest.location if dest else "",
                              "artifactIdentifier": entry["artifactIdentifier"]})
        return locations


def _source(project: dict, params: dict) -> dict:
    source = copy.deepcopy(project["source"])
    kind = params.get("sourceTypeOverride")
    if kind and kind != source["type"]:
        source = {"type": kind, **({"buildspec": source["buildspec"]} if source.get("buildspec") else {})}
    if params.get("sourceLocationOverride"):
        source["location"] = params["sourceLocationOverride"]
    if params.get("buildspecOverride"):
        source["buildspec"] = params["buildspecOverride"]
    if params.get("gitCloneDepthOverride") is not None:
        source["gitCloneDepth"] = params["gitCloneDepthOverride"]
    if source["type"] == "CODEPIPELINE":
        raise InvalidInputException(
            f"Invalid input: project {project['name']} has source type CODEPIPELINE, so its builds are started "
            f"by CodePipeline. To start one yourself, override the source (sourceTypeOverride, e.g. S3, with "
            f"sourceLocationOverride '<bucket>/<key of a zip>') and the artifacts (artifactsOverride).")
    check_source(source)
    return source


def _artifacts(project: dict, params: dict) -> dict:
    artifacts = copy.deepcopy(params.get("artifactsOverride") or project["artifacts"])
    if artifacts["type"] == "CODEPIPELINE":
        raise InvalidInputException(
            f"Invalid input: project {project['name']} has artifacts of type CODEPIPELINE, which only "
            f"CodePipeline collects; with a source override, pass artifactsOverride too (type S3 with a "
            f"location, or NO_ARTIFACTS).")
    check_artifacts(artifacts, "artifactsOverride" if params.get("artifactsOverride") else "artifacts")
    return artifacts


def _environment(project: dict, params: dict) -> dict:
    environment = copy.deepcopy(project["environment"])
    for key, field in _ENVIRONMENT_OVERRIDES.items():
        if params.get(key) is not None:
            environment[field] = params[key]
    environment["environmentVariables"] = merge_variables(environment.get("environmentVariables") or [],
                                                          params.get("environmentVariablesOverride") or [])
    check_environment(environment)
    return environment


def _chosen(project: dict, params: dict, override: str, setting: str) -> tuple[list[dict], str]:
    """The override when given, else the project's setting; with the name a message should use."""
    if params.get(override):
        return copy.deepcopy(params[override]), override
    return copy.deepcopy(project.get(setting) or []), setting


def _secondary(project: dict, params: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """The secondary sources, their versions and the secondary artifacts, overrides winning."""
    sources, where = _chosen(project, params, "secondarySourcesOverride", "secondarySources")
    check_secondary_sources(sources, where)
    versions, where = _chosen(project, params, "secondarySourcesVersionOverride", "secondarySourceVersions")
    check_secondary_versions(versions, sources, where)
    artifacts, where = _chosen(project, params, "secondaryArtifactsOverride", "secondaryArtifacts")
    check_secondary_artifacts(artifacts, where)
    return sources, versions, artifacts


def plan(project: dict, params: dict) -> Plan:
    source = _source(project, params)
    secondary_sources, secondary_versions, secondary_artifacts = _secondary(project, params)
    same_type = source["type"] == project["source"]["type"]
    version = params.get("sourceVersion") or (project.get("sourceVersion") if same_type else None)
    return Plan(source=source, source_version=version or None, artifacts=_artifacts(project, params),
                environment=_environment(project, params),
                timeout_minutes=params.get("timeoutInMinutesOverride") or project.get("timeoutInMinutes") or 60,
                queued_timeout_minutes=(params.get("queuedTimeoutInMinutesOverride")
                                        or project.get("queuedTimeoutInMinutes") or 480),
                service_role=params.get("serviceRoleOverride") or project["serviceRole"],
                logs_config=copy.deepcopy(params.get("logsConfigOverride") or project.get("logsConfig") or {}),
                buildspec=source.get("buildspec") or DEFAULT_BUILDSPEC, secondary_sources=secondary_sources,
                secondary_versions=secondary_versions, secondary_artifacts=secondary_artifacts)
