"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

Jobs really run (a TrainingWorker each: worker.py, and labcloud/runtime/training/). Records are saved in
the store at every change; a job that was in progress when the server died is resumed when it starts
again: it restarts from its last checkpoint when it has a CheckpointConfig, from scratch otherwise, with
a `Restarting` transition that says which. A server that stops normally ends the job processes and
leaves the records in progress, so the next start resumes them, as SageMaker would have carried them on.

Billing, as DescribeTrainingJob reports it:
- TrainingTimeInSeconds: the seconds the job's container ran, summed over all attempts (a spot job
  that was interrupted ran several times), rounded up, at least 1.
- BillableTimeInSeconds: the same for on-demand jobs; for managed spot jobs
  ceil(TrainingTimeInSeconds x settings.spot_price_ratio), so the SDK's "Managed Spot Training savings"
  (1 - Billable / Training) x 100 is the simulated spot discount. Waiting for capacity is not billed.
"""

from __future__ import annotations

import copy
import math
import threading

from labcloud.core.clock import utc_now
from labcloud.core.errors import ValidationException
from labcloud.protocols.pagination import list_page
from labcloud.runtime.images import resolve
from labcloud.runtime.training import isolation
from labcloud.runtime.training.spot import InvalidSpotTag, tagged_interruptions
from labcloud.services.sagemaker.exceptions import ResourceInUse
from labcloud.services.sagemaker.job_family import JobFamily
from labcloud.services.sagemaker.roles import check_assumable
from labcloud.services.sagemaker.training.lifecycle import MESSAGES, PRIMARY, STOP_TERMINALS, TRAINING_JOB
from labcloud.services.sagemaker.training.metrics import InvalidMetricRegex, compile_definitions
from labcloud.services.sagemaker.training.records import TrainingJob
from labcloud.services.sagemaker.training.worker import TrainingWorker

KIND = "training-jobs"
DEFAULT_MAX_RUNTIME = 86400
_NOT_COPIED = {"TrainingJobName", "Tags"}


def check_request(params: dict, ctx) -> tuple[dict, dict]:
    """The documented rules the model does not encode; returns (AlgorithmSpecification, StoppingCondition)
    with their defaults."""
    spec = dict(params["AlgorithmSpecification"])
    if not spec.get("TrainingImage"):
        raise ValidationException(
            "labcloud runs training images only: AlgorithmName (an algorithm resource or AWS Marketplace "
            "algorithm) is not available offline. Set AlgorithmSpecification.TrainingImage.")
    spec.setdefault("TrainingInputMode", "File")
    modes = {spec["TrainingInputMode"]} | {c.get("InputMode") for c in params.get("InputDataConfig") or []}
    if "Pipe" in modes:
        raise ValidationException("labcloud supports the File and FastFile input modes, not Pipe: set "
                                  "TrainingInputMode (or the channel's InputMode) to File.")
    resolve(spec["TrainingImage"], ctx.state_dir, ctx.account_id)
    try:
        compile_definitions(spec.get("MetricDefinitions"))  # refused now rather than in the job's log later
    except InvalidMetricRegex as err:
        raise ValidationException(str(err)) from None
    try:
        tagged_interruptions(params.get("Tags"))  # a mistyped value is refused, not read as no interruptions
    except InvalidSpotTag as err:
        raise ValidationException(str(err)) from None
    stopping = dict(params.get("StoppingCondition") or {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
    if params.get("EnableManagedSpotTraining"):
        max_wait = stopping.get("MaxWaitTimeInSeconds")
        if max_wait is None or max_wait < stopping["MaxRuntimeInSeconds"]:
            raise ValidationException("Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
                                      "or equal to MaxRuntimeInSeconds")
    return spec, stopping


def new_description(params: dict, arn: str, spec: dict, stopping: dict) -> dict:
    now = utc_now()
    job = {k: copy.deepcopy(v) for k, v in params.items() if k not in _NOT_COPIED and v is not None}
    job.update({
        "TrainingJobName": params["TrainingJobName"], "TrainingJobArn": arn, "AlgorithmSpecification": spec,
        "StoppingCondition": stopping, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting",
        "CreationTime": now, "LastModifiedTime": now,
        "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": now, "StatusMessage": MESSAGES["Starting"]}],
        "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(params.get("EnableInterContainerTrafficEncryption", False)),
        "EnableManagedSpotTraining": bool(params.get("EnableManagedSpotTraining", False)),
    })
    return job


def expected_model_uri(job: dict) -> str:
    """<S3OutputPath>/<job>/output/model.tar.gz, as SageMaker names a job's model."""
    return "/".join([job["OutputDataConfig"]["S3OutputPath"].rstrip("/"), job["TrainingJobName"], "output",
                     "model.tar.gz"])


