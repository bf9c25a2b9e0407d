"""PollForSourceChanges: a CodeCommit source whose PollForSourceChanges is not "false" (it is true when left
out, as in AWS) is polled: when its branch tip moves, the pipeline starts with trigger PollForSourceChanges.

The tip each source was last seen at starts as the revision the pipeline's newest execution fetched (so a
push while labcloud was down starts the pipeline once it is up again), or the tip at the first poll when
the pipeline never fetched anything yet (its CreatePipeline execution fetches that one). A repository or
branch that cannot be read is skipped until it can. Pipelines started by an EventBridge rule set
PollForSourceChanges to "false", as AWS advises, so that one push does not start them twice.
"""

from __future__ import annotations

import logging
import threading

from labcloud.core.errors import AWSError

log = logging.getLogger("labcloud.codepipeline")

POLL_INTERVAL_SECONDS = 10.0


def polled_sources(declaration: dict) -> list[dict]:
    return [a for a in declaration["stages"][0]["actions"]
            if a["actionTypeId"]["provider"] == "CodeCommit"
            and str((a.get("configuration") or {}).get("PollForSourceChanges", "true")).lower() != "false"]


class SourcePoller:
    def __init__(self, ctx, pipelines, executions, interval: float = POLL_INTERVAL_SECONDS):
        self.ctx, self.pipelines, self.executions, self.interval = ctx, pipelines, executions, interval
        self.seen: dict[tuple[str, str], str] = {}  # (pipeline, source action) -> commit last seen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="codepipeline-polling", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.ctx.shutting_down.is_set():
                return
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("polling the pipelines' sources failed")

    def _last_fetched(self, pipeline: str, action: str) -> str | None:
        for execution in self.executions.newest_first(pipeline):
            stage = execution.stages.get(execution.declaration["stages"][0]["name"])
            run = stage.latest(action) if stage else None
            if run is not None and run.revision:
                return run.revision["revisionId"]
        return None

    def poll_once(self) -> list[str]:
        """Start every pipeline whose polled branch moved; returns the execution ids started."""
        started = []
        with self.pipelines.lock:
            declarations = {n: p.declaration for n, p in self.pipelines.pipelines.items()}
        for name, declaration in declarations.items():
            for action in polled_sources(declaration):
                tip = self._tip(action["configuration"])
                if tip is None:
                    continue
                key = (name, action["name"])
                if key not in self.seen:
                    self.seen[key] = self._last_fetched(name, action["name"]) or tip
                if self.seen[key] != tip:
                    self.seen[key] = tip
                    try:
                        started.append(self.executions.begin(name, {"triggerType": "PollForSourceChanges",
                                                                    "triggerDetail": action["name"]}))
                    except AWSError:  # deleted meanwhile
                        pass
                    break  # one execution per pipeline per round
        return started

    def _tip(self, configuration: dict) -> str | None:
        try:
            return self.ctx.client("codecommit").get_branch(
                repositoryName=configuration["RepositoryName"],
                branchName=configuration["BranchName"])["branch"]["commitId"]
        except Exception:  # noqa: BLE001 - a repository or branch not there (yet): skipped this round
            return None
