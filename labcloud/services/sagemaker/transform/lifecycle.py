"""The life cycle of a batch transform job, as DescribeTransformJob reports it.

    InProgress -> Completed | Failed (+ FailureReason) | Stopping -> Stopped
    labcloud restarted: an InProgress job runs again (its outputs are whole objects, so that is safe);
    a Stopping one is Stopped.
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

ACTIVE = ("InProgress", "Stopping")

TRANSFORM_JOB = Lifecycle("transform job", {
    "InProgress": {"Completed", "Failed", "Stopping"},
    "Stopping": {"Stopped", "Failed"},
    "Completed": set(),
    "Failed": set(),
    "Stopped": set(),
})
