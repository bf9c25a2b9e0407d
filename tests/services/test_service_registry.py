"""A new service is one folder and one line in the registry: a test-only CodeBuild sliver
(tests/support/codebuild_lite/) is registered beside labcloud's own services and reached through the
gateway by boto3, validated against botocore's model, stored under its own root, reported by status and
health; the gateway and the server name no service."""

from __future__ import annotations

import ast
import inspect
import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from labcloud.server import admin, context, gateway, lab_server, registry
from labcloud.server.lab_server import LabServer
from labcloud.services import SERVICES
from tests.support.signing import bearer, signed_request

EXTRA = "tests.support.codebuild_lite:SERVICE"
# labcloud's own CodeBuild claims the same JSON target prefix; the sliver stands in for it here, so that
# what is proved is a service reached through its one line, not one shadowing another.
WITHOUT_CODEBUILD = [s for s in SERVICES if s != "labcloud.services.codebuild:SERVICE"]
PROJECT = {"name": "build-me", "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"},
           "artifacts": {"type": "NO_ARTIFACTS"},
           "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                           "computeType": "BUILD_GENERAL1_SMALL"},
           "serviceRole": "arn:aws:iam::123456789012:role/build"}


@pytest.fixture
def server_with_extra(in_process):
    return lambda: in_process(services=[*WITHOUT_CODEBUILD, EXTRA])


def get_json(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=bearer()), timeout=10) as response:
        return json.loads(response.read())


def test_a_registered_service_is_reached_through_the_gateway_and_keeps_its_records(server_with_extra, tmp_path):
    server = server_with_extra()
    codebuild = boto3.client("codebuild")
    created = codebuild.create_project(**PROJECT)["project"]
    assert created["arn"] == "arn:aws:codebuild:us-east-1:123456789012:project/build-me"
    assert codebuild.list_projects()["projects"] == ["build-me"]
    with pytest.raises(ClientError) as err:
        codebuild.create_project(**PROJECT)
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"

    # Only its operations table is reachable; requests are checked against botocore's model first.
    with pytest.raises(ClientError) as err:
        codebuild.start_build(projectName="build-me")
    assert err.value.response["Error"]["Code"] == "UnknownOperationException"
    body = json.dumps({"name": "x"}).encode()  # no source, artifacts, environment, serviceRole
    request = signed_request(server.url + "/", body, headers={
        "X-Amz-Target": "CodeBuild_20161006.CreateProject", "Content-Type": "application/x-amz-json-1.1"},
        service="codebuild")
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(request, timeout=10)
    answer = json.loads(http_err.value.read())
    assert http_err.value.code == 400 and answer["__type"] == "ValidationException"
    assert "Value null at 'source' failed to satisfy constraint: Member must not be null" in answer["message"]

    # Its status lines and health name, beside the other services'.
    assert get_json(f"{server.url}/_labcloud/status")["codebuild_projects"] == ["build-me"]
    health = get_json(f"{server.url}/_localstack/health")["services"]
    assert health["codebuild"] == "running" and health["sagemaker"] == "running"
    # labcloud's own services still answer beside it.
    assert boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert (tmp_path / "state" / "codebuild-lite" / "projects" / "build-me.json").is_file()

    server.stop()
    server_with_extra()  # a restart loads the service's records from its own store root
    names = boto3.client("codebuild").batch_get_projects(names=["build-me", "nope"])
    assert [p["name"] for p in names["projects"]] == ["build-me"] and names["projectsNotFound"] == ["nope"]


def test_without_its_line_the_requests_go_elsewhere(in_process):
    server = in_process(state_dir=None, services=WITHOUT_CODEBUILD)
    assert "codebuild" not in get_json(f"{server.url}/_localstack/health")["services"]
    assert "codebuild_projects" not in get_json(f"{server.url}/_labcloud/status")


def code_of(module) -> str:
    """A module's code without its docstrings and comments (they may give examples)."""
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            body.pop(0)
    return ast.unparse(tree).lower()


def test_the_gateway_and_the_server_name_no_service():
    names = ("sagemaker", "moto", "s3", "iam", "codebuild", "invocations", "journal", "launcher")
    for module in (gateway, admin, lab_server, registry, context):
        code = code_of(module)
        # The context makes clients of any service; path-style S3 addressing is a setting of all of them.
        code = code.replace("s3={'addressing_style': 'path'}", "")
        for name in names:
            assert name not in code, f"{module.__name__} names {name}"


def test_a_bad_registry_is_refused_at_start():
    from labcloud.server.registry import load_definition

    with pytest.raises(TypeError):
        load_definition("labcloud.services:SERVICES")
    with pytest.raises(ValueError, match="unique"):
        LabServer(port=0, services=[*SERVICES, "labcloud.services.sagemaker:SERVICE"])
