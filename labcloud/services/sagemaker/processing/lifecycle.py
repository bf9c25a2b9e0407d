"""The life cycle of a processing job, as DescribeProcessingJob reports it (it has no secondary status).

    InProgress ─► Completed
        ├───────► Failed (+ FailureReason)
        └───────► Stopping ─► Stopped      StopProcessingJob, or MaxRuntimeInSeconds reached
    labcloud restarted: an InProgress job runs again from the beginning (its outputs are uploaded only
    when it ends, so nothing half-done is left in S3); a Stopping one is Stopped.

MaxRuntimeInSeconds ends a job Stopped, not Failed: AWS's ProcessingStoppingCondition says "After the
condition is met, the processing job is stopped", and the SDK's waiter reads Stopped as "the job timed out
or stopped early". labcloud adds a FailureReason that names the limit, so the learner sees why.
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

ACTIVE = ("InProgress", "Stopping")
TERMINAL = ("Completed", "Failed", "Stopped")

PROCESSING_JOB = Lifecycle("processing job", {
    "InProgress": {"Completed", "Failed", "Stopping"},
    "Stopping": {"Stopped", "Failed"},
    "Completed": set(),
    "Failed": set(),
    "Stopped": set(),
})
