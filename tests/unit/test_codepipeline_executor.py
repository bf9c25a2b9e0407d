"""Pipeline executions with stand-in actions (tests/support/codepipeline.py): stage order, runOrder and
parallel actions, failures, approvals, stops, superseded executions, retries, variables and restarts."""

from __future__ import annotations

import pytest

from labcloud.services.codepipeline.exceptions import (ActionNotFoundException, ApprovalAlreadyCompletedException,
                                                       DuplicatedStopRequestException, InvalidApprovalTokenException,
                                                       PipelineExecutionNotStoppableException,
                                                       StageNotFoundException, StageNotRetryableException)
from labcloud.services.codepipeline.pipelines.executions import RESTARTED
from tests.support.codepipeline import (Script, StandInContext, action, action_state, approval_token, declaration,
                                        execution_status, family, settled, three_stages, wait_for)


@pytest.fixture
def script():
    return Script()


@pytest.fixture
def ctx():
    context = StandInContext()
    yield context
    context.shutting_down.set()


def first_execution(executions, name: str) -> str:
    [summary] = executions.list_pipeline_executions({"pipelineName": name})["pipelineExecutionSummaries"]
    return summary["pipelineExecutionId"]


def approve(executions, name: str, status: str = "Approved", summary: str = "ok", token: str | None = None):
    token = token or approval_token(executions, name)
    return executions.put_approval_result({"pipelineName": name, "stageName": "Approve", "actionName": "Review",
                                           "token": token, "result": {"status": status, "summary": summary}})


