"""The CodePipeline API that labcloud serves: every operation, and the family method that answers it.

Only what is listed here is reachable from the wire. Each method takes the request's parameters as a dict
and returns the response as a dict (datetimes allowed; the protocol layer serializes them).
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {
    # pipelines/pipelines.py
    "CreatePipeline": "pipelines.create_pipeline",
    "GetPipeline": "pipelines.get_pipeline",
    "UpdatePipeline": "pipelines.update_pipeline",
    "DeletePipeline": "pipelines.delete_pipeline",
    "ListPipelines": "pipelines.list_pipelines",
    # pipelines/executions.py
    "StartPipelineExecution": "executions.start_pipeline_execution",
    "StopPipelineExecution": "executions.stop_pipeline_execution",
    "GetPipelineExecution": "executions.get_pipeline_execution",
    "ListPipelineExecutions": "executions.list_pipeline_executions",
    "GetPipelineState": "executions.get_pipeline_state",
    "ListActionExecutions": "executions.list_action_executions",
    "PutApprovalResult": "executions.put_approval_result",
    "RetryStageExecution": "executions.retry_stage_execution",
}
