"""labcloud's SageMaker control plane: its resource families, wired to each other explicitly, behind the
operations table.

    training    TrainingJobs    (training/)   jobs that really run, with spot and checkpoints
    processing  ProcessingJobs  (processing/) processing jobs that really run
    registry    ModelRegistry   (registry/)   model package groups, versions, approvals and their events
    models      Models          (hosting/)    models and endpoint configs: records only
    endpoints   Endpoints       (hosting/)    endpoints and the model servers behind them
    transform   TransformJobs   (transform/)  batch transform through a model's containers
    pipelines   Pipelines       (pipelines/)  pipeline definitions and executions that run as graphs
    projects    Projects        (projects/)   projects: a template's stack (repositories, CI/CD, rules)
    tags        Tags            (tagging/)    AddTags, ListTags, DeleteTags of any resource, by ARN

usage() gathers what the families used, as AWS would meter it (usage.py), for `labcloud bill`.

The model-server launcher (runtime/serving) starts with the service, so that it has preloaded its
libraries by the time the first endpoint starts.
"""

from __future__ import annotations

from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.aws_json import JsonService
from labcloud.runtime.serving.launcher import close_shared_launcher, shared_launcher
from labcloud.services.sagemaker.hosting.endpoints import Endpoints
from labcloud.services.sagemaker.hosting.models import Models
from labcloud.services.sagemaker.operations import OPERATIONS
from labcloud.services.sagemaker.pipelines.pipelines import Pipelines
from labcloud.services.sagemaker.processing.jobs import ProcessingJobs
from labcloud.services.sagemaker.projects.projects import Projects
from labcloud.services.sagemaker.registry.packages import ModelRegistry
from labcloud.services.sagemaker.tagging.tags import Tags
from labcloud.services.sagemaker.training.jobs import TrainingJobs
from labcloud.services.sagemaker.transform.jobs import TransformJobs
from labcloud.services.sagemaker.usage import UsageRow, collect


class SageMakerService(JsonService):
    botocore_name = "sagemaker"
    also_required = {"CreateTrainingJob": ("AlgorithmSpecification",)}  # optional in the model, not in AWS

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.tags = Tags(ctx, self.store)
        self.training = TrainingJobs(ctx, self.store)
        self.processing = ProcessingJobs(ctx, self.store)
        self.registry = ModelRegistry(ctx, self.store)
        self.models = Models(ctx, self.store, self.registry)
        self.endpoints = Endpoints(ctx, self.store, self.models)
        self.transform = TransformJobs(ctx, self.store, self.models)
        self.pipelines = Pipelines(ctx, self.store, self.invoke, self.tags)
        self.projects = Projects(ctx, self.store, self.tags)
        self.families = [self.tags, self.training, self.processing, self.registry, self.models, self.endpoints, self.transform, self.pipelines,
                         self.projects]
        self.operations = {operation: getattr(getattr(self, family), method)
                           for operation, (family, method) in
                           ((op, target.split(".")) for op, target in OPERATIONS.items())}
        self.check_operations()

    def prepare(self) -> None:
        shared_launcher()  # it preloads in its own process meanwhile

    def start(self) -> None:
        for family in self.families:
            family.start()

    def shutdown(self) -> None:
        for family in reversed(self.families):
            family.shutdown()

    def close(self) -> None:
        close_shared_launcher()

    def usage(self, now=None) -> list[UsageRow]:
        """One row per job, transform and endpoint variant: instance type, count, billable seconds."""
        return collect(self.training, self.processing, self.transform, self.endpoints, now)

    def status(self) -> dict:
        report = {}
        for family in self.families:
            report.update(family.status())
        launcher = shared_launcher(start=False)
        report["model_server_launcher"] = launcher.describe() if launcher else "not running"
        return report


SERVICE = ServiceDefinition(name="sagemaker", routes=Routes(json_target_prefix="SageMaker"),
                            factory=SageMakerService, store_root="sagemaker", health_names=("sagemaker",))
