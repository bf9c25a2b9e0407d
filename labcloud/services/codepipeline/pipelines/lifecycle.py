"""The life cycles of a pipeline execution, of a stage in it and of an action run, as GetPipelineExecution
and GetPipelineState report them.

    execution   InProgress -> Succeeded | Failed | Superseded | Stopping -> Stopped
                Stopping -> Failed                         (stop-and-wait: a running action failed)
                Failed -> InProgress                       (RetryStageExecution)
    stage       InProgress -> Succeeded | Failed | Stopping -> Stopped
                InProgress -> Stopped                      (abandoned at once)
                Failed | Stopped -> InProgress             (RetryStageExecution)
    action      InProgress -> Succeeded | Failed | Abandoned
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

EXECUTION = Lifecycle("pipeline execution", {
    "InProgress": {"Succeeded", "Failed", "Superseded", "Stopping"},
    "Stopping": {"Stopped", "Failed"},
    "Failed": {"InProgress"},
    "Succeeded": set(),
    "Superseded": set(),
    "Stopped": set(),
})

STAGE = Lifecycle("pipeline stage", {
    "InProgress": {"Succeeded", "Failed", "Stopping", "Stopped"},
    "Stopping": {"Stopped", "Failed", "Succeeded"},
    "Failed": {"InProgress"},
    "Stopped": {"InProgress"},
    "Succeeded": set(),
})

ACTION = Lifecycle("pipeline action", {
    "InProgress": {"Succeeded", "Failed", "Abandoned"},
    "Succeeded": set(),
    "Failed": set(),
    "Abandoned": set(),
})

ACTIVE = ("InProgress", "Stopping")

# The states CodePipeline's EventBridge events name for each status.
EVENT_STATES = {"InProgress": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED", "Stopping": "STOPPING",
                "Stopped": "STOPPED", "Superseded": "SUPERSEDED", "Abandoned": "ABANDONED"}