def test_stages_run_in_order_and_actions_of_one_run_order_together(ctx, script):
    pipelines, executions = family(ctx, script)
    script.delay.update({"Lint": 0.2, "Unit": 0.2})
    pipelines.create_pipeline({"pipeline": declaration(
        "order", ("Source", [action("Fetch", "Source", outputs=["Src"])]),
        ("Build", [action("Package", run_order=2, inputs=["Src"], outputs=["Pkg"]),
                   action("Lint", inputs=["Src"]), action("Unit", inputs=["Src"])]),
        ("Ship", [action("Publish", "Test", inputs=["Pkg"])]))})
    execution_id = first_execution(executions, "order")
    assert settled(executions, "order", execution_id) == "Succeeded"
    assert script.started[0] == "Fetch" and set(script.started[1:3]) == {"Lint", "Unit"}
    assert script.started[3:] == ["Package", "Publish"]
    assert script.max_parallel == 2  # Lint and Unit ran at the same time, nothing else did
    assert set(script.ended[1:3]) == {"Lint", "Unit"}  # Package waited for both
    # Each action's job had its inputs where the earlier action put its outputs.
    [fetch], [package], [publish] = script.jobs["Fetch"], script.jobs["Package"], script.jobs["Publish"]
    assert package.inputs["Src"] == fetch.outputs["Src"] and publish.inputs["Pkg"] == package.outputs["Pkg"]
    assert fetch.outputs["Src"]["bucket"] == "artifacts" and fetch.outputs["Src"]["key"].startswith("order/Src/")

    state = executions.get_pipeline_state({"name": "order"})
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build", "Ship"]
    assert all(s["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "Succeeded"}
               for s in state["stageStates"])
    build = state["stageStates"][1]["actionStates"]
    assert [a["actionName"] for a in build] == ["Package", "Lint", "Unit"]
    assert all(a["latestExecution"]["status"] == "Succeeded" for a in build)
    assert build[1]["latestExecution"]["summary"] == "Lint done"
    assert state["stageStates"][0]["actionStates"][0]["currentRevision"]["revisionId"] == "commit-1"
    detail = executions.get_pipeline_execution({"pipelineName": "order", "pipelineExecutionId": execution_id})
    assert detail["pipelineExecution"]["trigger"]["triggerType"] == "CreatePipeline"
    assert detail["pipelineExecution"]["artifactRevisions"][0]["name"] == "Src"

    # CodePipeline's events, in order.
    executions.events.flush()
    assert ctx.events.states("Pipeline") == [(None, None, "STARTED"), (None, None, "SUCCEEDED")]
    stages = ctx.events.states("Stage")
    assert [s for s in stages if s[2] == "STARTED"] == [("Source", None, "STARTED"), ("Build", None, "STARTED"),
                                                        ("Ship", None, "STARTED")]
    actions = ctx.events.states("Action")
    assert actions.index(("Build", "Package", "STARTED")) > actions.index(("Build", "Lint", "SUCCEEDED"))

    listed = executions.list_action_executions({"pipelineName": "order",
                                                "filter": {"pipelineExecutionId": execution_id}})
    details = listed["actionExecutionDetails"]
    assert sorted(d["actionName"] for d in details) == ["Fetch", "Lint", "Package", "Publish", "Unit"]
    [package_detail] = [d for d in details if d["actionName"] == "Package"]
    assert package_detail["input"]["inputArtifacts"] == [{"name": "Src", "s3location": fetch.outputs["Src"]}]
    assert package_detail["output"]["outputArtifacts"] == [{"name": "Pkg", "s3location": package.outputs["Pkg"]}]


def test_a_failed_action_fails_its_stage_and_the_execution(ctx, script):
    pipelines, executions = family(ctx, script)
    script.fail["Unit"] = "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR"
    script.delay["Lint"] = 0.2
    pipelines.create_pipeline({"pipeline": declaration(
        "failing", ("Source", [action("Fetch", "Source", outputs=["Src"])]),
        ("Build", [action("Lint", inputs=["Src"]), action("Unit", inputs=["Src"]),
                   action("Package", run_order=2, inputs=["Src"])]),
        ("Ship", [action("Publish", "Test", inputs=["Src"])]))})
    execution_id = first_execution(executions, "failing")
    assert settled(executions, "failing", execution_id) == "Failed"
    assert "Package" not in script.started and "Publish" not in script.started  # nothing after the failure
    assert "Lint" in script.ended  # the other action of that runOrder finished
    unit = action_state(executions, "failing", "Build", "Unit")["latestExecution"]
    assert unit["status"] == "Failed"
    assert unit["errorDetails"] == {"code": "JobFailed", "message": script.fail["Unit"]}
    assert action_state(executions, "failing", "Build", "Lint")["latestExecution"]["status"] == "Succeeded"
    assert "latestExecution" not in action_state(executions, "failing", "Build", "Package")
    state = executions.get_pipeline_state({"name": "failing"})
    assert state["stageStates"][1]["latestExecution"]["status"] == "Failed"
    assert "latestExecution" not in state["stageStates"][2]
    detail = executions.get_pipeline_execution({"pipelineName": "failing", "pipelineExecutionId": execution_id})
    assert "Action Unit in stage Build failed: Build terminated with state: FAILED" in detail[
        "pipelineExecution"]["statusSummary"]


def test_an_approval_waits_for_its_token_and_approved_goes_on(ctx, script):
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": three_stages("approve")})
    execution_id = first_execution(executions, "approve")
    token = approval_token(executions, "approve")
    review = action_state(executions, "approve", "Approve", "Review")["latestExecution"]
    assert review["status"] == "InProgress" and execution_status(executions, "approve", execution_id) == "InProgress"
    assert "Check" not in script.started  # runOrder 2 waits for the approval

    with pytest.raises(InvalidApprovalTokenException):
        approve(executions, "approve", token="00000000-0000-4000-8000-000000000000")
    with pytest.raises(StageNotFoundException):
        executions.put_approval_result({"pipelineName": "approve", "stageName": "Nope", "actionName": "Review",
                                        "token": token, "result": {"status": "Approved", "summary": ""}})
    with pytest.raises(ActionNotFoundException):
        executions.put_approval_result({"pipelineName": "approve", "stageName": "Approve", "actionName": "Check",
                                        "token": token, "result": {"status": "Approved", "summary": ""}})
    assert "approvedAt" in approve(executions, "approve", summary="looks good", token=token)
    assert settled(executions, "approve", execution_id) == "Succeeded"
    review = action_state(executions, "approve", "Approve", "Review")["latestExecution"]
    assert review["status"] == "Succeeded" and review["summary"] == "looks good" and "token" not in review
    assert review["lastUpdatedBy"].startswith("arn:aws:iam::123456789012:")
    assert script.started[-1] == "Check"
    with pytest.raises(ApprovalAlreadyCompletedException):
        approve(executions, "approve", token=token)


def test_a_rejected_approval_fails_the_execution(ctx, script):
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": three_stages("reject")})
    execution_id = first_execution(executions, "reject")
    approve(executions, "reject", status="Rejected", summary="accuracy too low")
    assert settled(executions, "reject", execution_id) == "Failed"
    review = action_state(executions, "reject", "Approve", "Review")["latestExecution"]
    assert review["status"] == "Failed" and review["errorDetails"]["message"] == "Rejected: accuracy too low"
    assert "Check" not in script.started


def test_stop_and_abandon_ends_the_execution_at_once(ctx, script):
    pipelines, executions = family(ctx, script)
    script.hold("Compile")
    pipelines.create_pipeline({"pipeline": three_stages("abandon")})
    execution_id = first_execution(executions, "abandon")
    wait_for(lambda: "Compile" in script.started, what="the build to start")
    executions.stop_pipeline_execution({"pipelineName": "abandon", "pipelineExecutionId": execution_id,
                                        "abandon": True, "reason": "wrong branch"})
    assert settled(executions, "abandon", execution_id) == "Stopped"
    assert action_state(executions, "abandon", "Build", "Compile")["latestExecution"]["status"] == "Abandoned"
    state = executions.get_pipeline_state({"name": "abandon"})
    assert state["stageStates"][1]["latestExecution"]["status"] == "Stopped"
    assert "latestExecution" not in state["stageStates"][2]
    wait_for(lambda: "Compile" in script.ended, what="the abandoned action to see its stop")
    [summary] = executions.list_pipeline_executions({"pipelineName": "abandon"})["pipelineExecutionSummaries"]
    assert summary["stopTrigger"] == {"reason": "wrong branch"}
    with pytest.raises(PipelineExecutionNotStoppableException):
        executions.stop_pipeline_execution({"pipelineName": "abandon", "pipelineExecutionId": execution_id})


def test_stop_and_wait_lets_the_running_action_finish_and_starts_nothing_more(ctx, script):
    pipelines, executions = family(ctx, script)
    script.hold("Compile")
    pipelines.create_pipeline({"pipeline": three_stages("wait")})
    execution_id = first_execution(executions, "wait")
    wait_for(lambda: "Compile" in script.started, what="the build to start")
    executions.stop_pipeline_execution({"pipelineName": "wait", "pipelineExecutionId": execution_id})
    assert execution_status(executions, "wait", execution_id) == "Stopping"
    with pytest.raises(DuplicatedStopRequestException):
        executions.stop_pipeline_execution({"pipelineName": "wait", "pipelineExecutionId": execution_id})
    script.release("Compile")
    assert settled(executions, "wait", execution_id) == "Stopped"
    assert action_state(executions, "wait", "Build", "Compile")["latestExecution"]["status"] == "Succeeded"
    assert "Review" not in {a["actionName"] for a in executions.list_action_executions(
        {"pipelineName": "wait"})["actionExecutionDetails"]}


def test_a_newer_execution_supersedes_an_older_one_waiting_and_artifacts_never_mix(ctx, script):
    pipelines, executions = family(ctx, script)
    script.hold("Compile")
    pipelines.create_pipeline({"pipeline": three_stages("busy")})
    first = first_execution(executions, "busy")
    wait_for(lambda: "Compile" in script.started, what="the first build")
    second = executions.start_pipeline_execution({"name": "busy"})["pipelineExecutionId"]
    wait_for(lambda: executions.get_pipeline_state({"name": "busy"})["stageStates"][1].get("inboundExecution"),
             what="the second execution to wait at Build")
    assert script.started.count("Compile") == 1  # the Build stage holds one execution
    third = executions.start_pipeline_execution({"name": "busy"})["pipelineExecutionId"]
    assert settled(executions, "busy", second) == "Superseded"
    detail = executions.get_pipeline_execution({"pipelineName": "busy", "pipelineExecutionId": second})
    assert third in detail["pipelineExecution"]["statusSummary"]
    script.release("Compile")
    approve(executions, "busy")  # the first reaches the approval; approve it
    assert settled(executions, "busy", first) == "Succeeded"
    wait_for(lambda: action_state(executions, "busy", "Approve", "Review")["latestExecution"].get("token"),
             what="the third execution's approval")
    approve(executions, "busy")
    assert settled(executions, "busy", third) == "Succeeded"
    fetch_first, _, fetch_third = script.jobs["Fetch"]
    compile_first, compile_third = script.jobs["Compile"]
    assert compile_first.inputs["Src"] == fetch_first.outputs["Src"]
    assert compile_third.inputs["Src"] == fetch_third.outputs["Src"] != fetch_first.outputs["Src"]
    assert compile_third.execution_id == third


def test_retry_runs_the_failed_actions_again(ctx, script):
    pipelines, executions = family(ctx, script)
    script.fail["Unit"] = "tests failed"
    pipelines.create_pipeline({"pipeline": declaration(
        "retry", ("Source", [action("Fetch", "Source", outputs=["Src"])]),
        ("Build", [action("Lint", inputs=["Src"]), action("Unit", inputs=["Src"])]))})
    execution_id = first_execution(executions, "retry")
    assert settled(executions, "retry", execution_id) == "Failed"
    with pytest.raises(StageNotRetryableException):
        executions.retry_stage_execution({"pipelineName": "retry", "stageName": "Source",
                                          "pipelineExecutionId": execution_id, "retryMode": "FAILED_ACTIONS"})
    del script.fail["Unit"]
    executions.retry_stage_execution({"pipelineName": "retry", "stageName": "Build",
                                      "pipelineExecutionId": execution_id, "retryMode": "FAILED_ACTIONS"})
    assert settled(executions, "retry", execution_id) == "Succeeded"
    assert script.started.count("Lint") == 1 and script.started.count("Unit") == 2
    unit_runs = [d for d in executions.list_action_executions({"pipelineName": "retry"})["actionExecutionDetails"]
                 if d["actionName"] == "Unit"]
    assert [d["status"] for d in unit_runs] == ["Succeeded", "Failed"]  # newest first


def test_variables_of_earlier_actions_and_of_the_pipeline_are_resolved(ctx, script):
    pipelines, executions = family(ctx, script)
    fetch = {**action("Fetch", "Source", outputs=["Src"]), "namespace": "SourceVariables"}
    pipelines.create_pipeline({"pipeline": declaration(
        "vars", ("Source", [fetch]),
        ("Build", [action("Compile", inputs=["Src"], EnvironmentVariables=(
            '[{"name":"BY","value":"#{SourceVariables.Who}"},{"name":"STAGE","value":"#{variables.Stage}"},'
            '{"name":"RUN","value":"#{codepipeline.PipelineExecutionId}"}]'))]),
        pipelineType="V2", variables=[{"name": "Stage", "defaultValue": "dev"}])})
    first = first_execution(executions, "vars")
    assert settled(executions, "vars", first) == "Succeeded"
    second = executions.start_pipeline_execution({"name": "vars", "variables": [{"name": "Stage",
                                                                                 "value": "prod"}]})
    assert settled(executions, "vars", second["pipelineExecutionId"]) == "Succeeded"
    one, two = (j.configuration["EnvironmentVariables"] for j in script.jobs["Compile"])
    assert '"value":"Fetch"' in one and '"value":"dev"' in one and f'"value":"{first}"' in one
    assert '"value":"prod"' in two
    detail = executions.get_pipeline_execution({"pipelineName": "vars", **second})["pipelineExecution"]
    assert detail["variables"] == [{"name": "Stage", "resolvedValue": "prod"}]


def test_an_unknown_variable_fails_the_action_that_names_it(ctx, script):
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": declaration(
        "novar", ("Source", [action("Fetch", "Source", outputs=["Src"])]),
        ("Build", [action("Compile", inputs=["Src"], ProjectName="#{Nowhere.Thing}")]))})
    assert settled(executions, "novar", first_execution(executions, "novar")) == "Failed"
    error = action_state(executions, "novar", "Build", "Compile")["latestExecution"]["errorDetails"]
    assert "#{Nowhere.Thing}" in error["message"] and "Compile" not in script.started


