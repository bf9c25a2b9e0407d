"""Pipeline executions: StartPipelineExecution, StopPipelineExecution, GetPipelineExecution,
ListPipelineExecutions, GetPipelineState, ListActionExecutions, PutApprovalResult, RetryStageExecution.

Each execution runs in an ExecutionWorker of its own (executor.py); every change of its record goes
through this family, under its lock, is saved at once and queues its EventBridge event. The stage gate
(gate.py) decides which execution may enter which stage.

When labcloud starts again, an execution that was in progress goes on where it was, except that an
action that was running (a source fetch, a build, a deploy) cannot be followed again: labcloud marks it
Failed with a message saying that labcloud restarted, which fails its stage and the execution (start the
pipeline again, or RetryStageExecution). A manual approval that was waiting keeps waiting, with the same
token. An execution that was Stopping ends Stopped.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from typing import Callable

from labcloud.core.clock import utc_now
from labcloud.platform.background import Workers
from labcloud.services.codepipeline.actions.base import ABANDONED, FAILED, SUCCEEDED, ActionResult
from labcloud.services.codepipeline.exceptions import (ActionNotFoundException, ApprovalAlreadyCompletedException,
                                                       DuplicatedStopRequestException, InvalidApprovalTokenException,
                                                       NotLatestPipelineExecutionException,
                                                       PipelineExecutionNotFoundException,
                                                       PipelineExecutionNotStoppableException,
                                                       StageNotFoundException, StageNotRetryableException,
                                                       ValidationException)
from labcloud.services.codepipeline.pipelines import views
from labcloud.services.codepipeline.pipelines.events import PipelineEvents
from labcloud.services.codepipeline.pipelines.executor import ExecutionWorker
from labcloud.services.codepipeline.pipelines.gate import StageGate
from labcloud.services.codepipeline.pipelines.lifecycle import ACTION, ACTIVE, EVENT_STATES, EXECUTION, STAGE
from labcloud.services.codepipeline.pipelines.paging import page
from labcloud.services.codepipeline.pipelines.records import ActionRun, Execution, StageRun

log = logging.getLogger("labcloud.codepipeline")

KIND = "executions"
RESTARTED = ("labcloud restarted while this action ran, so its outcome is unknown and labcloud marked it failed. "
             "Start the pipeline again (StartPipelineExecution) or retry the stage (RetryStageExecution).")
SHUTDOWN_WAIT_SECONDS = 10.0


class Executions:
    def __init__(self, ctx, store, pipelines, runners: dict[tuple[str, str, str], Callable], stacks=None):
        self.ctx, self.store, self.pipelines, self.runners, self.stacks = ctx, store, pipelines, runners, stacks
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.executions: dict[str, Execution] = {}
        self.gate = StageGate()
        self.workers = Workers()
        self.events = PipelineEvents(ctx)
        pipelines.on_created = self._first_execution
        pipelines.on_deleted = self._forget_pipeline

    @property
    def caller(self) -> str:
        """Who labcloud says made a change (it does not authenticate callers)."""
        return f"arn:aws:iam::{self.ctx.account_id}:root"

    # -- life of the family ----------------------------------------------------------------------------
    def start(self) -> None:
        saved = self.store.load_all(KIND) if self.store is not None else {}
        with self.lock:
            self.executions = {}
            for record in saved.values():
                execution = Execution.from_store(record)
                self.executions[execution.execution_id] = execution
            resumed = self._recover()
        for execution_id in resumed:
            self._launch(execution_id)

    def _recover(self) -> list[str]:
        """What labcloud's restart makes of the executions that were running; the ids of those that go on."""
        resumed = []
        for execution in sorted(self.executions.values(), key=lambda e: e.start_time):
            if execution.status == "Stopping":
                self._end_stopped(execution)
            elif execution.status == "InProgress" and not self._fail_interrupted(execution):
                resumed.append(execution)
        for execution in resumed:  # the gate as it was, oldest first (a newer waiter supersedes an older)
            if execution.status != "InProgress":
                continue
            if execution.waiting and execution.current_stage:
                self._arrive(execution, execution.current_stage)
            elif execution.current_stage:
                self.gate.hold(execution.pipeline, execution.current_stage, execution.execution_id)
        return [e.execution_id for e in resumed if e.status == "InProgress"]

    def shutdown(self) -> None:
        with self.changed:
            self.changed.notify_all()
        self.workers.shutdown(SHUTDOWN_WAIT_SECONDS)
        self.events.flush()

    def status(self) -> dict:
        with self.lock:
            return {"codepipeline_executions_in_progress": sorted(
                f"{e.pipeline}/{e.execution_id}" for e in self.executions.values() if e.status in ACTIVE)}

    def _launch(self, execution_id: str) -> None:
        self.workers.launch(ExecutionWorker(self, execution_id, self.runners))

    def _fail_interrupted(self, execution: Execution) -> bool:
        """An action other than an approval was running when labcloud stopped: it, its stage and the
        execution fail. True when that happened."""
        stage = execution.stages.get(execution.current_stage or "")
        if execution.waiting or stage is None:
            return False
        interrupted = []
        for action in execution.stage_declaration(execution.current_stage)["actions"]:
            run = stage.latest(action["name"])
            if run is not None and run.status == "InProgress" and action["actionTypeId"]["category"] != "Approval":
                interrupted.append(run)
        if not interrupted:
            return False
        for run in interrupted:
            self._finish_run(execution, execution.current_stage, run, ActionResult.failed(RESTARTED))
        self._stage(execution, execution.current_stage, "Failed")
        self._end(execution, "Failed", self._failure_summary(execution.current_stage, interrupted[0]))
        return True

    # -- records ---------------------------------------------------------------------------------------
    def _save(self, execution: Execution) -> None:
        execution.last_update_time = utc_now()
        if self.store is not None:
            self.store.save(KIND, execution.execution_id, execution.to_store())
        self.changed.notify_all()

    def _get(self, pipeline: str, execution_id: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None or execution.pipeline != pipeline:
            raise PipelineExecutionNotFoundException(
                f"Pipeline execution '{execution_id}' not found in pipeline '{pipeline}'")
        return execution

    def _arn(self, execution: Execution) -> str:
        return self.pipelines.arn(execution.pipeline)

    def snapshot(self, execution_id: str) -> Execution | None:
        with self.lock:
            execution = self.executions.get(execution_id)
            return copy.deepcopy(execution) if execution is not None else None

    def wait_changed(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout)

    # -- starting --------------------------------------------------------------------------------------
    def begin(self, name: str, trigger: dict, client_token: str | None = None,
              source_revisions: dict[str, str] | None = None, variables: dict[str, str] | None = None) -> str:
        """A new execution of the pipeline's current version; returns its id."""
        pipeline = self.pipelines.get(name)
        declaration = pipeline.declaration
        if variables is None:
            variables = self._variables(declaration, [])
        now = utc_now()
        with self.lock:
            if client_token:
                for execution in self.executions.values():
                    if execution.pipeline == name and execution.client_request_token == client_token:
                        return execution.execution_id
            execution = Execution(pipeline=name, execution_id=str(uuid.uuid4()), version=pipeline.version,
                                  declaration=declaration, status="InProgress", trigger=trigger, start_time=now,
                                  last_update_time=now, execution_mode=declaration["executionMode"],
                                  current_stage=None, waiting=True, variables=variables or {},
                                  source_revisions=source_revisions or {}, client_request_token=client_token)
            self.executions[execution.execution_id] = execution
            self._save(execution)
            self.events.execution(execution, pipeline.arn, "STARTED")
        self._launch(execution.execution_id)
        return execution.execution_id

    def _first_execution(self, name: str) -> None:
        self.begin(name, {"triggerType": "CreatePipeline", "triggerDetail": self.caller})

    def _forget_pipeline(self, name: str) -> None:
        """DeletePipeline: its executions end at once and are forgotten."""
        with self.lock:
            ids = [i for i, e in self.executions.items() if e.pipeline == name]
            for execution_id in ids:
                self.executions.pop(execution_id)
                if self.store is not None:
                    self.store.delete(KIND, execution_id)
            self.gate.forget(name)
            self.changed.notify_all()
        for execution_id in ids:
            for worker in self.workers.of(execution_id):
                worker.abandon.set()
                worker.stop()

    # -- for the worker: the gate ----------------------------------------------------------------------
    def _arrive(self, execution: Execution, stage: str) -> None:
        execution.current_stage, execution.waiting = stage, True
        for other_id in self.gate.arrive(execution.pipeline, stage, execution.execution_id, execution.execution_mode):
            other = self.executions.get(other_id)
            if other is not None and other.status == "InProgress":
                self._end(other, "Superseded", f"Superseded by pipeline execution {execution.execution_id}, which "
                                               f"reached stage {stage} later.")

    def arrive(self, execution_id: str, stage: str) -> None:
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is None:
                return
            self._arrive(execution, stage)
            self._save(execution)

    def try_enter(self, execution_id: str, stage: str) -> str:
        """'entered', 'waiting', or why it never will: 'superseded', 'stopping', 'ended' (deleted, ended)."""
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is None or execution.status not in ACTIVE:
                return "superseded" if execution is not None and execution.status == "Superseded" else "ended"
            if execution.status == "Stopping":
                return "stopping"
            mode = execution.execution_mode
            if not self.gate.is_waiting(execution.pipeline, stage, execution_id, mode):
                return "superseded"
            if not self.gate.try_enter(execution.pipeline, stage, execution_id, mode):
                return "waiting"
            execution.waiting = False
            run = execution.stages.get(stage)
            retried = run is not None
            if run is None:
                execution.stages[stage] = StageRun("InProgress", utc_now())
            elif run.status != "InProgress":
                STAGE.check(run.status, "InProgress")
                run.status, run.entered = "InProgress", utc_now()
            self._save(execution)
            self.events.stage(execution, self._arn(execution), stage, "RESUMED" if retried else "STARTED")
            return "entered"

    def release(self, execution_id: str, stage: str) -> None:
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is not None:
                self.gate.release(execution.pipeline, stage, execution_id)
                self.changed.notify_all()

    # -- for the worker: stages and actions ------------------------------------------------------------
    def _stage(self, execution: Execution, stage: str, status: str) -> None:
        run = execution.stages[stage]
        if run.status == status:
            return
        STAGE.check(run.status, status)
        run.status = status
        self.events.stage(execution, self._arn(execution), stage, EVENT_STATES[status])

    def stage_status(self, execution_id: str, stage: str, status: str) -> None:
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is None or stage not in execution.stages:
                return
            self._stage(execution, stage, status)
            self._save(execution)

    def action_begin(self, execution_id: str, stage: str, action: dict, action_input: dict) -> ActionRun | None:
        """The run of `action` about to start: a new one, or the one a restart interrupted (an approval that
        keeps waiting). None when the execution is gone or no longer running."""
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is None or execution.status not in ACTIVE or self.ctx.shutting_down.is_set():
                return None
            stage_run = execution.stages[stage]
            latest = stage_run.latest(action["name"])
            if latest is not None and latest.status == "InProgress":
                return copy.deepcopy(latest)
            now = utc_now()
            run = ActionRun(str(uuid.uuid4()), action["name"], "InProgress", now, now, copy.deepcopy(action_input),
                            attempt=stage_run.attempt)
            stage_run.actions.setdefault(action["name"], []).append(run)
            self._save(execution)
            self.events.action(execution, self._arn(execution), stage, run, "STARTED")
            return copy.deepcopy(run)

    def _find_run(self, execution_id: str, stage: str, run_id: str) -> tuple[Execution | None, ActionRun | None]:
        execution = self.executions.get(execution_id)
        if execution is None or stage not in execution.stages:
            return execution, None
        for runs in execution.stages[stage].actions.values():
            for run in runs:
                if run.action_execution_id == run_id:
                    return execution, run
        return execution, None

    def action_report(self, execution_id: str, stage: str, run_id: str, **fields) -> None:
        """Progress of a running action: externalExecutionId, externalExecutionUrl, summary, token."""
        names = {"externalExecutionId": "external_id", "externalExecutionUrl": "external_url",
                 "summary": "summary", "token": "token"}
        with self.lock:
            execution, run = self._find_run(execution_id, stage, run_id)
            if run is None or run.status != "InProgress":
                return
            for key, value in fields.items():
                setattr(run, names[key], value)
            run.last_update_time = utc_now()
            self._save(execution)

    def _finish_run(self, execution: Execution, stage: str, run: ActionRun, result: ActionResult,
                    outputs: dict[str, dict] | None = None) -> None:
        ACTION.check(run.status, result.status)
        run.status, run.last_update_time = result.status, utc_now()
        run.summary = result.summary or run.summary
        run.error = result.error
        run.revision = result.revision
        run.external_id = result.external_id or run.external_id
        run.external_url = result.external_url or run.external_url
        run.output_variables = dict(result.output_variables or {})
        if result.status == SUCCEEDED and outputs:
            run.output_artifacts = [{"name": n, "s3location": dict(loc)} for n, loc in outputs.items()]
            execution.artifacts.update({n: dict(loc) for n, loc in outputs.items()})
        self.events.action(execution, self._arn(execution), stage, run, EVENT_STATES[result.status])

    def action_end(self, execution_id: str, stage: str, run_id: str, result: ActionResult,
                   outputs: dict[str, dict] | None = None) -> str | None:
        """Record how a run ended; returns its status, or None if the run had already ended (abandoned) or
        labcloud is stopping (the next start decides)."""
        with self.lock:
            execution, run = self._find_run(execution_id, stage, run_id)
            if run is None or self.ctx.shutting_down.is_set():
                return None
            if run.status != "InProgress":
                return run.status
            self._finish_run(execution, stage, run, result, outputs)
            self._save(execution)
            return run.status

    def wait_for_decision(self, execution_id: str, stage: str, run_id: str, timeout: float) -> dict | None:
        with self.changed:
            _, run = self._find_run(execution_id, stage, run_id)
            if run is not None and run.decision is None:
                self.changed.wait(timeout)
                _, run = self._find_run(execution_id, stage, run_id)
            return copy.deepcopy(run.decision) if run is not None and run.decision else None

    @staticmethod
    def _failure_summary(stage: str, run: ActionRun) -> str:
        message = (run.error or {}).get("message", "the action failed")
        return f"Action {run.action} in stage {stage} failed: {message}"[:2048]

    def _end(self, execution: Execution, status: str, summary: str | None = None) -> None:
        EXECUTION.check(execution.status, status)
        execution.status = status
        if summary:
            execution.status_summary = summary
        self.gate.leave(execution.pipeline, execution.execution_id)
        self._save(execution)
        self.events.execution(execution, self._arn(execution), EVENT_STATES[status])

    def _end_stopped(self, execution: Execution) -> None:
        """A Stopping execution ends: what still runs is abandoned, its stage Stopped."""
        if execution.status == "InProgress":
            EXECUTION.check("InProgress", "Stopping")
            execution.status = "Stopping"
        stage = execution.stages.get(execution.current_stage or "")
        if stage is not None and not execution.waiting:
            for runs in stage.actions.values():
                if runs and runs[-1].status == "InProgress":
                    self._finish_run(execution, execution.current_stage, runs[-1], ActionResult(ABANDONED))
            if stage.status in ("InProgress", "Stopping"):
                self._stage(execution, execution.current_stage, "Stopped")
        self._end(execution, "Stopped", (execution.stop or {}).get("reason") or None)

    def execution_end(self, execution_id: str, outcome: str, failed: tuple[str, str] | None = None,
                      summary: str | None = None) -> None:
        """The worker is done: outcome Succeeded, Failed (failed = (stage, action run id)) or Stopped."""
        with self.lock:
            execution = self.executions.get(execution_id)
            if execution is None or execution.status not in ACTIVE:
                return
            if outcome == "Stopped" or execution.status == "Stopping" and outcome != FAILED:
                self._end_stopped(execution)
            elif outcome == FAILED:
                if failed:
                    _, run = self._find_run(execution_id, failed[0], failed[1])
                    summary = self._failure_summary(failed[0], run) if run else None
                self._end(execution, "Failed", summary)
            else:
                self._end(execution, "Succeeded")

    def scopes(self, execution: Execution) -> dict[str, dict[str, str]]:
        """The variables an action's configuration may name: namespace -> {name: value}."""
        scopes = {"variables": dict(execution.variables),
                  "codepipeline": {"PipelineExecutionId": execution.execution_id}}
        for stage in execution.stages.values():
            for runs in stage.actions.values():
                run = runs[-1]
                if run.status == SUCCEEDED and run.input.get("namespace"):
                    scopes[run.input["namespace"]] = dict(run.output_variables)
        return scopes

    # -- the API ---------------------------------------------------------------------------------------
    def start_pipeline_execution(self, params: dict) -> dict:
        name = params["name"]
        pipeline = self.pipelines.get(name)
        declaration = pipeline.declaration
        variables = self._variables(declaration, params.get("variables") or [])
        revisions = self._source_revisions(declaration, params.get("sourceRevisions") or [])
        execution_id = self.begin(name, {"triggerType": "StartPipelineExecution", "triggerDetail": self.caller},
                                  client_token=params.get("clientRequestToken"), source_revisions=revisions,
                                  variables=variables)
        return {"pipelineExecutionId": execution_id}

    @staticmethod
    def _variables(declaration: dict, given: list[dict]) -> dict[str, str]:
        declared = {v["name"]: v for v in declaration.get("variables") or []}
        if given and declaration["pipelineType"] != "V2":
            raise ValidationException("Pipeline variables can be given to V2 pipelines only.")
        values = {}
        for entry in given:
            if entry["name"] not in declared:
                raise ValidationException(f"Variable {entry['name']} is not declared in the pipeline; declared: "
                                          f"{', '.join(declared) or 'none'}.")
            values[entry["name"]] = entry["value"]
        for name, spec in declared.items():
            if name not in values:
                if "defaultValue" not in spec:
                    raise ValidationException(f"Variable {name} has no default value: give it a value in "
                                              f"StartPipelineExecution's variables.")
                values[name] = spec["defaultValue"]
        return values

    @staticmethod
    def _source_revisions(declaration: dict, given: list[dict]) -> dict[str, str]:
        sources = {a["name"]: a for a in declaration["stages"][0]["actions"]}
        revisions = {}
        for entry in given:
            action = sources.get(entry["actionName"])
            if action is None:
                raise ValidationException(f"sourceRevisions names {entry['actionName']}, which is not a source "
                                          f"action of the pipeline ({', '.join(sources)}).")
            if entry["revisionType"] != "COMMIT_ID" or action["actionTypeId"]["provider"] != "CodeCommit":
                raise ValidationException(f"labcloud takes a COMMIT_ID revision for CodeCommit source actions; "
                                          f"{entry['revisionType']} for {entry['actionName']} is not available.")
            revisions[entry["actionName"]] = entry["revisionValue"]
        return revisions

    def stop_pipeline_execution(self, params: dict) -> dict:
        name, execution_id = params["pipelineName"], params["pipelineExecutionId"]
        abandon = bool(params.get("abandon"))
        self.pipelines.get(name)
        with self.lock:
            execution = self._get(name, execution_id)
            if execution.status == "Stopping" and not abandon:
                raise DuplicatedStopRequestException(
                    f"Pipeline execution {execution_id} is already Stopping. You can stop and abandon it now "
                    f"(abandon=true), or wait for it to stop.")
            if execution.status not in ACTIVE:
                raise PipelineExecutionNotStoppableException(
                    f"Pipeline execution {execution_id} is {execution.status}: only an InProgress execution can be "
                    f"stopped.")
            execution.stop = {"abandon": abandon, "reason": params.get("reason") or ""}
            if execution.status == "InProgress":
                EXECUTION.check("InProgress", "Stopping")
                execution.status = "Stopping"
                self.events.execution(execution, self._arn(execution), "STOPPING")
            stage = execution.stages.get(execution.current_stage or "")
            if stage is not None and not execution.waiting and stage.status == "InProgress":
                self._stage(execution, execution.current_stage, "Stopping")
            if abandon and stage is not None and not execution.waiting:
                for runs in stage.actions.values():
                    if runs and runs[-1].status == "InProgress":
                        self._finish_run(execution, execution.current_stage, runs[-1], ActionResult(ABANDONED))
            self._save(execution)
            workers = [w for w in self.workers.of(execution_id) if w.alive]
            if not workers:
                self._end_stopped(execution)
        for worker in workers:
            if abandon:
                worker.abandon.set()
            worker.stop()
        return {"pipelineExecutionId": execution_id}

    def get_pipeline_execution(self, params: dict) -> dict:
        self.pipelines.get(params["pipelineName"])
        with self.lock:
            execution = self._get(params["pipelineName"], params["pipelineExecutionId"])
            return {"pipelineExecution": views.execution_detail(copy.deepcopy(execution))}

    def newest_first(self, name: str) -> list[Execution]:
        """The pipeline's executions, newest first (copies)."""
        with self.lock:
            found = [copy.deepcopy(e) for e in self.executions.values() if e.pipeline == name]
        return sorted(found, key=lambda e: e.start_time, reverse=True)

    def list_pipeline_executions(self, params: dict) -> dict:
        name = params["pipelineName"]
        self.pipelines.get(name)
        executions = self.newest_first(name)
        wanted = ((params.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        if wanted:
            executions = [e for e in executions if wanted in e.stages and e.stages[wanted].status == "Succeeded"]
        chunk, token = page(executions, params, f"ListPipelineExecutions:{name}")
        answer = {"pipelineExecutionSummaries": [views.execution_summary(e) for e in chunk]}
        if token:
            answer["nextToken"] = token
        return answer

    def list_action_executions(self, params: dict) -> dict:
        name = params["pipelineName"]
        self.pipelines.get(name)
        executions = self.newest_first(name)
        wanted = (params.get("filter") or {}).get("pipelineExecutionId")
        if wanted:
            executions = [e for e in executions if e.execution_id == wanted]
            if not executions:
                raise PipelineExecutionNotFoundException(
                    f"Pipeline execution '{wanted}' not found in pipeline '{name}'")
        details = [views.action_detail(e, stage, run) for e in executions for stage, stage_run in e.stages.items()
                   for runs in stage_run.actions.values() for run in runs]
        details.sort(key=lambda d: d["startTime"], reverse=True)
        chunk, token = page(details, params, f"ListActionExecutions:{name}:{wanted or ''}")
        answer = {"actionExecutionDetails": chunk}
        if token:
            answer["nextToken"] = token
        return answer

    def get_pipeline_state(self, params: dict) -> dict:
        pipeline = self.pipelines.get(params["name"])
        executions = self.newest_first(pipeline.name)
        with self.lock:
            waiting = {s["name"]: self.gate.waiting_for(pipeline.name, s["name"])
                       for s in pipeline.declaration["stages"]}
        return views.pipeline_state(pipeline, executions, waiting, self.ctx.region)

    def put_approval_result(self, params: dict) -> dict:
        name, stage, action = params["pipelineName"], params["stageName"], params["actionName"]
        token, result = params["token"], params["result"]
        pipeline = self.pipelines.get(name)
        with self.lock:
            executions = [e for e in self.executions.values() if e.pipeline == name]
            declarations = [pipeline.declaration] + [e.declaration for e in executions if e.status in ACTIVE]
            stages = [s for d in declarations for s in d["stages"] if s["name"] == stage]
            if not stages:
                raise StageNotFoundException(f"Stage {stage} not found in pipeline {name}")
            actions = [a for s in stages for a in s["actions"] if a["name"] == action]
            if not actions:
                raise ActionNotFoundException(f"Action {action} not found in stage {stage} of pipeline {name}")
            if actions[0]["actionTypeId"]["category"] != "Approval":
                raise ActionNotFoundException(f"Action {action} in stage {stage} of pipeline {name} is not a manual "
                                              f"approval action.")
            runs = [(e, r) for e in executions if stage in e.stages for r in e.stages[stage].actions.get(action, [])]
            waiting = [(e, r) for e, r in runs if r.status == "InProgress" and r.decision is None
                       and e.status in ACTIVE]
            matching = [(e, r) for e, r in runs if r.token == token]
            if matching and (matching[0][1].decision is not None or matching[0][1].status != "InProgress"):
                raise ApprovalAlreadyCompletedException(
                    f"The approval action {action} in stage {stage} of pipeline {name} has already been "
                    f"{'approved' if matching[0][1].status == SUCCEEDED else 'answered'}; there is nothing to "
                    f"approve or reject with that token.")
            if not matching:
                detail = ("no approval is waiting there now" if not waiting else
                          "it is not the token of the approval waiting there; GetPipelineState shows the current one")
                raise InvalidApprovalTokenException(f"The approval token {token} is not valid: {detail}.")
            execution, run = matching[0]
            if not any(r is run for _, r in waiting):
                raise InvalidApprovalTokenException(f"The approval token {token} is not valid: it is not the token of "
                                                    f"the approval waiting there; GetPipelineState shows the current "
                                                    f"one.")
            now = utc_now()
            run.decision = {"status": result["status"], "summary": result.get("summary") or "", "approvedAt": now}
            run.updated_by = self.caller
            self._save(execution)
            return {"approvedAt": now}

    def retry_stage_execution(self, params: dict) -> dict:
        name, stage, execution_id = params["pipelineName"], params["stageName"], params["pipelineExecutionId"]
        pipeline = self.pipelines.get(name)
        with self.lock:
            execution = self._get(name, execution_id)
            if not any(s["name"] == stage for s in execution.declaration["stages"]):
                raise StageNotFoundException(f"Stage {stage} not found in pipeline {name}")
            if execution.version != pipeline.version:
                raise StageNotRetryableException(f"The pipeline was updated after execution {execution_id} ran "
                                                 f"(version {execution.version}, now {pipeline.version}); start a "
                                                 f"new execution.")
            run = execution.stages.get(stage)
            if execution.status != "Failed" or run is None or run.status != "Failed":
                raise StageNotRetryableException(f"Stage {stage} did not fail in execution {execution_id}: only a "
                                                 f"failed stage of a failed execution can be retried.")
            later = [e for e in self.executions.values() if e.pipeline == name and e.start_time > execution.start_time
                     and stage in e.stages]
            if later:
                raise NotLatestPipelineExecutionException(
                    f"Stage {stage} ran in a later execution ({later[0].execution_id}); retry that one instead.")
            EXECUTION.check("Failed", "InProgress")
            execution.status, execution.status_summary = "InProgress", None
            run.attempt += 1
            if params["retryMode"] == "ALL_ACTIONS":
                run.fresh_from = run.attempt
            self._arrive(execution, stage)
            self._save(execution)
            self.events.execution(execution, self._arn(execution), "RESUMED")
        self._launch(execution_id)
        return {"pipelineExecutionId": execution_id}

