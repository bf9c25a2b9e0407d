"""Stand-ins for the CodePipeline family's unit tests: a context without a server, action runners that do
what a test tells them, and pipeline declarations to run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from labcloud.persistence.store import Store
from labcloud.services.codepipeline.actions import PROVIDERS
from labcloud.services.codepipeline.actions import manual_approval
from labcloud.services.codepipeline.actions.base import ABANDONED, SUCCEEDED, ActionJob, ActionResult
from labcloud.services.codepipeline.pipelines.executions import Executions
from labcloud.services.codepipeline.pipelines.pipelines import Pipelines
from tests.support.waiting import wait_until

ROLE = "arn:aws:iam::123456789012:role/pipeline"


class RecordingEvents:
    """ctx.events: keeps what is published, delivers nothing."""

    def __init__(self):
        self.published: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()

    def publish(self, source, detail_type, detail, resources):
        with self.lock:
            self.published.append((source, detail_type, dict(detail)))

    def subscribe(self, subscriber):
        return lambda: None

    def states(self, detail_type_word: str) -> list[tuple]:
        """(stage, action, state) of the events whose detail type contains the word (Pipeline, Stage, Action)."""
        with self.lock:
            return [(d.get("stage"), d.get("action"), d["state"]) for _, t, d in self.published
                    if f" {detail_type_word} " in t]


@dataclass
class StandInContext:
    state_dir: Path | None = None
    region: str = "us-east-1"
    account_id: str = "123456789012"
    shutting_down: threading.Event = field(default_factory=threading.Event)
    events: RecordingEvents = field(default_factory=RecordingEvents)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def client(self, name: str):
        raise AssertionError(f"a stand-in action asked for a {name} client")


class Script:
    """Action runners that follow a script: per action name, how long it takes, whether it fails, or that
    it waits for `release(name)`. Records the order actions start and end in."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.running: set[str] = set()
        self.max_parallel = 0
        self.fail: dict[str, str] = {}  # action -> failure message
        self.delay: dict[str, float] = {}
        self.gates: dict[str, threading.Event] = {}
        self.jobs: dict[str, list[ActionJob]] = {}
        self.revision: str | None = None  # the commit source actions fetch (default: commit-<n>)

    def hold(self, *names: str) -> None:
        for name in names:
            self.gates[name] = threading.Event()

    def release(self, name: str) -> None:
        self.gates[name].set()

    def runner(self, job: ActionJob) -> ActionResult | None:
        name = job.action["name"]
        with self.lock:
            self.started.append(name)
            self.jobs.setdefault(name, []).append(job)
            self.running.add(name)
            self.max_parallel = max(self.max_parallel, len(self.running))
        try:
            gate = self.gates.get(name)
            deadline = time.monotonic() + self.delay.get(name, 0.0)
            while (gate is not None and not gate.is_set()) or time.monotonic() < deadline:
                if job.stop.is_set():
                    return ActionResult(ABANDONED)
                if job.shutting_down.is_set():
                    return None
                time.sleep(0.01)
            if name in self.fail:
                return ActionResult.failed(self.fail[name])
            revision = None
            if job.action["actionTypeId"]["category"] == "Source":
                revision = {"revisionId": self.revision or f"commit-{len(self.started)}", "revisionSummary": "a commit"}
            for location in job.outputs.values():
                assert location["key"].startswith(job.pipeline[:20] + "/")
            return ActionResult(SUCCEEDED, summary=f"{name} done", revision=revision,
                                output_variables={"Who": name})
        finally:
            with self.lock:
                self.running.discard(name)
                self.ended.append(name)

    def runners(self) -> dict:
        """The script for every action type but manual approvals, which run as labcloud's own."""
        runners = {type_id: self.runner for type_id in PROVIDERS}
        runners[("Approval", "AWS", "Manual")] = manual_approval.run
        return runners


def family(ctx: StandInContext, script: Script) -> tuple[Pipelines, Executions]:
    store = Store(ctx.state_dir, "codepipeline") if ctx.state_dir else None
    pipelines = Pipelines(ctx, store, PROVIDERS)
    executions = Executions(ctx, store, pipelines, script.runners())
    pipelines.start()
    executions.start()
    return pipelines, executions


def action(name: str, category: str = "Build", run_order: int = 1, inputs=(), outputs=(), **configuration) -> dict:
    provider = {"Source": "CodeCommit", "Build": "CodeBuild", "Test": "CodeBuild", "Deploy": "CloudFormation",
                "Approval": "Manual"}[category]
    defaults = {"Source": {"RepositoryName": "repo", "BranchName": "main"}, "Build": {"ProjectName": "p"},
                "Test": {"ProjectName": "p"}, "Approval": {},
                "Deploy": {"ActionMode": "CREATE_UPDATE", "StackName": "s", "RoleArn": ROLE,
                           "TemplatePath": "BuildOut::template.yml"}}[category]
    return {"name": name, "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
            "runOrder": run_order, "configuration": {**defaults, **configuration},
            "inputArtifacts": [{"name": n} for n in inputs], "outputArtifacts": [{"name": n} for n in outputs]}


def declaration(name: str, *stages: tuple[str, list[dict]], **extra) -> dict:
    return {"name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [{"name": stage, "actions": actions} for stage, actions in stages], **extra}


def three_stages(name: str = "demo") -> dict:
    """Source -> Build -> Approve (an approval, then a test)."""
    return declaration(name, ("Source", [action("Fetch", "Source", outputs=["Src"])]),
                       ("Build", [action("Compile", inputs=["Src"], outputs=["BuildOut"])]),
                       ("Approve", [action("Review", "Approval"), action("Check", "Test", run_order=2,
                                                                         inputs=["BuildOut"])]))


def wait_for(check, timeout: float = 10.0, what: str = "the condition"):
    """wait_until at the pace of stand-ins that answer in milliseconds."""
    return wait_until(check, what, timeout, every=0.01)


def execution_status(executions: Executions, pipeline: str, execution_id: str) -> str:
    return executions.get_pipeline_execution({"pipelineName": pipeline, "pipelineExecutionId": execution_id})[
        "pipelineExecution"]["status"]


def settled(executions: Executions, pipeline: str, execution_id: str, timeout: float = 10.0) -> str:
    return wait_for(lambda: (lambda s: s if s not in ("InProgress", "Stopping") else None)(
        execution_status(executions, pipeline, execution_id)), timeout, f"execution {execution_id} to end")


def action_state(executions: Executions, pipeline: str, stage: str, name: str) -> dict:
    state = executions.get_pipeline_state({"name": pipeline})
    [stage_state] = [s for s in state["stageStates"] if s["stageName"] == stage]
    [found] = [a for a in stage_state["actionStates"] if a["actionName"] == name]
    return found


def approval_token(executions: Executions, pipeline: str, stage: str = "Approve", name: str = "Review") -> str:
    return wait_for(lambda: action_state(executions, pipeline, stage, name).get("latestExecution", {}).get("token"),
                    what="the approval's token")
