"""The life cycles of a pipeline execution and of its steps, as DescribePipelineExecution and
ListPipelineExecutionSteps report them.

    execution   Executing -> Succeeded | Failed | Stopping -> Stopped
                Failed -> Executing                               (RetryPipelineExecution)
    step        Starting -> Executing -> Succeeded | Failed | Stopping -> Stopped
                Starting -> Succeeded                             (a cache hit, a condition, a model)
                Failed -> Starting                                (a retry policy's next attempt, or a retry)
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

EXECUTION = Lifecycle("pipeline execution", {
    "Executing": {"Succeeded", "Failed", "Stopping"},
    "Stopping": {"Stopped", "Failed", "Succeeded"},
    "Failed": {"Executing"},
    "Succeeded": set(),
    "Stopped": set(),
})

STEP = Lifecycle("pipeline step", {
    "Starting": {"Executing", "Succeeded", "Failed", "Stopping", "Stopped"},
    "Executing": {"Succeeded", "Failed", "Stopping", "Stopped"},
    "Stopping": {"Stopped", "Failed", "Succeeded"},
    "Failed": {"Starting"},
    "Succeeded": set(),
    "Stopped": set(),
})

STEP_DONE = {"Succeeded", "Failed", "Stopped"}
EXECUTION_DONE = {"Succeeded", "Failed", "Stopped"}
