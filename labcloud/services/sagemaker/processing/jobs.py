"""Processing jobs: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs, StopProcessingJob.

Jobs really run (a ProcessingWorker each: worker.py, and labcloud/runtime/processing/). Records are saved
at every change. A job in progress when the server died runs again from the beginning when it starts
again (its outputs go to S3 only when it ends, so a half-run job left nothing behind); a server that
stops normally ends the job processes and leaves the records in progress, for the next start to resume.
"""

from __future__ import annotations

import copy

from labcloud.core.clock import utc_now
from labcloud.core.errors import ValidationException
from labcloud.protocols.pagination import list_page
from labcloud.runtime.images import resolve
from labcloud.runtime.processing.container import valid_local_path
from labcloud.services.sagemaker.exceptions import ResourceInUse
from labcloud.services.sagemaker.job_family import JobFamily
from labcloud.services.sagemaker.processing.lifecycle import ACTIVE, PROCESSING_JOB
from labcloud.services.sagemaker.processing.records import ProcessingJob
from labcloud.services.sagemaker.processing.worker import ProcessingWorker

KIND = "processing-jobs"
_NOT_COPIED = {"ProcessingJobName", "Tags"}
_LIST_FIELDS = ["ProcessingJobName", "ProcessingJobArn", "CreationTime", "ProcessingEndTime", "LastModifiedTime",
                "ProcessingJobStatus", "FailureReason", "ExitMessage"]


def _check_paths(kind: str, entries: list[dict], key: str, name_key: str) -> None:
    seen_names, seen_paths = set(), set()
    for entry in entries:
        name = entry[name_key]
        if name in seen_names:
            raise ValidationException(f"{kind} names must be unique within a processing job: {name} appears "
                                      f"more than once.")
        seen_names.add(name)
        spec = entry.get(key)
        if not spec:
            continue
        path = spec["LocalPath"]
        if not valid_local_path(path):
            raise ValidationException(
                f"The LocalPath {path} of the {kind.lower()} {name} is not valid: it must be an absolute path "
                f"below /opt/ml/processing/, e.g. /opt/ml/processing/{name}.")
        if path.rstrip("/") in seen_paths:
            raise ValidationException(f"The LocalPath {path} is used by two {kind.lower()}s; give each its own.")
        seen_paths.add(path.rstrip("/"))


