"""Pipeline definitions checked as AWS checks them (ValidationException naming the culprit), execution
parameters checked by type, step types labcloud cannot run offline refused when an execution starts, and
the execution APIs' answers."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

import labcloud


def definition(steps, parameters=None) -> str:
    return json.dumps({"Version": "2020-12-01", "Metadata": {}, "Parameters": parameters or [], "Steps": steps})


def fail_step(name: str, message, depends_on=None) -> dict:
    step = {"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": message}}
    if depends_on:
        step["DependsOn"] = depends_on
    return step


def create(sm, name: str, text: str):
    return sm.create_pipeline(PipelineName=name, PipelineDefinition=text, RoleArn=labcloud.ROLE_ARN)


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


@pytest.mark.parametrize("steps, parameters, culprit", [
    ([fail_step("A", {"Get": "Steps.Missing.ModelArtifacts.S3ModelArtifacts"})], [], "step Missing"),
    ([fail_step("A", {"Get": "Parameters.Nope"})], [], "parameter Nope"),
    ([fail_step("A", "x", depends_on=["Ghost"])], [], "step Ghost"),
    ([fail_step("A", "x", depends_on=["B"]), fail_step("B", "y", depends_on=["A"])], [], "A -> B -> A"),
    ([fail_step("A", "x")], [{"Name": "Count", "Type": "Integer", "DefaultValue": "many"}], "parameter Count"),
    ([fail_step("A", "x"), fail_step("A", "y")], [], "two steps are named A"),
    ([fail_step("A", {"Get": "Execution.Tomorrow"})], [], "Execution.Tomorrow"),
])
def test_a_broken_definition_is_refused_naming_the_culprit(sm, steps, parameters, culprit):
    code, message = error_of(lambda: create(sm, "broken", definition(steps, parameters)))
    assert code == "ValidationException"
    assert message.startswith("Invalid pipeline definition: ") and culprit in message


def test_not_json_is_refused(sm):
    code, message = error_of(lambda: create(sm, "not-json", "{steps"))
    assert code == "ValidationException" and "not valid JSON" in message


def test_parameters_are_checked_by_type_when_an_execution_starts(sm):
    create(sm, "typed", definition([fail_step("A", {"Get": "Parameters.Count"})],
                                   [{"Name": "Count", "Type": "Integer", "DefaultValue": 1}]))
    code, message = error_of(lambda: sm.start_pipeline_execution(
        PipelineName="typed", PipelineParameters=[{"Name": "Count", "Value": "1.5"}]))
    assert code == "ValidationException" and "Parameter Count is of type Integer" in message
    code, message = error_of(lambda: sm.start_pipeline_execution(
        PipelineName="typed", PipelineParameters=[{"Name": "Other", "Value": "1"}]))
    assert code == "ValidationException" and "Parameter Other is not defined" in message


def test_a_step_type_labcloud_cannot_run_is_refused_at_start_naming_it(sm):
    lambda_step = {"Name": "CallLambda", "Type": "Lambda", "Arguments": {},
                   "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    create(sm, "with-lambda", definition([lambda_step, fail_step("A", "x")]))
    code, message = error_of(lambda: sm.start_pipeline_execution(PipelineName="with-lambda"))
    assert code == "ValidationException" and "CallLambda (type Lambda)" in message


def test_unknown_pipelines_and_executions_are_resource_not_found(sm):
    code, message = error_of(lambda: sm.describe_pipeline(PipelineName="nowhere"))
    assert code == "ResourceNotFound" and "pipeline/nowhere" in message
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/nowhere/execution/abc"
    code, message = error_of(lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn))
    assert code == "ResourceNotFound" and arn in message


def test_a_retried_request_is_idempotent_and_a_second_create_says_already_exists(sm):
    text = definition([fail_step("Stop", "stopped on purpose")])
    request = dict(PipelineName="retried", PipelineDefinition=text, RoleArn=labcloud.ROLE_ARN)
    arn = sm.create_pipeline(ClientRequestToken="token-1".ljust(32, "x"), **request)["PipelineArn"]
    # botocore's retry of a request whose answer was lost carries the same token: the same pipeline.
    assert sm.create_pipeline(ClientRequestToken="token-1".ljust(32, "x"), **request)["PipelineArn"] == arn
    code, message = error_of(lambda: sm.create_pipeline(ClientRequestToken="token-2".ljust(32, "x"), **request))
    assert code == "ValidationException" and "already exists" in message  # what the SDK's upsert() looks for

    started = sm.start_pipeline_execution(PipelineName="retried", ClientRequestToken="start-1".ljust(32, "x"))
    again = sm.start_pipeline_execution(PipelineName="retried", ClientRequestToken="start-1".ljust(32, "x"))
    other = sm.start_pipeline_execution(PipelineName="retried", ClientRequestToken="start-2".ljust(32, "x"))
    assert again["PipelineExecutionArn"] == started["PipelineExecutionArn"] != other["PipelineExecutionArn"]
    executions = sm.list_pipeline_executions(PipelineName="retried")["PipelineExecutionSummaries"]
    assert len(executions) == 2


def test_an_execution_of_fail_steps_reports_as_aws_does(sm):
    text = definition([fail_step("Stop", {"Std:Join": {"On": "-", "Values": ["count", {"Get": "Parameters.Count"},
                                                                             {"Get": "Execution.PipelineName"}]}})],
                      [{"Name": "Count", "Type": "Integer", "DefaultValue": 3}])
    create(sm, "fails", text)
    arn = sm.start_pipeline_execution(PipelineName="fails", PipelineParameters=[{"Name": "Count", "Value": "7"}],
                                      PipelineExecutionDisplayName="seven")["PipelineExecutionArn"]
    assert arn.startswith("arn:aws:sagemaker:us-east-1:123456789012:pipeline/fails/execution/")
    deadline = time.monotonic() + 30
    while (described := sm.describe_pipeline_execution(PipelineExecutionArn=arn))["PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert described["PipelineExecutionStatus"] == "Failed" and described["FailureReason"] == "count-7-fails"
    assert described["PipelineExecutionDisplayName"] == "seven"
    [step] = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert step["StepStatus"] == "Failed" and step["AttemptCount"] == 1 and "EndTime" in step
    assert sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)["PipelineDefinition"] == text
    summaries = sm.list_pipeline_executions(PipelineName="fails")["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionArn"] for s in summaries] == [arn]
    assert summaries[0]["PipelineExecutionFailureReason"] == "count-7-fails"
    assert sm.describe_pipeline(PipelineName="fails")["PipelineStatus"] == "Active"
    assert "fails" in [p["PipelineName"] for p in sm.list_pipelines(PipelineNamePrefix="fa")["PipelineSummaries"]]
    code, _ = error_of(lambda: sm.stop_pipeline_execution(PipelineExecutionArn=arn))
    assert code == "ValidationException"
    # A Failed execution can be retried: its failed step runs again.
    sm.retry_pipeline_execution(PipelineExecutionArn=arn)
    deadline = time.monotonic() + 30
    while (described := sm.describe_pipeline_execution(PipelineExecutionArn=arn))["PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    [step] = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert described["PipelineExecutionStatus"] == "Failed" and step["AttemptCount"] == 1
    assert sm.delete_pipeline(PipelineName="fails")["PipelineArn"].endswith("pipeline/fails")


def test_a_retry_policy_runs_a_step_again_after_a_failure_of_its_type(in_process, monkeypatch):
    """The step's job fails as SageMaker.JOB_INTERNAL_ERROR once (a stand-in for run_step: labcloud's own
    jobs do not fail that way on purpose), then succeeds: one step, two attempts."""
    import boto3

    from labcloud.services.sagemaker.pipelines import executor
    from labcloud.services.sagemaker.pipelines.steps import StepResult

    outcomes = [StepResult("Failed", {}, failure="InternalServerError: capacity hiccup",
                           error_type="SageMaker.JOB_INTERNAL_ERROR"), StepResult("Succeeded", {})]
    calls = []

    def run_step(kind, arguments, env, attach=False):
        calls.append(env.job_name)
        return outcomes[len(calls) - 1]

    monkeypatch.setattr(executor, "run_step", run_step)
    in_process(state_dir=None)
    sm = boto3.client("sagemaker")
    step = fail_step("Flaky", "x")
    step["RetryPolicies"] = [{"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 1,
                              "BackoffRate": 1.0, "MaxAttempts": 3}]
    create(sm, "flaky", definition([step]))
    arn = sm.start_pipeline_execution(PipelineName="flaky")["PipelineExecutionArn"]
    deadline = time.monotonic() + 30
    while (described := sm.describe_pipeline_execution(PipelineExecutionArn=arn))[
            "PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    [flaky] = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert flaky["StepStatus"] == "Succeeded" and flaky["AttemptCount"] == 2 and len(calls) == 2
    assert "FailureReason" not in flaky
