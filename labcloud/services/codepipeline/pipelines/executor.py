"""Running one pipeline execution: its stages in order, the actions of a stage by runOrder, actions of the
same runOrder at the same time (a thread each).

Before a stage the execution waits at its entrance until the stage gate lets it in (gate.py; a newer
execution arriving there may supersede it). A stage whose actions all succeeded is left, and the next one
entered. An action that fails lets the others of its runOrder finish, then fails its stage and the
execution; later actions and stages do not run. A stop and abandon ends the execution at once (running
actions Abandoned; a build is stopped); a stop-and-wait lets running actions finish (a waiting approval
is abandoned, since nobody would answer it) and starts nothing more. When labcloud stops, the worker
leaves the execution as it is, for the next start (executions.py says what becomes of it).
"""

from __future__ import annotations

import enum
import logging
import threading

from labcloud.platform.background import Worker
from labcloud.services.codepipeline.actions.artifacts import new_location
from labcloud.services.codepipeline.actions.base import (FAILED, SUCCEEDED, ActionFailed, ActionJob,
                                                         ActionResult)
from labcloud.services.codepipeline.pipelines.structure import artifact_bucket
from labcloud.services.codepipeline.pipelines.variables import resolve

log = logging.getLogger("labcloud.codepipeline")
POLL_SECONDS = 0.1


