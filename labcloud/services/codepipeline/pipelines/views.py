"""The answers built from execution records: GetPipelineExecution, the summaries of ListPipelineExecutions,
ListActionExecutions' details and GetPipelineState. Pure functions of copies of the records."""

from __future__ import annotations

from labcloud.services.codepipeline.pipelines.records import ActionRun, Execution, Pipeline


def _source_runs(execution: Execution) -> list[tuple[dict, ActionRun]]:
    """(declaration, latest run) of each source action of the execution that produced a revision."""
    found = []
    first = execution.declaration["stages"][0]
    stage = execution.stages.get(first["name"])
    for action in first["actions"]:
        run = stage.latest(action["name"]) if stage else None
        if run is not None and run.revision:
            found.append((action, run))
    return found


def execution_detail(execution: Execution) -> dict:
    """GetPipelineExecution's pipelineExecution."""
    revisions = []
    for action, run in _source_runs(execution):
        for artifact in action["outputArtifacts"]:
            revision = {"name": artifact["name"], "revisionId": run.revision["revisionId"],
                        "revisionChangeIdentifier": run.revision.get("revisionChangeId"),
                        "revisionSummary": run.revision.get("revisionSummary"),
                        "created": run.revision.get("created"), "revisionUrl": run.revision.get("revisionUrl")}
            revisions.append({k: v for k, v in revision.items() if v is not None})
    detail = {"pipelineName": execution.pipeline, "pipelineVersion": execution.version,
              "pipelineExecutionId": execution.execution_id, "status": execution.status,
              "artifactRevisions": revisions, "trigger": execution.trigger,
              "executionMode": execution.execution_mode, "executionType": "STANDARD"}
    if execution.status_summary:
        detail["statusSummary"] = execution.status_summary
    if execution.variables:
        detail["variables"] = [{"name": k, "resolvedValue": v} for k, v in execution.variables.items()]
    return detail


def execution_summary(execution: Execution) -> dict:
    """One of ListPipelineExecutions' pipelineExecutionSummaries."""
    summary = {"pipelineExecutionId": execution.execution_id, "status": execution.status,
               "startTime": execution.start_time, "lastUpdateTime": execution.last_update_time,
               "sourceRevisions": [{k: v for k, v in {
                   "actionName": action["name"], "revisionId": run.revision["revisionId"],
                   "revisionSummary": run.revision.get("revisionSummary"),
                   "revisionUrl": run.revision.get("revisionUrl")}.items() if v is not None}
                   for action, run in _source_runs(execution)],
               "trigger": execution.trigger, "executionMode": execution.execution_mode, "executionType": "STANDARD"}
    if execution.status_summary:
        summary["statusSummary"] = execution.status_summary
    if execution.stop and execution.stop.get("reason"):
        summary["stopTrigger"] = {"reason": execution.stop["reason"]}
    return summary


def action_detail(execution: Execution, stage: str, run: ActionRun) -> dict:
    """One of ListActionExecutions' actionExecutionDetails."""
    result = {"externalExecutionId": run.external_id, "externalExecutionSummary": run.summary,
              "externalExecutionUrl": run.external_url, "errorDetails": run.error}
    detail = {"pipelineExecutionId": execution.execution_id, "actionExecutionId": run.action_execution_id,
              "pipelineVersion": execution.version, "stageName": stage, "actionName": run.action,
              "startTime": run.start_time, "lastUpdateTime": run.last_update_time, "status": run.status,
              "input": run.input,
              "output": {"outputArtifacts": run.output_artifacts,
                         "executionResult": {k: v for k, v in result.items() if v is not None},
                         "outputVariables": run.output_variables}}
    if run.updated_by:
        detail["updatedBy"] = run.updated_by
    return detail


def _latest_execution(run: ActionRun) -> dict:
    latest = {"actionExecutionId": run.action_execution_id, "status": run.status, "summary": run.summary,
              "lastStatusChange": run.last_update_time, "externalExecutionId": run.external_id,
              "externalExecutionUrl": run.external_url, "errorDetails": run.error, "lastUpdatedBy": run.updated_by}
    if run.status == "InProgress" and run.token and run.decision is None:
        latest["token"] = run.token
    return {k: v for k, v in latest.items() if v is not None}


def _entity_url(action: dict, region: str) -> str | None:
    type_id, configuration = action["actionTypeId"], action.get("configuration") or {}
    console = f"https://{region}.console.aws.amazon.com"
    if type_id["provider"] == "CodeCommit":
        repository = configuration.get("RepositoryName")
        return f"{console}/codesuite/codecommit/repositories/{repository}/browse?region={region}"
    if type_id["provider"] == "CodeBuild":
        return f"{console}/codebuild/home?region={region}#/projects/{configuration.get('ProjectName')}/view"
    if type_id["provider"] == "Manual":
        return configuration.get("ExternalEntityLink")
    return None


def pipeline_state(pipeline: Pipeline, executions: list[Execution], waiting: dict[str, list[str]],
                   region: str) -> dict:
    """GetPipelineState: each stage of the current declaration with the latest execution that entered it,
    the one waiting at its entrance, and the latest run of each of its actions in any execution."""
    stage_states = []
    for stage in pipeline.declaration["stages"]:
        name = stage["name"]
        entered = [(e.stages[name].entered, e) for e in executions if name in e.stages]
        state = {"stageName": name, "inboundTransitionState": {"enabled": True}, "actionStates": []}
        if entered:
            _, latest = max(entered, key=lambda pair: pair[0])
            state["latestExecution"] = {"pipelineExecutionId": latest.execution_id,
                                        "status": latest.stages[name].status}
        inbound = waiting.get(name) or []
        if inbound:
            state["inboundExecution"] = {"pipelineExecutionId": inbound[-1], "status": "InProgress"}
            state["inboundExecutions"] = [{"pipelineExecutionId": e, "status": "InProgress"} for e in inbound]
        for action in stage["actions"]:
            runs = [r for e in executions if name in e.stages for r in e.stages[name].actions.get(action["name"], [])]
            action_state = {"actionName": action["name"]}
            url = _entity_url(action, region)
            if url:
                action_state["entityUrl"] = url
            if runs:
                action_state["latestExecution"] = _latest_execution(max(runs, key=lambda r: r.start_time))
            revised = [r for r in runs if r.revision and r.status == "Succeeded"]
            if revised:
                revision = max(revised, key=lambda r: r.start_time).revision
                current = {"revisionId": revision["revisionId"],
                           "revisionChangeId": revision.get("revisionChangeId", revision["revisionId"]),
                           "created": revision.get("created")}
                action_state["currentRevision"] = {k: v for k, v in current.items() if v is not None}
                if revision.get("revisionUrl"):
                    action_state["revisionUrl"] = revision["revisionUrl"]
            state["actionStates"].append(action_state)
        stage_states.append(state)
    return {"pipelineName": pipeline.name, "pipelineVersion": pipeline.version, "stageStates": stage_states,
            "created": pipeline.created, "updated": pipeline.updated}