class TrainingJobs(JobFamily):
    KIND = KIND
    RECORD = TrainingJob

    # -- life of the family ----------------------------------------------------------------------------
    def start(self) -> None:
        # Pay one-time costs (boto3 clients, the mount probe) now rather than in the first job's Starting.
        threading.Thread(target=self._warm_up, name="training-warm-up", daemon=True).start()
        self.load()
        for name, job in self.jobs.items():
            if job.status in ("Stopping", "InProgress"):
                self._count_crashed_attempt(name)
            if job.status == "Stopping":
                self.finish(name, job.run.stop_reason or "Stopped")
            elif job.status == "InProgress":
                checkpoint = job.description.get("CheckpointConfig")
                how = (f"from its last checkpoint in {checkpoint['S3Uri']}" if checkpoint
                       else "from the beginning (the job has no CheckpointConfig)")
                self.transition(name, "Restarting", f"labcloud restarted while the job ran; restarting the job {how}")
                self.workers.launch(TrainingWorker(self, name))

    def _warm_up(self) -> None:
        isolation.private_mounts_available()
        for service in ("s3", "logs", "cloudwatch"):
            self.ctx.client(service)

    def status(self) -> dict:
        with self.lock:
            return {"training_jobs_in_progress": sorted(n for n, j in self.jobs.items()
                                                        if j.status in ("InProgress", "Stopping"))}

    # -- for the worker --------------------------------------------------------------------------------
    def add_container_seconds(self, name: str, seconds: float) -> None:
        """An attempt ended after `seconds`: they count in TrainingTimeInSeconds, its heartbeat is done."""
        with self.lock:
            run = self.jobs[name].run
            run.container_seconds += seconds
            run.attempt_seconds = 0.0
        self.save(name)

    def _count_crashed_attempt(self, name: str) -> None:
        """The attempt that ran when labcloud was killed counts as far as its last heartbeat."""
        with self.lock:
            run = self.jobs[name].run
            seconds, run.attempt_seconds = run.attempt_seconds, 0.0
            run.container_seconds += seconds
        if seconds:
            self.save(name)

    def set_model_artifacts(self, name: str, uri: str) -> None:
        with self.lock:
            self.jobs[name].description["ModelArtifacts"] = {"S3ModelArtifacts": uri}
        self.save(name)

    def set_final_metrics(self, name: str, metrics: list[dict]) -> None:
        """DescribeTrainingJob's FinalMetricDataList (the worker's MetricScanner), replacing what an earlier
        attempt set: the last value wins."""
        if not metrics:
            return  # AWS leaves the member out when no metric was seen
        with self.lock:
            self.jobs[name].description["FinalMetricDataList"] = copy.deepcopy(metrics)
        self.save(name)

    def transition(self, name: str, status: str, message: str | None = None) -> bool:
        """Move the job to secondary `status`. False when a stop got there first (the worker then stops)."""
        with self.lock:
            job = self.jobs[name].description
            current = job["SecondaryStatus"]
            if current == status:
                return True
            if job["TrainingJobStatus"] == "Stopping" and status not in STOP_TERMINALS | {"Failed"}:
                return False
            TRAINING_JOB.check(current, status)
            now = utc_now()
            transitions = job["SecondaryStatusTransitions"]
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = now
            transitions.append({"Status": status, "StartTime": now, "StatusMessage": message or MESSAGES.get(status, status)})
            job["SecondaryStatus"] = status
            changed = job["TrainingJobStatus"] != PRIMARY[status]
            job["TrainingJobStatus"] = PRIMARY[status]
            job["LastModifiedTime"] = now
            if status == "Downloading" and "TrainingStartTime" not in job:
                job["TrainingStartTime"] = now
            if changed and PRIMARY[status] not in ("Completed", "Failed", "Stopped"):
                self._state_changed(name)  # (an ending is published by finish(), with its times and reason)
        self.save(name)
        return True

    def _state_changed(self, name: str) -> None:
        """EventBridge's "SageMaker Training Job State Change": the job as DescribeTrainingJob gives it."""
        job = self.jobs[name].description
        self.ctx.events.publish_later("aws.sagemaker", "SageMaker Training Job State Change", job,
                                      [job["TrainingJobArn"]])

    def finish(self, name: str, status: str, failure: str | None = None) -> None:
        with self.lock:
            record = self.jobs[name]
            job = record.description
            if status in STOP_TERMINALS and job["SecondaryStatus"] != "Stopping":
                self.transition(name, "Stopping")
            if not self.transition(name, status):
                # A StopTrainingJob landed between the worker's last check and here: the stop wins.
                self.transition(name, record.run.stop_reason or "Stopped")
            now = job["LastModifiedTime"]
            job["SecondaryStatusTransitions"][-1]["EndTime"] = now
            job["TrainingEndTime"] = now
            if failure:
                job["FailureReason"] = failure
            # A member botocore's model requires (the SDK reads it even for a failed job): where the model
            # goes, whether or not the job got there.
            job.setdefault("ModelArtifacts", {"S3ModelArtifacts": expected_model_uri(job)})
            training = max(1, math.ceil(record.run.container_seconds))
            job["TrainingTimeInSeconds"] = training
            job["BillableTimeInSeconds"] = (max(1, math.ceil(training * self.ctx.settings.spot_price_ratio))
                                            if job.get("EnableManagedSpotTraining") else training)
            self._state_changed(name)
        self.save(name)

    # -- the API ---------------------------------------------------------------------------------------
    def create_training_job(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        arn = self.arn("training-job", name)
        spec, stopping = check_request(params, self.ctx)
        check_assumable(self.ctx, params["RoleArn"])
        job = TrainingJob(new_description(params, arn, spec, stopping), tags=list(params.get("Tags") or []))
        with self.lock:
            if name in self.jobs:
                existing = self.jobs[name].description["TrainingJobArn"]
                raise ResourceInUse("Training job names must be unique within an AWS account and region, and a "
                                    f"training job with this name already exists ({existing})")
            self.jobs[name] = job
        self.save(name)
        with self.lock:
            self._state_changed(name)  # InProgress
        self.workers.launch(TrainingWorker(self, name))
        return {"TrainingJobArn": arn}

    def _get(self, name: str) -> TrainingJob:
        job = self.jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def describe_training_job(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(params["TrainingJobName"]).description)

    def stop_training_job(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        with self.lock:
            job = self._get(name)
            if job.status != "InProgress":
                raise ValidationException("The request was rejected because the training job is in status "
                                          f"{job.status}.")
            job.run.stop_reason = "Stopped"
            self.transition(name, "Stopping")
            running = [w for w in self.workers.of(name) if w.alive]
        for worker in running:
            worker.stop()
        if not running:
            self.finish(name, "Stopped")
        return {}

    def list_training_jobs(self, params: dict) -> dict:
        with self.lock:
            jobs = [copy.deepcopy(j.description) for j in self.jobs.values()]
        return list_page(jobs, params, "ListTrainingJobs", name_key="TrainingJobName",
                         result_key="TrainingJobSummaries",
                         fields=["TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime",
                                 "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus"],
                         status_key="TrainingJobStatus")
