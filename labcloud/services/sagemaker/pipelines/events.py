"""The EventBridge events of SageMaker Pipelines ("Automating SageMaker with EventBridge"): one at every
change of an execution's status and of each step's, with the pipeline and execution ARNs as resources."""

from __future__ import annotations

EXECUTION_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
STEP_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
_DONE = ("Succeeded", "Failed", "Stopped")


class PipelineEvents:
    def __init__(self, ctx):
        self.ctx = ctx

    def execution(self, description: dict, previous: str | None) -> None:
        status = description["PipelineExecutionStatus"]
        detail = {"pipelineArn": description["PipelineArn"],
                  "pipelineExecutionArn": description["PipelineExecutionArn"],
                  "pipelineExecutionDisplayName": description.get("PipelineExecutionDisplayName"),
                  "currentPipelineExecutionStatus": status,
                  "executionStartTime": description["CreationTime"]}
        if previous:
            detail["previousPipelineExecutionStatus"] = previous
        if status in _DONE:
            detail["executionEndTime"] = description["LastModifiedTime"]
        if description.get("PipelineExecutionDescription"):
            detail["pipelineExecutionDescription"] = description["PipelineExecutionDescription"]
        self.ctx.events.publish("aws.sagemaker", EXECUTION_CHANGE, detail,
                                [description["PipelineArn"], description["PipelineExecutionArn"]])

    def step(self, step: dict, previous: str, execution: dict) -> None:
        detail = {"pipelineArn": execution["PipelineArn"], "pipelineExecutionArn": execution["PipelineExecutionArn"],
                  "stepName": step["StepName"], "currentStepStatus": step["StepStatus"],
                  "previousStepStatus": previous, "stepStartTime": step["StartTime"],
                  "metadata": step.get("Metadata", {})}
        for key, name in (("EndTime", "stepEndTime"), ("FailureReason", "failureReason"),
                          ("CacheHitResult", "cacheHitResult")):
            if step.get(key):
                detail[name] = step[key]
        self.ctx.events.publish("aws.sagemaker", STEP_CHANGE, detail,
                                [execution["PipelineArn"], execution["PipelineExecutionArn"]])
