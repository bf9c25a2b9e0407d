"""The environment of a build's commands.

From the bottom up: the server's own environment (without labcloud's settings), the client environment
(boto3, the SageMaker SDK and the AWS CLI in a build reach labcloud, as a notebook's do), `python`/`pip`
shims first on PATH and the folder of labcloud's Python next, the buildspec's env variables, the
project's environmentVariables, StartBuild's environmentVariablesOverride (CodeBuild's precedence: the
start call, then the project, then the buildspec), and last CodeBuild's own CODEBUILD_* variables, which a
build cannot change. A CODEBUILD_* variable CodeBuild leaves unset for the build's source
(CODEBUILD_RESOLVED_SOURCE_VERSION of an S3 source) may come from the caller: CodePipeline can pass its
source revision so.

PARAMETER_STORE and SECRETS_MANAGER variables are read from labcloud's SSM and Secrets Manager.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from labcloud.client.environment import client_environment

_DROPPED_PREFIXES = ("LABCLOUD_", "SM_", "CODEBUILD_")
_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class VariableError(Exception):
    """A PARAMETER_STORE or SECRETS_MANAGER variable that cannot be read (the DOWNLOAD_SOURCE context)."""

    def __init__(self, status_code: str, message: str):
        super().__init__(message)
        self.status_code, self.message = status_code, message


def base_environment(endpoint_url: str, shims: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED}
    env.update(client_environment(endpoint_url))
    env.pop("LABCLOUD_PORT", None)  # a build is a client of labcloud, not a place that starts one
    # The shims, then the console scripts installed beside labcloud's Python (the course's tools), then the rest.
    env["PATH"] = os.pathsep.join([str(shims), os.path.dirname(sys.executable), env.get("PATH") or os.defpath])
    env["PYTHONUNBUFFERED"] = "1"  # a build's Python prints its lines as they come, for the logs
    env["GIT_TERMINAL_PROMPT"] = "0"  # a git command in a build fails rather than waits for a password
    return env


def merge_variables(project: list[dict], override: list[dict]) -> list[dict]:
    """The project's environmentVariables with StartBuild's override replacing those of the same name."""
    by_name = {v["name"]: dict(v) for v in project}
    for variable in override:
        by_name[variable["name"]] = dict(variable)
    return list(by_name.values())


def _secret_reference(reference: str) -> tuple[str, str, str, str]:
    """secret-id:json-key:version-stage:version-id, the id perhaps an ARN with colons of its own."""
    parts = reference.split(":")
    if reference.startswith("arn:") and len(parts) >= 7:
        parts = [":".join(parts[:7])] + parts[7:]
    parts += [""] * (4 - len(parts))
    return parts[0], parts[1], parts[2], parts[3]


def read_parameter(clients, name: str, reference: str) -> str:
    try:
        return clients("ssm").get_parameter(Name=reference, WithDecryption=True)["Parameter"]["Value"]
    except Exception as err:  # noqa: BLE001 - botocore's words name the parameter and the reason
        code = getattr(err, "response", {}).get("Error", {}).get("Code")
        reason = f"parameter does not exist: {reference}" if code == "ParameterNotFound" else str(err)
        raise VariableError("Decrypted Variables Error", f"{reason} (environment variable {name})") from None


def read_secret(clients, name: str, reference: str) -> str:
    secret_id, json_key, stage, version = _secret_reference(reference)
    request = {"SecretId": secret_id}
    if stage:
        request["VersionStage"] = stage
    if version:
        request["VersionId"] = version
    try:
        value = clients("secretsmanager").get_secret_value(**request).get("SecretString") or ""
    except Exception as err:  # noqa: BLE001
        raise VariableError("Secrets Manager Error", f"{err} (environment variable {name})") from None
    if not json_key:
        return value
    try:
        found = json.loads(value)[json_key]
    except (ValueError, KeyError, TypeError):
        raise VariableError("Secrets Manager Error", f"the secret {secret_id} has no JSON key {json_key} "
                                                     f"(environment variable {name})") from None
    return found if isinstance(found, str) else json.dumps(found)


def resolve(variables: list[dict], clients) -> dict[str, str]:
    """name -> value of a project's (or an override's) environmentVariables."""
    values = {}
    for variable in variables:
        name, value, kind = variable["name"], variable.get("value") or "", variable.get("type") or "PLAINTEXT"
        if kind == "PARAMETER_STORE":
            value = read_parameter(clients, name, value)
        elif kind == "SECRETS_MANAGER":
            value = read_secret(clients, name, value)
        values[name] = value
    return values


def resolve_buildspec(spec, clients) -> dict[str, str]:
    """The buildspec's env: variables, parameter-store and secrets-manager."""
    values = dict(spec.variables)
    values.update({n: read_parameter(clients, n, r) for n, r in spec.parameter_store.items()})
    values.update({n: read_secret(clients, n, r) for n, r in spec.secrets_manager.items()})
    return values
