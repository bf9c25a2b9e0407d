"""AWS's errors from models, endpoints and InvokeEndpoint, and an endpoint under load and after a crash."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from tests.support.hosting import (BROKEN_SCRIPT, REGRESSOR_SCRIPT, ROLE, container, endpoint_processes,
                                        fitted_models, model_tarball, upload)

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


@pytest.fixture(scope="module")
def model_url(labcloud_server):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="hosting-errors")
    _, regressor = fitted_models()
    return upload(s3, "hosting-errors", "regressor/model.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response


def wait_status(sm, name, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating") or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def deploy(sm, name, containers=None, primary=None, mode=None):
    kwargs = {"Containers": containers} if containers else {"PrimaryContainer": primary}
    if mode:
        kwargs["InferenceExecutionConfig"] = {"Mode": mode}
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, **kwargs)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return wait_status(sm, name)


@pytest.mark.parametrize("count", [1, 16])
def test_a_pipeline_needs_2_to_15_containers(sm, model_url, count):
    response = error_of(sm.create_model, ModelName=f"count-{count}", ExecutionRoleArn=ROLE,
                        Containers=[container(model_url)] * count)
    assert response["Error"]["Code"] == "ValidationException"
    assert "15" in response["Error"]["Message"]
    error_of(sm.describe_model, ModelName=f"count-{count}")  # nothing was created


def test_direct_mode_needs_every_hostname(sm, model_url):
    response = error_of(sm.create_model, ModelName="direct-no-hosts", ExecutionRoleArn=ROLE,
                        InferenceExecutionConfig={"Mode": "Direct"},
                        Containers=[container(model_url), container(model_url)])
    assert response["Error"]["Code"] == "ValidationException"
    assert "ContainerHostname" in response["Error"]["Message"]
    response = error_of(sm.create_model, ModelName="some-hosts", ExecutionRoleArn=ROLE,
                        Containers=[container(model_url, hostname="a"), container(model_url)])
    assert response["Error"]["Code"] == "ValidationException"
    assert "every container" in response["Error"]["Message"]


def test_unknown_resources_give_aws_messages(sm, runtime):
    for call, kwargs, message in (
            (sm.describe_endpoint, {"EndpointName": "nope"}, f'Could not find endpoint "{ARN}:endpoint/nope".'),
            (sm.delete_endpoint, {"EndpointName": "nope"}, f'Could not find endpoint "{ARN}:endpoint/nope".'),
            (sm.describe_model, {"ModelName": "nope"}, f'Could not find model "{ARN}:model/nope".'),
            (sm.describe_endpoint_config, {"EndpointConfigName": "nope"},
             f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".')):
        response = error_of(call, **kwargs)
        assert response["Error"] == {"Code": "ValidationException", "Message": message}
    response = error_of(runtime.invoke_endpoint, EndpointName="nope", Body=b"1", ContentType="text/csv")
    assert response["Error"]["Code"] == "ValidationError"
    assert response["Error"]["Message"] == "Endpoint nope of account 123456789012 not found."


def test_a_container_that_cannot_start_fails_the_endpoint_with_its_last_lines(sm, model_url, labcloud_server):
    s3 = boto3.client("s3")
    _, regressor = fitted_models()
    broken = upload(s3, "hosting-errors", "broken/model.tar.gz", model_tarball(regressor, BROKEN_SCRIPT))
    described = deploy(sm, "broken", primary=container(broken))
    assert described["EndpointStatus"] == "Failed"
    assert "not_a_module_that_exists_anywhere" in described["FailureReason"]
    assert endpoint_processes(labcloud_server.url, "broken") == []
    sm.delete_endpoint(EndpointName="broken")


def test_model_errors_direct_mode_load_and_a_crashed_container(sm, runtime, model_url, labcloud_server):
    described = deploy(sm, "direct", mode="Direct", containers=[container(model_url, hostname="first"),
                                                                container(model_url, hostname="second")])
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")

    out = runtime.invoke_endpoint(EndpointName="direct", Body=b"1,2,3", ContentType="text/csv",
                                  Accept="text/csv", TargetContainerHostname="second")
    assert out["InvokedProductionVariant"] == "AllTraffic" and out["ContentType"] == "text/csv"
    assert float(out["Body"].read())
    for kwargs, needle in (({}, "TargetContainerHostname"), ({"TargetContainerHostname": "third"}, "third")):
        response = error_of(runtime.invoke_endpoint, EndpointName="direct", Body=b"1,2,3", ContentType="text/csv",
                            **kwargs)
        assert response["Error"]["Code"] == "ValidationError" and needle in response["Error"]["Message"]

    response = error_of(runtime.invoke_endpoint, EndpointName="direct", Body=b"-999,2,3", ContentType="text/csv",
                        TargetContainerHostname="first")
    assert response["Error"]["Code"] == "ModelError"
    assert response["OriginalStatusCode"] == 500
    assert "refusing the sentinel input" in response["OriginalMessage"]
    assert response["LogStreamArn"].endswith("log-group:/aws/sagemaker/Endpoints/direct")

    # Eight concurrent clients: every request answered, none fails.
    def invoke(i):
        target = ("first", "second")[i % 2]
        return runtime.invoke_endpoint(EndpointName="direct", Body=f"{i},1,1".encode(), ContentType="text/csv",
                                       TargetContainerHostname=target)["Body"].read()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(invoke, range(200)))
    assert len(answers) == 200 and all(answers)

    # A container that dies is reported at once as a ModelError, never a hang.
    first_pid = endpoint_processes(labcloud_server.url, "direct")[0]["pids"][0]
    os.kill(first_pid, signal.SIGKILL)
    time.sleep(0.2)
    started = time.monotonic()
    response = error_of(runtime.invoke_endpoint, EndpointName="direct", Body=b"1,2,3", ContentType="text/csv",
                        TargetContainerHostname="first")
    assert time.monotonic() - started < 5
    assert response["Error"]["Code"] == "ModelError" and "first" in response["Error"]["Message"]
    assert endpoint_processes(labcloud_server.url, "direct")[0]["running"] == [False, True]
    sm.delete_endpoint(EndpointName="direct")
