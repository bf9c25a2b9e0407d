"""The life cycle of an endpoint, as DescribeEndpoint reports it.

    CreateEndpoint  -> Creating -> InService              (every container answers /ping)
                                └-> Failed + FailureReason (a container exited or never answered)
    UpdateEndpoint  InService -> Updating -> InService     (the old config serves until the new one is up)
                                          └-> RollingBack -> InService + FailureReason
    DeleteEndpoint  any -> Deleting -> (gone; every model-server process stopped)
    labcloud restarted: an endpoint that served (or was about to) is Creating again, then InService.
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

SERVING = ("InService", "Updating", "RollingBack")  # a deployment answers requests
RESUMED = ("Creating", *SERVING)  # what a restart brings back up

ENDPOINT = Lifecycle("endpoint", {
    "Creating": {"InService", "Failed", "Deleting"},
    "InService": {"Updating", "Deleting", "Creating"},
    "Updating": {"InService", "RollingBack", "Deleting", "Creating"},
    "RollingBack": {"InService", "Deleting", "Creating"},
    "Failed": {"Deleting"},
    "Deleting": set(),
})
