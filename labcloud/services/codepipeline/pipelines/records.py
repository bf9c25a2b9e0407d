"""The records of CodePipeline: pipelines (every version of the declaration), their executions, and in
each execution the stages it entered and every run of each action there."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import asdict, dataclass, field, fields


@dataclass
class Pipeline:
    declaration: dict  # the current PipelineDeclaration, its version included
    arn: str
    created: dt.datetime
    updated: dt.datetime
    tags: list[dict] = field(default_factory=list)
    versions: dict[str, dict] = field(default_factory=dict)  # str(version) -> that version's declaration

    @property
    def name(self) -> str:
        return self.declaration["name"]

    @property
    def version(self) -> int:
        return self.declaration["version"]

    def to_store(self) -> dict:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_store(cls, saved: dict) -> "Pipeline":
        return cls(**saved)


@dataclass
class ActionRun:
    """One execution of one action: GetPipelineState's latestExecution and ListActionExecutions' detail."""
    action_execution_id: str
    action: str
    status: str  # InProgress | Succeeded | Failed | Abandoned
    start_time: dt.datetime
    last_update_time: dt.datetime
    input: dict  # ActionExecutionInput: actionTypeId, configuration, resolvedConfiguration, inputArtifacts, ...
    attempt: int = 1  # the stage attempt it ran in (RetryStageExecution counts attempts)
    output_artifacts: list[dict] = field(default_factory=list)  # [{"name", "s3location": {"bucket", "key"}}]
    summary: str | None = None
    token: str | None = None  # a manual approval's, while it waits
    external_id: str | None = None
    external_url: str | None = None
    error: dict | None = None  # errorDetails {"code", "message"}
    revision: dict | None = None  # a source action's revision
    output_variables: dict = field(default_factory=dict)
    decision: dict | None = None  # PutApprovalResult's {"status", "summary", "approvedAt"}
    updated_by: str | None = None

    @classmethod
    def from_store(cls, saved: dict) -> "ActionRun":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class StageRun:
    status: str  # InProgress | Succeeded | Failed | Stopping | Stopped
    entered: dt.datetime
    attempt: int = 1
    fresh_from: int = 1  # runs of attempts before this one do not count as done (retry of ALL_ACTIONS)
    actions: dict[str, list[ActionRun]] = field(default_factory=dict)  # action name -> its runs, oldest first

    def latest(self, action: str) -> ActionRun | None:
        runs = self.actions.get(action)
        return runs[-1] if runs else None

    def done(self, action: str) -> bool:
        run = self.latest(action)
        return run is not None and run.status == "Succeeded" and run.attempt >= self.fresh_from

    @classmethod
    def from_store(cls, saved: dict) -> "StageRun":
        actions = {n: [ActionRun.from_store(r) for r in runs] for n, runs in saved.get("actions", {}).items()}
        return cls(saved["status"], saved["entered"], saved.get("attempt", 1), saved.get("fresh_from", 1), actions)


@dataclass
class Execution:
    pipeline: str
    execution_id: str
    version: int  # the pipeline version it runs
    declaration: dict  # that version's declaration
    status: str  # InProgress | Stopping | Stopped | Succeeded | Superseded | Failed
    trigger: dict  # {"triggerType", "triggerDetail"}
    start_time: dt.datetime
    last_update_time: dt.datetime
    execution_mode: str = "SUPERSEDED"
    status_summary: str | None = None
    stages: dict[str, StageRun] = field(default_factory=dict)  # the stages it entered
    current_stage: str | None = None  # the stage it runs, or waits to enter
    waiting: bool = True  # waiting to enter current_stage
    artifacts: dict[str, dict] = field(default_factory=dict)  # artifact name -> {"bucket", "key"}
    variables: dict[str, str] = field(default_factory=dict)  # the pipeline variables' values (V2)
    source_revisions: dict[str, str] = field(default_factory=dict)  # source action -> commit to use
    stop: dict | None = None  # {"abandon": bool, "reason": str}
    client_request_token: str | None = None

    def to_store(self) -> dict:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_store(cls, saved: dict) -> "Execution":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in saved.items() if k in known}
        values["stages"] = {n: StageRun.from_store(s) for n, s in saved.get("stages", {}).items()}
        return cls(**values)

    def stage_declaration(self, name: str) -> dict:
        return next(s for s in self.declaration["stages"] if s["name"] == name)