def check_request(params: dict, ctx) -> None:
    """The rules the botocore model does not encode, and what labcloud cannot do offline."""
    inputs = params.get("ProcessingInputs") or []
    outputs = (params.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    _check_paths("Input", inputs, "S3Input", "InputName")
    _check_paths("Output", outputs, "S3Output", "OutputName")
    for entry in inputs:
        if entry.get("DatasetDefinition"):
            raise ValidationException(
                f"labcloud reads processing inputs from S3 only: the input {entry['InputName']} has a "
                f"DatasetDefinition (Athena or Redshift), which is not available offline. Use an S3Input.")
        if (entry.get("S3Input") or {}).get("S3InputMode") == "Pipe":
            raise ValidationException(f"labcloud supports the File input mode, not Pipe: set S3InputMode of the "
                                      f"input {entry['InputName']} to File.")
    for entry in outputs:
        if entry.get("FeatureStoreOutput"):
            raise ValidationException(f"labcloud writes processing outputs to S3 only: the output "
                                      f"{entry['OutputName']} has a FeatureStoreOutput. Use an S3Output.")
    app = params["AppSpecification"]
    image = resolve(app["ImageUri"], ctx.state_dir, ctx.account_id)
    if not app.get("ContainerEntrypoint") and image.kind != "custom":
        raise ValidationException(
            f"The image {app['ImageUri']} has no entrypoint labcloud can run on its own: set "
            f"AppSpecification.ContainerEntrypoint (the SDK's ScriptProcessor sets it from command=).")


def new_description(params: dict, arn: str) -> dict:
    now = utc_now()
    job = {k: copy.deepcopy(v) for k, v in params.items() if k not in _NOT_COPIED and v is not None}
    job.update({"ProcessingJobName": params["ProcessingJobName"], "ProcessingJobArn": arn,
                "ProcessingJobStatus": "InProgress", "CreationTime": now, "LastModifiedTime": now})
    return job


class ProcessingJobs(JobFamily):
    KIND = KIND
    RECORD = ProcessingJob

    # -- life of the family ----------------------------------------------------------------------------
    def start(self) -> None:
        self.load()
        for name, job in self.jobs.items():
            if job.status == "Stopping":
                self.finish(name, "Stopped")
            elif job.status == "InProgress":
                self.workers.launch(ProcessingWorker(self, name, restarted=True))

    def status(self) -> dict:
        with self.lock:
            return {"processing_jobs_in_progress": sorted(n for n, j in self.jobs.items() if j.status in ACTIVE)}

    # -- for the worker --------------------------------------------------------------------------------
    def mark_started(self, name: str) -> None:
        with self.lock:
            job = self.jobs[name].description
            now = utc_now()
            job.setdefault("ProcessingStartTime", now)
            job["LastModifiedTime"] = now
        self.save(name)

    def begin_stop(self, name: str, reason: str) -> bool:
        """InProgress -> Stopping for `reason` ("StopProcessingJob" or "MaxRuntimeInSeconds"). False when the
        job is no longer in progress."""
        with self.lock:
            record = self.jobs[name]
            if record.status != "InProgress":
                return False
            record.run.stop_reason = reason
            self._move(record, "Stopping")
        self.save(name)
        return True

    def finish(self, name: str, status: str, failure: str | None = None, exit_message: str | None = None) -> None:
        """End the job. A stop that began first wins over a Completed or Failed the worker reached after it."""
        with self.lock:
            record = self.jobs[name]
            if record.status == "Stopping":
                status = "Stopped"
            if status == "Stopped":
                failure = self._stop_failure(record)
            if record.status not in ACTIVE:
                return
            job = record.description
            self._move(record, status)
            job["ProcessingEndTime"] = job["LastModifiedTime"]
            if failure:
                job["FailureReason"] = failure
            if exit_message:
                job["ExitMessage"] = exit_message
        self.save(name)

    @staticmethod
    def _stop_failure(record: ProcessingJob) -> str | None:
        if record.run.stop_reason == "MaxRuntimeInSeconds":
            limit = record.description["StoppingCondition"]["MaxRuntimeInSeconds"]
            return (f"The processing job ran longer than its StoppingCondition.MaxRuntimeInSeconds ({limit} s) "
                    f"and was stopped. Raise the limit (max_runtime_in_seconds in the SDK) or make the job faster.")
        return None

    @staticmethod
    def _move(record: ProcessingJob, status: str) -> None:
        PROCESSING_JOB.check(record.status, status)
        record.description["ProcessingJobStatus"] = status
        record.description["LastModifiedTime"] = utc_now()

    # -- the API ---------------------------------------------------------------------------------------
    def create_processing_job(self, params: dict) -> dict:
        name = params["ProcessingJobName"]
        arn = self.arn("processing-job", name)
        check_request(params, self.ctx)
        job = ProcessingJob(new_description(params, arn), tags=list(params.get("Tags") or []))
        with self.lock:
            if name in self.jobs:
                raise ResourceInUse(f"Job with name {name} already exists "
                                    f"({self.jobs[name].description['ProcessingJobArn']}); processing job names "
                                    f"must be unique within an AWS account and region.")
            self.jobs[name] = job
        self.save(name)
        self.workers.launch(ProcessingWorker(self, name))
        return {"ProcessingJobArn": arn}

    def _get(self, name: str) -> ProcessingJob:
        job = self.jobs.get(name)
        if job is None:
            raise ValidationException(f"Could not find requested job with name {name}")
        return job

    def describe_processing_job(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(params["ProcessingJobName"]).description)

    def stop_processing_job(self, params: dict) -> dict:
        name = params["ProcessingJobName"]
        with self.lock:
            job = self._get(name)
            if job.status != "InProgress":
                raise ValidationException(f"The request was rejected because the processing job is in status "
                                          f"{job.status}; only an InProgress job can be stopped.")
            self.begin_stop(name, "StopProcessingJob")
            running = [w for w in self.workers.of(name) if w.alive]
        for worker in running:
            worker.stop()
        if not running:
            self.finish(name, "Stopped")
        return {}

    def list_processing_jobs(self, params: dict) -> dict:
        with self.lock:
            jobs = [copy.deepcopy(j.description) for j in self.jobs.values()]
        return list_page(jobs, params, "ListProcessingJobs", name_key="ProcessingJobName",
                         result_key="ProcessingJobSummaries", fields=_LIST_FIELDS, status_key="ProcessingJobStatus")
