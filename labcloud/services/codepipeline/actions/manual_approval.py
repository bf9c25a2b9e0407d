"""Approval/AWS/Manual: the action waits, InProgress with a token, until PutApprovalResult answers.

The token is in GetPipelineState's latestExecution of the action; PutApprovalResult with it decides:
Approved -> Succeeded (the reviewer's summary as the action's), Rejected -> Failed ("Rejected" and the
summary). With a NotificationArn the request is published to that SNS topic, as CodePipeline does. The
wait has no deadline here (AWS's is 7 days); it survives a restart of labcloud with the same token, and
a stopped execution abandons it.
"""

from __future__ import annotations

import json
import logging
import uuid

from labcloud.services.codepipeline.actions.base import ABANDONED, SUCCEEDED, ActionJob, ActionProvider, ActionResult

log = logging.getLogger("labcloud.codepipeline")
WAIT_SLICE_SECONDS = 0.2


def _notify(job: ActionJob, token: str) -> None:
    configuration = job.configuration
    topic = configuration.get("NotificationArn")
    if not topic:
        return
    approval = {"pipelineName": job.pipeline, "stageName": job.stage, "actionName": job.action["name"],
                "token": token, "customData": configuration.get("CustomData"),
                "externalEntityLink": configuration.get("ExternalEntityLink")}
    message = {"region": job.region, "approval": {k: v for k, v in approval.items() if v is not None}}
    try:
        job.clients("sns").publish(TopicArn=topic, Message=json.dumps(message),
                                   Subject=f"APPROVAL NEEDED: AWS CodePipeline {job.pipeline} for action "
                                           f"{job.action['name']}"[:100])
    except Exception as err:  # noqa: BLE001 - a missing topic does not stop the approval
        log.warning("could not publish the approval request of %s to %s: %s", job.pipeline, topic, err)


def run(job: ActionJob) -> ActionResult | None:
    token = (job.previous or {}).get("token")
    if not token:
        token = str(uuid.uuid4())
        job.report(token=token)
        _notify(job, token)
    while True:
        decision = job.wait_for_decision(WAIT_SLICE_SECONDS)
        if decision is not None:
            summary = decision.get("summary") or None
            if decision["status"] == "Approved":
                return ActionResult(SUCCEEDED, summary=summary or "Approved")
            return ActionResult.failed(f"Rejected: {summary}" if summary else "Rejected", code="JobFailed",
                                       summary=summary)
        if job.stop.is_set():
            return ActionResult(ABANDONED)
        if job.shutting_down.is_set():
            return None


PROVIDER = ActionProvider("Approval", "AWS", "Manual", run,
                          optional=("CustomData", "ExternalEntityLink", "NotificationArn"), inputs=(0, 0),
                          outputs=(0, 0))
