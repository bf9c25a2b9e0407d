"""What the executor hands an action provider, and what a provider answers.

    ActionProvider   one action type (Source/AWS/CodeCommit, ...): what CreatePipeline checks of its
                     declarations (configuration keys, how many input and output artifacts), and run()
    ActionJob        one run of one action in one execution: its declaration, where its input
                     artifacts are and where its outputs go, clients on labcloud, the stop signals, and
                     report() to show progress (an external id, an approval token) while it runs
    ActionResult     how the run ended: Succeeded, Failed (with errorDetails) or Abandoned; a source
                     action's revision; the action's output variables
    ActionFailed     raised by a provider's helpers to fail the action with CodePipeline-style text

A provider's run() returns None when labcloud is shutting down and the action was left as it was (the
next start decides what becomes of it). It never raises for a fault of the learner's (a missing
repository, a failing build): that is a Failed result with a message that says what to fix.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

SUCCEEDED, FAILED, ABANDONED = "Succeeded", "Failed", "Abandoned"
JOB_FAILED = "JobFailed"  # the errorDetails code CodePipeline gives a failed job


class ActionFailed(Exception):
    def __init__(self, message: str, code: str = JOB_FAILED):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class ActionResult:
    status: str
    summary: str | None = None
    error: dict | None = None  # {"code", "message"} for a Failed action
    revision: dict | None = None  # a source action's {"revisionId", "revisionSummary", "created", ...}
    external_id: str | None = None
    external_url: str | None = None
    output_variables: dict = field(default_factory=dict)

    @classmethod
    def failed(cls, message: str, code: str = JOB_FAILED, **fields) -> "ActionResult":
        return cls(FAILED, error={"code": code, "message": message[-5000:]}, **fields)


@dataclass
class ActionJob:
    pipeline: str
    pipeline_version: int
    execution_id: str
    stage: str
    action: dict  # the ActionDeclaration, with its defaults filled in
    inputs: dict[str, dict]  # input artifact name -> {"bucket", "key"} of its zip
    outputs: dict[str, dict]  # output artifact name -> {"bucket", "key"} the action writes its zip to
    clients: Callable[[str], object]  # ctx.client: boto3 clients on this labcloud
    stop: threading.Event  # the execution is being stopped and abandoned: end now
    shutting_down: threading.Event  # labcloud stops: leave the action as it is
    report: Callable[..., None] = lambda **fields: None  # externalExecutionId=..., token=..., summary=...
    previous: dict | None = None  # this action run's record so far (a resume after a restart)
    source_revision: str | None = None  # StartPipelineExecution's sourceRevisions override for this action
    region: str = "us-east-1"
    account_id: str = "123456789012"
    # Manual approvals: block up to `timeout` seconds for PutApprovalResult's answer ({"status", "summary"}).
    wait_for_decision: Callable[[float], dict | None] = lambda timeout: None
    stacks: object = None  # the service's stack records (actions/stack_records.py), for CloudFormation

    @property
    def configuration(self) -> dict:
        return self.action.get("configuration") or {}

    @property
    def ending(self) -> bool:
        return self.stop.is_set() or self.shutting_down.is_set()


@dataclass(frozen=True)
class ActionProvider:
    category: str
    owner: str
    provider: str
    run: Callable[[ActionJob], ActionResult | None]
    required: tuple[str, ...] = ()  # configuration keys the declaration must have
    optional: tuple[str, ...] = ()  # the other keys it may have
    inputs: tuple[int, int] = (0, 0)  # (min, max) input artifacts
    outputs: tuple[int, int] = (0, 0)  # (min, max) output artifacts
    check: Callable[[dict], None] | None = None  # check(action declaration): its own rules, raising
    # InvalidActionDeclarationException

    @property
    def type_id(self) -> tuple[str, str, str]:
        return self.category, self.owner, self.provider
