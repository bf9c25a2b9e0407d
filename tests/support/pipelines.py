"""Following a pipeline execution from a test, as a learner's notebook would."""

from __future__ import annotations

import time


def wait_for(sm, arn: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.2)


def steps_of(sm, arn: str) -> dict:
    return {s["StepName"]: s for s in sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]}
