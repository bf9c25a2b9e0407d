"""labcloud's CodePipeline (AWS JSON 1.1, X-Amz-Target CodePipeline_20150709.*): pipelines whose
executions really run.

    pipelines   Pipelines   (pipelines/pipelines.py)   declarations, checked (structure.py) and versioned
    executions  Executions  (pipelines/executions.py)  executions, each in a worker (executor.py), through
                                                       the stage gate (gate.py), with CodePipeline's events
    triggers    Triggers    (pipelines/triggers.py)    EventBridge rules that target a pipeline start it
    poller      SourcePoller (pipelines/polling.py)    CodeCommit sources with PollForSourceChanges
    actions     PROVIDERS   (actions/)                 Source/CodeCommit, Build|Test/CodeBuild,
                                                       Deploy/CloudFormation, Approval/Manual
    stacks      StackRecords (actions/stack_records.py) what CloudFormation actions deployed

Actions reach other services only through their public APIs, with ctx.client(...): CodeCommit's
GetRepository/GetBranch and git over HTTP, CodeBuild's StartBuild/BatchGetBuilds/StopBuild, S3 for the
artifacts, and labcloud.runtime.stacks for CloudFormation.
"""

from __future__ import annotations

from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.aws_json import JsonService
from labcloud.services.codepipeline.actions import PROVIDERS
from labcloud.services.codepipeline.actions.stack_records import StackRecords
from labcloud.services.codepipeline.operations import OPERATIONS
from labcloud.services.codepipeline.pipelines.executions import Executions
from labcloud.services.codepipeline.pipelines.pipelines import Pipelines
from labcloud.services.codepipeline.pipelines.polling import SourcePoller
from labcloud.services.codepipeline.pipelines.triggers import Triggers


class CodePipelineService(JsonService):
    botocore_name = "codepipeline"

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.stacks = StackRecords(self.store)
        self.pipelines = Pipelines(ctx, self.store, PROVIDERS)
        runners = {type_id: provider.run for type_id, provider in PROVIDERS.items()}
        self.executions = Executions(ctx, self.store, self.pipelines, runners, self.stacks)
        self.triggers = Triggers(ctx, self.pipelines.by_arn, self.executions.begin)
        self.poller = SourcePoller(ctx, self.pipelines, self.executions)
        self.operations = {operation: getattr(getattr(self, family), method)
                           for operation, (family, method) in
                           ((op, target.split(".")) for op, target in OPERATIONS.items())}
        self.check_operations()

    def start(self) -> None:
        self.stacks.load()
        self.pipelines.start()
        self.executions.start()
        self.triggers.start()
        self.poller.start()

    def shutdown(self) -> None:
        self.poller.shutdown()
        self.triggers.shutdown()
        self.executions.shutdown()

    def status(self) -> dict:
        return {**self.executions.status(), "codepipeline_pipelines": sorted(self.pipelines.pipelines)}


SERVICE = ServiceDefinition(name="codepipeline", routes=Routes(json_target_prefix="CodePipeline_20150709"),
                            factory=CodePipelineService, store_root="codepipeline", health_names=("codepipeline",))
