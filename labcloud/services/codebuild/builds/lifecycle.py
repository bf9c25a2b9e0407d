"""The life cycle of a build, and the order of its phases, as CodeBuild's "Build phase transitions" draw it.

    buildStatus   IN_PROGRESS ─► SUCCEEDED | FAILED | FAULT | STOPPED | TIMED_OUT

    phases        SUBMITTED ─► QUEUED ─► PROVISIONING ─► DOWNLOAD_SOURCE ─► INSTALL ─► PRE_BUILD ─► BUILD
                  ─► POST_BUILD ─► UPLOAD_ARTIFACTS ─► FINALIZING ─► COMPLETED
    a phase fails (on-failure: ABORT, the default):
                  PROVISIONING, DOWNLOAD_SOURCE, INSTALL, PRE_BUILD ─► FINALIZING
                  BUILD ─► POST_BUILD (it runs, CODEBUILD_BUILD_SUCCEEDING=0), POST_BUILD ─► UPLOAD_ARTIFACTS
                  (UPLOAD_ARTIFACTS is attempted even when BUILD failed)
    on-failure: CONTINUE goes on to the next phase; the build still ends FAILED.
    StopBuild, the timeout, or labcloud stopping end the current phase (STOPPED, TIMED_OUT, FAULT), then
    FINALIZING and COMPLETED.

A build in progress when labcloud stopped is not run again (CodeBuild never re-runs a build): it ends
FAULT, its phase context saying why, and a new StartBuild runs it afresh.
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

BUILD = Lifecycle("build", {
    "IN_PROGRESS": {"SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT"},
    "SUCCEEDED": set(),
    "FAILED": set(),
    "FAULT": set(),
    "STOPPED": set(),
    "TIMED_OUT": set(),
})

ORDER = ("SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
         "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED")
COMMAND_PHASES = {"INSTALL": "install", "PRE_BUILD": "pre_build", "BUILD": "build", "POST_BUILD": "post_build"}
AFTER_FAILURE = {"PROVISIONING": "FINALIZING", "DOWNLOAD_SOURCE": "FINALIZING", "INSTALL": "FINALIZING",
                 "PRE_BUILD": "FINALIZING", "BUILD": "POST_BUILD", "POST_BUILD": "UPLOAD_ARTIFACTS",
                 "UPLOAD_ARTIFACTS": "FINALIZING"}


def following(phase: str) -> str:
    return ORDER[ORDER.index(phase) + 1]


# Each phase may go on to the next, and every phase before FINALIZING may end the build early.
PHASE = Lifecycle("build phase", {
    phase: ({following(phase)} | ({"FINALIZING"} if ORDER.index(phase) < ORDER.index("FINALIZING") else set())
            if phase != "COMPLETED" else set())
    for phase in ORDER
})

# The context of the phase a build was in when labcloud stopped (cleanly, or not: then at the next start).
SERVER_STOPPED = {"statusCode": "SERVER_STOPPED",
                    "message": "labcloud stopped while this build ran, so the build ended here. CodeBuild never "
                               "runs a build twice: start a new one with StartBuild."}
