"""Reading a CodePipeline pipeline through the AWS API (boto3), as the service tests and the Projects flow do."""

from __future__ import annotations

import boto3


def executions(name: str, client=None) -> list[dict]:
    """The pipeline's executions, oldest first."""
    client = client or boto3.client("codepipeline")
    found = client.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    return sorted(found, key=lambda e: e["startTime"])


def action_state(name: str, stage: str, action: str, client=None) -> dict:
    """One action's state in GetPipelineState."""
    state = (client or boto3.client("codepipeline")).get_pipeline_state(name=name)
    [stage_state] = [s for s in state["stageStates"] if s["stageName"] == stage]
    [found] = [a for a in stage_state["actionStates"] if a["actionName"] == action]
    return found
