"""Routing and the admin routes of the one endpoint."""

import json
import urllib.request

import boto3
import localstack_client.session
import pytest
from botocore.exceptions import ClientError

import labcloud
from tests.support.signing import bearer, signed_request


def _get(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
        return json.loads(response.read())


def test_health_and_localstack_health(labcloud_server):
    health = _get(f"{labcloud_server.url}/_labcloud/health", bearer())
    assert health["ready"] is True and health["endpoint_url"] == labcloud_server.url
    stranger = _get(f"{labcloud_server.url}/_labcloud/health")  # another user learns no pid and no path
    assert stranger == {"labcloud": health["labcloud"], "ready": True, "authenticated": True}
    assert _get(f"{labcloud_server.url}/_localstack/health")["services"]["sagemaker"] == "running"


def test_an_unknown_sagemaker_operation_is_refused_in_aws_terms(labcloud_server):
    request = signed_request(
        labcloud_server.url + "/", b"{}",
        headers={"X-Amz-Target": "SageMaker.CreateTimeMachine", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    body = json.loads(info.value.read())
    assert info.value.code == 400
    assert body["__type"] == "UnknownOperationException"


def test_a_malformed_body_is_a_serialization_error(labcloud_server):
    request = signed_request(
        labcloud_server.url + "/", b"{not json",
        headers={"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert json.loads(info.value.read())["__type"] == "SerializationException"


def test_other_services_are_moto(labcloud_server):
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
    role = boto3.client("iam").get_role(RoleName="SageMakerRole")["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/SageMakerRole"


def test_localstack_client_sessions_work_unchanged(labcloud_server):
    session = localstack_client.session.Session(**labcloud.credentials())
    s3 = session.client("s3")
    s3.create_bucket(Bucket="from-localstack-client")
    assert "from-localstack-client" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as info:
        session.client("sagemaker").describe_training_job(TrainingJobName="no-such-job-anywhere")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_the_session_has_its_default_bucket(sagemaker_session):
    bucket = sagemaker_session.default_bucket()
    assert bucket == "sagemaker-us-east-1-123456789012"
    boto3.client("s3").head_bucket(Bucket=bucket)
