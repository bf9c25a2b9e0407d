"""Running one step of each type labcloud runs: its arguments are the request of a SageMaker operation,
made through the service's own operations table (validated as a learner's request would be).

    Processing / Training / Transform   create the job, follow it to its end, stop it when asked
    Model                               CreateModel             RegisterModel   CreateModelPackage
    Condition                           evaluate; Outcome True or False picks IfSteps or ElseSteps
    Fail                                fail the execution with ErrorMessage
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from labcloud.core.errors import AWSError
from labcloud.services.sagemaker.pipelines.expressions import Evaluator, StepFailure

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class JobKind:
    create: str
    describe: str
    stop: str
    name_key: str
    status_key: str
    metadata_key: str
    arn_key: str


JOBS = {
    "Training": JobKind("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "TrainingJobName",
                        "TrainingJobStatus", "TrainingJob", "TrainingJobArn"),
    "Processing": JobKind("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob", "ProcessingJobName",
                          "ProcessingJobStatus", "ProcessingJob", "ProcessingJobArn"),
    "Transform": JobKind("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "TransformJobName",
                         "TransformJobStatus", "TransformJob", "TransformJobArn"),
}
_JOB_END = {"Completed": "Succeeded", "Failed": "Failed", "Stopped": "Stopped"}
# RetryPolicies' exception types, by the AWS error a call raised.
_CALL_ERRORS = {"ThrottlingException": "Step.THROTTLING", "InternalFailure": "Step.SERVICE_FAULT",
                "ServiceUnavailable": "Step.SERVICE_FAULT", "ResourceLimitExceeded": "SageMaker.RESOURCE_LIMIT"}


@dataclass
class StepResult:
    status: str  # Succeeded | Failed | Stopped
    metadata: dict
    properties: dict | None = None
    failure: str | None = None
    outcome: bool | None = None  # a Condition step's
    error_type: str | None = None  # what RetryPolicies match (Step.SERVICE_FAULT, SageMaker.JOB_INTERNAL_ERROR, ...)


@dataclass
class StepEnv:
    """What a step runner needs of its execution."""
    call: Callable[[str, dict], dict]  # a SageMaker operation, raising AWSError
    evaluator: Evaluator
    stop: threading.Event
    shutting_down: threading.Event  # labcloud stops: leave the job running, a restart follows it again
    job_name: str  # the name of the job, model or package the step makes
    execution_arn: str
    started: Callable[[dict], None]  # the step runs: record its Metadata (a restart finds its job by it)


def run_step(kind: str, arguments: dict, env: StepEnv, attach: bool = False) -> StepResult:
    """Run a step of type `kind`; `attach` follows a job already created (after labcloud restarted)."""
    try:
        if kind in JOBS:
            return _job(JOBS[kind], arguments, env, attach)
        return {"Model": _model, "RegisterModel": _register, "Condition": _condition, "Fail": _fail}[kind](
            arguments, env)
    except StepFailure as err:
        return StepResult("Failed", {}, failure=str(err))
    except AWSError as err:
        return StepResult("Failed", {}, failure=f"{err.code}: {err.message}", error_type=_CALL_ERRORS.get(err.code))


def _job(job: JobKind, arguments: dict, env: StepEnv, attach: bool) -> StepResult:
    if not attach:
        request = env.evaluator.value(arguments)
        request[job.name_key] = env.job_name
        arn = env.call(job.create, request)[job.arn_key]
        env.started({job.metadata_key: {"Arn": arn}})
    stop_sent = False
    while not env.shutting_down.is_set():
        described = env.call(job.describe, {job.name_key: env.job_name})
        status = described[job.status_key]
        if status in _JOB_END:
            metadata = {job.metadata_key: {"Arn": described[job.arn_key]}}
            failure = described.get("FailureReason") if status == "Failed" else None
            return StepResult(_JOB_END[status], metadata, described, failure, error_type=_job_error(failure))
        if env.stop.is_set() and not stop_sent and status == "InProgress":
            stop_sent = True
            try:
                env.call(job.stop, {job.name_key: env.job_name})
            except AWSError:
                pass  # it ended meanwhile: the next look says how
        time.sleep(POLL_SECONDS)
    return StepResult("Executing", {})


def _job_error(failure: str | None) -> str | None:
    if not failure:
        return None
    if failure.startswith("InternalServerError"):
        return "SageMaker.JOB_INTERNAL_ERROR"
    if failure.startswith("CapacityError"):
        return "SageMaker.CAPACITY_ERROR"
    return None


def _model(arguments: dict, env: StepEnv) -> StepResult:
    request = env.evaluator.value(arguments)
    request["ModelName"] = env.job_name
    arn = env.call("CreateModel", request)["ModelArn"]
    return StepResult("Succeeded", {"Model": {"Arn": arn}}, env.call("DescribeModel", {"ModelName": env.job_name}))


def _register(arguments: dict, env: StepEnv) -> StepResult:
    request = env.evaluator.value(arguments)
    # The registry records which execution made the version (its events carry it as GeneratedBy).
    request.setdefault("MetadataProperties", {}).setdefault("GeneratedBy", env.execution_arn)
    group = request.get("ModelPackageGroupName")
    if group:  # the step registers into its group, made on first use (as the SDK's register() does)
        try:
            env.call("DescribeModelPackageGroup", {"ModelPackageGroupName": group})
        except AWSError:
            env.call("CreateModelPackageGroup", {"ModelPackageGroupName": group})
    arn = env.call("CreateModelPackage", request)["ModelPackageArn"]
    described = env.call("DescribeModelPackage", {"ModelPackageName": arn})
    return StepResult("Succeeded", {"RegisterModel": {"Arn": arn}}, described)


def _condition(arguments: dict, env: StepEnv) -> StepResult:
    outcome = all(env.evaluator.condition(c) for c in arguments.get("Conditions") or [])
    return StepResult("Succeeded", {"Condition": {"Outcome": "True" if outcome else "False"}}, outcome=outcome)


def _fail(arguments: dict, env: StepEnv) -> StepResult:
    message = env.evaluator.value(arguments.get("ErrorMessage", ""))
    message = message if isinstance(message, str) else str(message)
    return StepResult("Failed", {"Fail": {"ErrorMessage": message}}, failure=message)
