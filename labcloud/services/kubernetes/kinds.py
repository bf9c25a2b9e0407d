"""The ACK SageMaker kinds labcloud serves: for each, its names and the SageMaker calls that reconcile it.

A kind's spec is the input of its create call (botocore's shape, ACK's field names: schemas.py); its
status holds `status_members` of the describe call's output, `ackResourceMetadata` and `conditions`.
`running` are the describe statuses during which the resource is not yet synced (its work goes on);
`updatable` says what a changed spec does: None (ACK cannot update it: a Terminal condition), or the
update call with the spec members it takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GROUP = "sagemaker.services.k8s.aws"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class Kind:
    kind: str  # TrainingJob
    create: str  # CreateTrainingJob
    describe: str  # DescribeTrainingJob
    name_member: str | None  # the create call's member that names the resource (None: SageMaker names it)
    arn_member: str  # where the create and describe outputs hold its ARN
    describe_by: str  # the describe call's member: name_member, or the ARN
    status_member: str | None = None  # TrainingJobStatus
    status_members: tuple[str, ...] = ()
    running: tuple[str, ...] = ()
    stop: str | None = None  # StopTrainingJob: what deleting a running one calls
    stoppable: tuple[str, ...] = ("InProgress",)
    delete: str | None = None  # DeleteModel: what deleting it calls (None: nothing to delete)
    update: str | None = None  # UpdateEndpoint
    update_members: tuple[str, ...] = ()  # the spec members the update call takes
    printer_columns: tuple[tuple[str, str, int], ...] = ()  # (column, status field, priority), as the CRD's
    terminal_state: str | None = None  # a describe status the controller calls Terminal (Endpoint: Failed)
    omitted: tuple[str, ...] = field(default=())  # create members the controller's CRD leaves out
    also_required: tuple[str, ...] = ()  # members the controller requires though botocore's model does not

    @property
    def plural(self) -> str:
        return self.kind.lower() + "s"

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def finalizer(self) -> str:
        return f"finalizers.{GROUP}/{self.kind}"


# `kubectl get` shows priority 0; FAILURE-REASON (priority 1) only with -o wide.
_FAILURE = ("FAILURE-REASON", "failureReason", 1)

KINDS = [
    Kind("TrainingJob", "CreateTrainingJob", "DescribeTrainingJob", "TrainingJobName", "TrainingJobArn",
         "TrainingJobName", "TrainingJobStatus",
         ("TrainingJobStatus", "SecondaryStatus", "FailureReason", "ModelArtifacts", "CreationTime",
          "LastModifiedTime", "DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses", "ProfilingStatus",
          "WarmPoolStatus"),
         running=("InProgress", "Stopping"), stop="StopTrainingJob",
         printer_columns=(_FAILURE, ("SECONDARY-STATUS", "secondaryStatus", 0), ("STATUS", "trainingJobStatus", 0)),
         also_required=("AlgorithmSpecification", "ResourceConfig", "StoppingCondition")),
    Kind("ProcessingJob", "CreateProcessingJob", "DescribeProcessingJob", "ProcessingJobName", "ProcessingJobArn",
         "ProcessingJobName", "ProcessingJobStatus", ("ProcessingJobStatus", "FailureReason"),
         running=("InProgress", "Stopping"), stop="StopProcessingJob",
         printer_columns=(_FAILURE, ("STATUS", "processingJobStatus", 0))),
    Kind("TransformJob", "CreateTransformJob", "DescribeTransformJob", "TransformJobName", "TransformJobArn",
         "TransformJobName", "TransformJobStatus", ("TransformJobStatus", "FailureReason"),
         running=("InProgress", "Stopping"), stop="StopTransformJob",
         printer_columns=(_FAILURE, ("STATUS", "transformJobStatus", 0)),
         omitted=("DataCaptureConfig",)),
    Kind("Model", "CreateModel", "DescribeModel", "ModelName", "ModelArn", "ModelName", delete="DeleteModel"),
    Kind("EndpointConfig", "CreateEndpointConfig", "DescribeEndpointConfig", "EndpointConfigName",
         "EndpointConfigArn", "EndpointConfigName", delete="DeleteEndpointConfig",
         omitted=("ExplainerConfig", "ShadowProductionVariants")),
    Kind("Endpoint", "CreateEndpoint", "DescribeEndpoint", "EndpointName", "EndpointArn", "EndpointName",
         "EndpointStatus", ("EndpointStatus", "FailureReason", "CreationTime", "LastModifiedTime",
                            "ProductionVariants", "PendingDeploymentSummary"),
         running=("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"), delete="DeleteEndpoint",
         update="UpdateEndpoint", update_members=("EndpointConfigName", "DeploymentConfig"),
         printer_columns=(_FAILURE, ("STATUS", "endpointStatus", 0)), terminal_state="Failed"),
    Kind("ModelPackageGroup", "CreateModelPackageGroup", "DescribeModelPackageGroup", "ModelPackageGroupName",
         "ModelPackageGroupArn", "ModelPackageGroupName", "ModelPackageGroupStatus", ("ModelPackageGroupStatus",),
         running=("Pending", "InProgress", "Deleting"), delete="DeleteModelPackageGroup",
         printer_columns=(("STATUS", "modelPackageGroupStatus", 0),)),
    Kind("ModelPackage", "CreateModelPackage", "DescribeModelPackage", None, "ModelPackageArn", "ModelPackageName",
         "ModelPackageStatus", ("ModelPackageStatus", "ModelPackageStatusDetails", "CreationTime",
                                "LastModifiedTime"),
         running=("Pending", "InProgress", "Deleting"), delete="DeleteModelPackage", update="UpdateModelPackage",
         update_members=("ModelApprovalStatus", "ApprovalDescription", "CustomerMetadataProperties"),
         printer_columns=(("STATUS", "modelPackageStatus", 0),), terminal_state="Failed"),
    Kind("Pipeline", "CreatePipeline", "DescribePipeline", "PipelineName", "PipelineArn", "PipelineName",
         "PipelineStatus", ("PipelineStatus", "CreationTime", "LastModifiedTime"), delete="DeletePipeline",
         omitted=("ClientRequestToken",),
         update="UpdatePipeline", update_members=("PipelineDefinition", "PipelineDisplayName",
                                                  "PipelineDescription", "RoleArn", "ParallelismConfiguration"),
         printer_columns=(("STATUS", "pipelineStatus", 0),)),
    Kind("PipelineExecution", "StartPipelineExecution", "DescribePipelineExecution", None, "PipelineExecutionArn",
         "PipelineExecutionArn", "PipelineExecutionStatus",
         ("PipelineExecutionStatus", "FailureReason", "CreationTime", "LastModifiedTime"),
         running=("Executing", "Stopping"), stop="StopPipelineExecution", stoppable=("Executing",),
         omitted=("ClientRequestToken",),
         printer_columns=(_FAILURE, ("STATUS", "pipelineExecutionStatus", 0))),
]

BY_PLURAL = {k.plural: k for k in KINDS}
BY_KIND = {k.kind: k for k in KINDS}