class Outcome(enum.Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"
    SUPERSEDED = "Superseded"
    ENDED = "ended elsewhere"  # deleted with its pipeline, or ended by a stop while it waited
    SHUT_DOWN = "shut down"  # left as it is: the next start decides


class ExecutionWorker(Worker):
    def __init__(self, family, execution_id: str, runners: dict):
        super().__init__(family.ctx, execution_id, "codepipeline")
        self.family = family
        self.runners = runners
        self.abandon = threading.Event()  # StopPipelineExecution with abandon: end running actions now
        self.failed_run: tuple[str, str] | None = None  # (stage, action run id) of the first failure

    # -- the stages ------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        execution = self.family.snapshot(self.key)
        if execution is None:
            return Outcome.ENDED
        names = [s["name"] for s in execution.declaration["stages"]]
        first = names.index(execution.current_stage) if execution.current_stage else 0
        for name in names[first:]:
            execution = self.family.snapshot(self.key)
            if execution is None:
                return Outcome.ENDED
            if execution.current_stage != name or execution.waiting:
                entered = self._enter(name)
                if entered is not None:
                    return entered
            status = self._run_stage(name)
            if status is None:
                return Outcome.SHUT_DOWN
            if status == SUCCEEDED:
                self.family.stage_status(self.key, name, SUCCEEDED)
                self.family.release(self.key, name)
                if self.stop_requested.is_set():
                    return self._end(Outcome.STOPPED)
                continue
            if status == FAILED:
                self.family.stage_status(self.key, name, FAILED)
                return self._end(Outcome.FAILED)
            return self._end(Outcome.STOPPED)
        return self._end(Outcome.SUCCEEDED)

    def _end(self, outcome: Outcome) -> Outcome:
        if self.ctx.shutting_down.is_set():
            return Outcome.SHUT_DOWN
        self.family.execution_end(self.key, outcome.value, self.failed_run)
        return outcome

    def failed(self, err: Exception) -> None:
        self.family.execution_end(self.key, FAILED, summary=f"InternalError: labcloud could not run the "
                                                             f"execution: {err}")

    def _enter(self, stage: str) -> Outcome | None:
        """Wait at the stage's entrance; None once inside, else how the execution ended."""
        self.family.arrive(self.key, stage)
        while True:
            state = self.family.try_enter(self.key, stage)
            if state == "entered":
                return None
            if state == "superseded":
                return Outcome.SUPERSEDED
            if state == "ended":
                return Outcome.ENDED
            if state == "stopping":
                return self._end(Outcome.STOPPED)
            if self.ctx.shutting_down.is_set():
                return Outcome.SHUT_DOWN
            if self.stop_requested.is_set():
                return self._end(Outcome.STOPPED)
            self.family.wait_changed(POLL_SECONDS)

    def _run_stage(self, stage: str) -> str | None:
        """Succeeded, Failed or Stopped; None when labcloud stops."""
        execution = self.family.snapshot(self.key)
        if execution is None:
            return "Stopped"
        actions = execution.stage_declaration(stage)["actions"]
        orders = sorted({a["runOrder"] for a in actions})
        for position, order in enumerate(orders):
            execution = self.family.snapshot(self.key)
            if execution is None:
                return "Stopped"
            todo = [a for a in actions if a["runOrder"] == order and not execution.stages[stage].done(a["name"])]
            if not todo:
                continue
            if self.stop_requested.is_set():
                return "Stopped"
            statuses = self._run_group(stage, todo)
            if self.ctx.shutting_down.is_set():
                return None
            if self.abandon.is_set():
                return "Stopped"
            if FAILED in statuses:
                return FAILED
            if self.stop_requested.is_set():
                return SUCCEEDED if position == len(orders) - 1 else "Stopped"
        return SUCCEEDED

    # -- the actions of one runOrder -------------------------------------------------------------------
    def _run_group(self, stage: str, actions: list[dict]) -> list[str]:
        statuses: dict[str, str] = {}
        threads = []
        for action in actions:
            thread = threading.Thread(target=self._run_action, args=(stage, action, statuses),
                                      name=f"codepipeline-action-{action['name']}", daemon=True)
            threads.append(thread)
            thread.start()
        while any(t.is_alive() for t in threads):
            if self.abandon.is_set() or self.ctx.shutting_down.is_set():
                break  # abandoned actions are not waited for; their late results are ignored
            self.family.wait_changed(POLL_SECONDS)
        return list(statuses.values())

    def _run_action(self, stage: str, action: dict, statuses: dict) -> None:
        try:
            status = self._attempt(stage, action)
        except Exception:  # noqa: BLE001 - labcloud's fault: fail the stage visibly, never hang
            log.exception("pipeline action %s failed", action["name"])
            status = FAILED
        if status is not None:
            statuses[action["name"]] = status
        with self.family.changed:
            self.family.changed.notify_all()  # wake the worker

    def _attempt(self, stage: str, action: dict) -> str | None:
        execution = self.family.snapshot(self.key)
        if execution is None:
            return None
        result = None
        try:
            resolved = resolve(action.get("configuration") or {}, self.family.scopes(execution))
        except ActionFailed as err:
            resolved, result = action.get("configuration") or {}, ActionResult.failed(err.message, err.code)
        run = self.family.action_begin(self.key, stage, action, self._input(execution, action, resolved))
        if run is None:
            return None
        job = self._job(execution, stage, {**action, "configuration": resolved}, run)
        if result is None:
            type_id = action["actionTypeId"]
            runner = self.runners[(type_id["category"], type_id["owner"], type_id["provider"])]
            try:
                result = runner(job)
            except Exception as err:  # noqa: BLE001 - a provider's own fault
                log.exception("pipeline action %s raised", action["name"])
                result = ActionResult.failed(f"InternalError: labcloud could not run the action: {err}")
        if result is None:  # labcloud stops: the run stays as it is
            return None
        status = self.family.action_end(self.key, stage, run.action_execution_id, result, job.outputs)
        if status == FAILED and self.failed_run is None:
            self.failed_run = (stage, run.action_execution_id)
        return status

    def _input(self, execution, action: dict, resolved: dict) -> dict:
        action_input = {"actionTypeId": action["actionTypeId"], "configuration": action.get("configuration") or {},
                        "resolvedConfiguration": resolved,
                        "region": action.get("region") or self.ctx.region,
                        "inputArtifacts": [{"name": a["name"], "s3location": execution.artifacts.get(a["name"], {})}
                                           for a in action.get("inputArtifacts") or []]}
        for key in ("roleArn", "namespace"):
            if action.get(key):
                action_input[key] = action[key]
        return action_input

    def _job(self, execution, stage: str, action: dict, run) -> ActionJob:
        bucket = artifact_bucket(execution.declaration, self.ctx.region)
        outputs = {a["name"]: new_location(bucket, execution.pipeline, a["name"])
                   for a in action.get("outputArtifacts") or []}
        inputs = {a["name"]: execution.artifacts[a["name"]] for a in action.get("inputArtifacts") or []
                  if a["name"] in execution.artifacts}
        approval = action["actionTypeId"]["category"] == "Approval"
        run_id = run.action_execution_id

        def report(**fields) -> None:
            self.family.action_report(self.key, stage, run_id, **fields)

        def wait_for_decision(timeout: float):
            return self.family.wait_for_decision(self.key, stage, run_id, timeout)

        return ActionJob(pipeline=execution.pipeline, pipeline_version=execution.version,
                         execution_id=execution.execution_id, stage=stage, action=action, inputs=inputs,
                         outputs=outputs, clients=self.ctx.client,
                         stop=self.stop_requested if approval else self.abandon,
                         shutting_down=self.ctx.shutting_down, report=report,
                         previous={"token": run.token} if run.token else None,
                         source_revision=execution.source_revisions.get(action["name"]),
                         region=self.ctx.region, account_id=self.ctx.account_id,
                         wait_for_decision=wait_for_decision, stacks=self.family.stacks)