def test_a_client_request_token_starts_one_execution(ctx, script):
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": three_stages("once")})
    one = executions.start_pipeline_execution({"name": "once", "clientRequestToken": "abc"})
    two = executions.start_pipeline_execution({"name": "once", "clientRequestToken": "abc"})
    assert one == two


def test_deleting_a_pipeline_ends_its_executions(ctx, script):
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": three_stages("gone")})
    approval_token(executions, "gone")
    pipelines.delete_pipeline({"name": "gone"})
    assert not executions.executions
    wait_for(lambda: not executions.workers.running(), what="the worker to end")


def test_after_a_restart_an_approval_keeps_waiting_and_a_running_build_fails(tmp_path, script):
    ctx = StandInContext(state_dir=tmp_path)
    pipelines, executions = family(ctx, script)
    pipelines.create_pipeline({"pipeline": three_stages("waits")})
    token = approval_token(executions, "waits")
    script.hold("Compile")
    pipelines.create_pipeline({"pipeline": three_stages("builds")})
    wait_for(lambda: script.started.count("Compile") == 2, what="the second pipeline's build")
    waiting, building = first_execution(executions, "waits"), first_execution(executions, "builds")
    ctx.shutting_down.set()  # labcloud stops
    executions.shutdown()
    assert not executions.workers.running()

    again = StandInContext(state_dir=tmp_path)
    script2 = Script()
    try:
        pipelines2, executions2 = family(again, script2)
        assert settled(executions2, "builds", building) == "Failed"
        compile_state = action_state(executions2, "builds", "Build", "Compile")["latestExecution"]
        assert compile_state["status"] == "Failed" and compile_state["errorDetails"]["message"] == RESTARTED
        assert execution_status(executions2, "waits", waiting) == "InProgress"
        assert approval_token(executions2, "waits") == token  # the same token still works
        approve(executions2, "waits", token=token)
        assert settled(executions2, "waits", waiting) == "Succeeded"
        assert script2.started == ["Check"]  # nothing ran twice
    finally:
        again.shutting_down.set()


def test_an_execution_stopped_while_it_waits_at_a_stage_never_enters_it(ctx, script):
    pipelines, executions = family(ctx, script)
    script.hold("Compile")
    pipelines.create_pipeline({"pipeline": three_stages("queue")})
    first = first_execution(executions, "queue")
    wait_for(lambda: "Compile" in script.started, what="the first build")
    second = executions.start_pipeline_execution({"name": "queue"})["pipelineExecutionId"]
    wait_for(lambda: executions.get_pipeline_state({"name": "queue"})["stageStates"][1].get("inboundExecution"),
             what="the second execution to wait at Build")
    executions.stop_pipeline_execution({"pipelineName": "queue", "pipelineExecutionId": second, "abandon": False})
    assert settled(executions, "queue", second) == "Stopped"
    script.release("Compile")
    approval_token(executions, "queue")
    assert script.started.count("Compile") == 1
    build = executions.get_pipeline_state({"name": "queue"})["stageStates"][1]
    assert build["latestExecution"]["pipelineExecutionId"] == first and "inboundExecution" not in build
    assert execution_status(executions, "queue", first) == "InProgress"
