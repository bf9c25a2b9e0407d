"""PollForSourceChanges (pipelines/polling.py): a moved branch tip starts the pipeline once; a source with
PollForSourceChanges "false" is left to EventBridge rules."""

from __future__ import annotations

from labcloud.services.codepipeline.pipelines.polling import SourcePoller
from tests.support.codepipeline import (Script, StandInContext, action, declaration, family, settled, wait_for)


class Branches:
    def __init__(self):
        self.tips = {}

    def get_branch(self, repositoryName, branchName):
        if (repositoryName, branchName) not in self.tips:
            raise RuntimeError("BranchDoesNotExistException")
        return {"branch": {"commitId": self.tips[(repositoryName, branchName)]}}


def polled(name: str, repository: str, **source_configuration) -> dict:
    return declaration(name, ("Source", [action("Fetch", "Source", outputs=["Src"], RepositoryName=repository,
                                                **source_configuration)]),
                       ("Build", [action("Compile", inputs=["Src"])]))


def test_a_moved_tip_starts_the_pipeline_once_and_false_is_not_polled():
    ctx, script, branches = StandInContext(), Script(), Branches()
    ctx.client = lambda name: branches
    try:
        pipelines, executions = family(ctx, script)
        poller = SourcePoller(ctx, pipelines, executions)
        branches.tips[("app", "main")] = branches.tips[("quiet", "main")] = "aaa"
        script.revision = "aaa"
        pipelines.create_pipeline({"pipeline": polled("polls", "app")})  # PollForSourceChanges left out: true
        pipelines.create_pipeline({"pipeline": polled("rules", "quiet", PollForSourceChanges="false")})
        pipelines.create_pipeline({"pipeline": polled("nobranch", "missing")})
        for name in ("polls", "rules"):
            [first] = executions.newest_first(name)
            settled(executions, name, first.execution_id)
        assert poller.poll_once() == []  # nothing moved since the CreatePipeline executions fetched "aaa"

        branches.tips[("app", "main")] = branches.tips[("quiet", "main")] = "bbb"
        script.revision = "bbb"
        [started] = poller.poll_once()
        assert poller.poll_once() == []  # seen now
        detail = executions.get_pipeline_execution({"pipelineName": "polls", "pipelineExecutionId": started})
        assert detail["pipelineExecution"]["trigger"] == {"triggerType": "PollForSourceChanges",
                                                          "triggerDetail": "Fetch"}
        assert len(executions.newest_first("rules")) == 1
        settled(executions, "polls", started)

        # A poller that starts afresh (labcloud restarted) compares with what the newest execution fetched.
        restarted = SourcePoller(ctx, pipelines, executions)
        assert restarted.poll_once() == []  # the newest execution fetched "bbb", the tip
        branches.tips[("app", "main")] = "ccc"
        assert len(restarted.poll_once()) == 1
        wait_for(lambda: len(executions.newest_first("polls")) == 3)
    finally:
        ctx.shutting_down.set()
