"""The life cycle of a training job: which secondary status may follow which, and what each means.

SageMaker reports two statuses. TrainingJobStatus is coarse (InProgress, Completed, Failed, Stopping,
Stopped); SecondaryStatus says what happens now, and every change of it is appended to
SecondaryStatusTransitions with a StatusMessage. The worker moves a job only along TRANSITIONS.

    Starting ─► Downloading ─► Training ─► Uploading ─► Completed
       │            │             ├──────► Interrupted ─► Starting ...        (managed spot)
       │            │             └──────► Failed
       └────────────┴─────────────┴──────► Stopping ─► Stopped | MaxRuntimeExceeded | MaxWaitTimeExceeded
    Restarting ─► Starting                                                     (labcloud restarted)
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

ACTIVE = {"Starting", "Downloading", "Training", "Uploading", "Interrupted", "Restarting"}

TRANSITIONS: dict[str, set[str]] = {
    "Starting": {"Downloading", "Stopping", "Failed", "Restarting"},
    "Downloading": {"Training", "Stopping", "Failed", "Interrupted", "Restarting"},
    "Training": {"Uploading", "Stopping", "Failed", "Interrupted", "Restarting"},
    "Interrupted": {"Starting", "Stopping", "Failed", "Restarting"},
    "Restarting": {"Starting", "Stopping", "Failed"},
    "Uploading": {"Completed", "Failed", "Restarting", "Stopping"},
    "Stopping": {"Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Failed"},
    "Completed": set(),
    "Failed": set(),
    "Stopped": set(),
    "MaxRuntimeExceeded": set(),
    "MaxWaitTimeExceeded": set(),
}

PRIMARY = {**{s: "InProgress" for s in ACTIVE}, "Stopping": "Stopping", "Completed": "Completed",
           "Failed": "Failed", "Stopped": "Stopped", "MaxRuntimeExceeded": "Stopped",
           "MaxWaitTimeExceeded": "Stopped"}

# StatusMessage of each transition, in SageMaker's words where it has them.
MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Interrupted": "Training job interrupted: the spot capacity was reclaimed. Waiting for spot capacity "
                   "to resume from the last checkpoint.",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job stopped: it reached MaxRuntimeInSeconds",
    "MaxWaitTimeExceeded": "Training job stopped: it reached MaxWaitTimeInSeconds",
}

# Secondary statuses that end a stop (TrainingJobStatus Stopped), in the words of StopTrainingJob's reasons.
STOP_TERMINALS = {"Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"}

TRAINING_JOB = Lifecycle("training job", TRANSITIONS)
