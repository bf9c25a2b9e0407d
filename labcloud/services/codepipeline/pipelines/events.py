"""CodePipeline's EventBridge events ("Monitoring CodePipeline events"), source aws.codepipeline, the
pipeline's ARN as the resource:

    CodePipeline Pipeline Execution State Change   pipeline, execution-id, state, version, execution-trigger
    CodePipeline Stage Execution State Change      ... and stage
    CodePipeline Action Execution State Change     ... and stage, action, region, type {owner, category,
                                                   provider, version}, execution-result when it ended

States are CodePipeline's: STARTED, SUCCEEDED, FAILED, STOPPING, STOPPED, SUPERSEDED, RESUMED (a retried
stage), ABANDONED (an action). The family queues them under its lock; one thread publishes them in order,
so no worker or request waits for EventBridge and no lock is held while an event goes out.
"""

from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger("labcloud.codepipeline")

SOURCE = "aws.codepipeline"
PIPELINE_CHANGE = "CodePipeline Pipeline Execution State Change"
STAGE_CHANGE = "CodePipeline Stage Execution State Change"
ACTION_CHANGE = "CodePipeline Action Execution State Change"


class PipelineEvents:
    def __init__(self, ctx):
        self.ctx = ctx
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _base(self, execution, state: str) -> dict:
        return {"pipeline": execution.pipeline, "execution-id": execution.execution_id, "state": state,
                "version": execution.version, "start-time": execution.start_time,
                "pipeline-execution-attempt": 1}

    def execution(self, execution, arn: str, state: str) -> None:
        detail = self._base(execution, state)
        detail["execution-trigger"] = {"trigger-type": execution.trigger.get("triggerType"),
                                       "trigger-detail": execution.trigger.get("triggerDetail", "")}
        self._put(PIPELINE_CHANGE, detail, arn)

    def stage(self, execution, arn: str, stage: str, state: str) -> None:
        self._put(STAGE_CHANGE, {**self._base(execution, state), "stage": stage}, arn)

    def action(self, execution, arn: str, stage: str, run, state: str) -> None:
        type_id = run.input.get("actionTypeId", {})
        detail = {**self._base(execution, state), "stage": stage, "action": run.action, "region": self.ctx.region,
                  "type": {"owner": type_id.get("owner"), "category": type_id.get("category"),
                           "provider": type_id.get("provider"), "version": type_id.get("version")}}
        if state in ("SUCCEEDED", "FAILED", "ABANDONED"):
            result = {"external-execution-id": run.external_id, "external-execution-summary": run.summary}
            if run.error:
                result["error-code"] = run.error.get("code")
            detail["execution-result"] = {k: v for k, v in result.items() if v is not None}
        self._put(ACTION_CHANGE, detail, arn)

    # -- publishing ------------------------------------------------------------------------------------
    def _put(self, detail_type: str, detail: dict, arn: str) -> None:
        self._queue.put((detail_type, detail, arn))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._publish_all, name="codepipeline-events", daemon=True)
                self._thread.start()

    def _publish_all(self) -> None:
        while True:
            try:
                detail_type, detail, arn = self._queue.get(timeout=1.0)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                self.ctx.events.publish(SOURCE, detail_type, detail, [arn])
            except Exception:  # noqa: BLE001 - an event lost is logged, never raised into a pipeline
                log.exception("could not publish %s", detail_type)
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event went out (the server stops; tests)."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)
