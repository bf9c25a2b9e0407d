"""Batch transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob.

A job (a TransformWorker) starts the model's containers (all of a pipeline's, on every instance), sends
each S3 input object through them in one or more requests (batching.py), writes `<object>.out` under
S3OutputPath, then stops them. Statuses follow lifecycle.TRANSFORM_JOB; records live in the store
('transform-jobs').
"""

from __future__ import annotations

import enum

from labcloud.core.clock import utc_now
from labcloud.core.constants import CONTAINER_STARTUP_TIMEOUT_SECONDS, failure_reason
from labcloud.core.errors import ValidationException
from labcloud.platform.background import Worker, Workers
from labcloud.protocols.pagination import list_page
from labcloud.protocols.validation import require
from labcloud.runtime.s3_transfer import list_keys, split_s3_uri
from labcloud.runtime.serving.containers import (ContainerError, ContainerUnavailable, ServingInstance,
                                                 container_specs, prepare_containers, stop_all,
                                                 wait_until_healthy)
from labcloud.services.sagemaker.exceptions import ResourceInUse
from labcloud.services.sagemaker.family import ResourceFamily
from labcloud.services.sagemaker.transform.batching import JobFailed, assemble, batches, output_key, split_records
from labcloud.services.sagemaker.transform.data_processing import DataProcessing, RecordError
from labcloud.services.sagemaker.transform.lifecycle import ACTIVE, TRANSFORM_JOB
from labcloud.services.sagemaker.transform.records import TransformJob

LOG_GROUP = "/aws/sagemaker/TransformJobs"
DEFAULT_MAX_PAYLOAD_MB = 6
WORKER_JOIN_SECONDS = 30
_COPIED = ("MaxConcurrentTransforms", "BatchStrategy", "Environment", "DataProcessing", "ModelClientConfig",
           "ExperimentConfig")


class JobStopped(Exception):
    pass


class Transformed(enum.Enum):
    """How a TransformWorker ended."""
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"
    SHUT_DOWN = "shut down"  # the server stopped: the job stays InProgress and runs again at the next start


class TransformJobs(ResourceFamily):
    def __init__(self, ctx, store, models):
        super().__init__(ctx, store)
        self.models = models
        self.jobs: dict[str, TransformJob] = {}
        self.instances: dict[str, list[ServingInstance]] = {}
        self.workers = Workers()

    def start(self) -> None:
        self.jobs = {n: TransformJob(d) for n, d in self.store.load_all("transform-jobs").items()}
        for name, job in self.jobs.items():
            if job.status == "Stopping":
                self.finish(name, "Stopped")
            elif job.status == "InProgress":
                self.workers.launch(TransformWorker(self, name))

    def shutdown(self) -> None:
        for name in self.workers.running():
            self.workers.stop(name)
        self.workers.shutdown(WORKER_JOIN_SECONDS)

    def status(self) -> dict:
        with self.lock:
            return {"transform_jobs_in_progress": [n for n, j in self.jobs.items() if j.status in ACTIVE],
                    "transform_job_processes": {n: [p for i in insts for p in i.pids]
                                                for n, insts in self.instances.items()}}

    # ---- the API ----

    def create_transform_job(self, params: dict) -> dict:
        name = params["TransformJobName"]
        self.models.model(params["ModelName"])
        _check_request(params)
        arn = self.arn("transform-job", name)
        record = {"TransformJobName": name, "TransformJobArn": arn,
                  "TransformJobStatus": "InProgress", "ModelName": params["ModelName"],
                  "MaxPayloadInMB": params.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB),
                  "TransformInput": {"SplitType": "None", "CompressionType": "None", **params["TransformInput"]},
                  "TransformOutput": {"AssembleWith": "None", **params["TransformOutput"]},
                  "TransformResources": params["TransformResources"], "CreationTime": utc_now()}
        record.update({key: params[key] for key in _COPIED if params.get(key) is not None})
        with self.lock:
            if name in self.jobs:
                raise ResourceInUse("Job name must be unique within an AWS account and region, and a job with "
                                    f"this name already exists ({arn})")
            self.jobs[name] = TransformJob(record)
            self.store.save("transform-jobs", name, record)
        self.workers.launch(TransformWorker(self, name))
        return {"TransformJobArn": arn}

    def describe_transform_job(self, params: dict) -> dict:
        with self.lock:
            return self._job(params["TransformJobName"]).snapshot()

    def _job(self, name: str) -> TransformJob:
        if name not in self.jobs:
            raise ValidationException(f"Could not find requested job with name {name}")
        return self.jobs[name]

    def list_transform_jobs(self, params: dict) -> dict:
        with self.lock:
            records = [j.snapshot() for j in self.jobs.values()]
        return list_page(records, params, "ListTransformJobs", name_key="TransformJobName",
                         result_key="TransformJobSummaries",
                         fields=["TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime",
                                 "LastModifiedTime", "TransformJobStatus", "FailureReason"],
                         status_key="TransformJobStatus", default_max=100)

    def stop_transform_job(self, params: dict) -> dict:
        name = params["TransformJobName"]
        with self.lock:
            job = self._job(name)
            if job.status != "InProgress":
                raise ValidationException(f"The transform job {name} is {job.status}; only a job "
                                          "that is InProgress can be stopped.")
            self.update(name, TransformJobStatus="Stopping")
        self.workers.stop(name)
        return {}

    # ---- for the worker ----

    def update(self, name: str, **fields) -> None:
        with self.lock:
            job = self.jobs[name]
            if "TransformJobStatus" in fields and fields["TransformJobStatus"] != job.status:
                TRANSFORM_JOB.check(job.status, fields["TransformJobStatus"])
            job.description.update(fields)
            job.description["LastModifiedTime"] = utc_now()
            self.store.save("transform-jobs", name, job.description)

    def finish(self, name: str, status: str, reason: str | None = None) -> None:
        fields = {"TransformJobStatus": status, "TransformEndTime": utc_now()}
        if reason:
            fields["FailureReason"] = failure_reason(reason)
        self.update(name, **fields)

    def snapshot(self, name: str) -> dict:
        with self.lock:
            return self.jobs[name].snapshot()

    def stopping(self, name: str) -> bool:
        """Did StopTransformJob ask for the stop (the record says Stopping), rather than a server stop?"""
        with self.lock:
            return self.jobs[name].status == "Stopping"


def _check_request(params: dict) -> None:
    source = params["TransformInput"]["DataSource"].get("S3DataSource")
    require(source is not None, "TransformInput.DataSource must have an S3DataSource.")
    require(source["S3DataType"] == "S3Prefix",
            f"S3DataType {source['S3DataType']} is not supported by labcloud's batch transform; use S3Prefix.")
    require(params["TransformOutput"]["S3OutputPath"].startswith("s3://"),
            "TransformOutput.S3OutputPath must be an S3 URI (s3://bucket/prefix).")
    split = params["TransformInput"].get("SplitType", "None")
    require(not (params.get("BatchStrategy") == "MultiRecord" and split == "None"),
            "BatchStrategy MultiRecord needs a SplitType (Line) to cut the input into records.")
    DataProcessing.of(params)  # a filter labcloud cannot read is refused now, naming it


class TransformWorker(Worker):
    def __init__(self, jobs: TransformJobs, name: str):
        super().__init__(jobs.ctx, name, "transform")
        self.jobs = jobs
        self.instances: list[ServingInstance] = []

    def run(self) -> Transformed:
        name = self.key
        try:
            job = self.jobs.snapshot(name)
            self.jobs.update(name, TransformStartTime=utc_now())
            self._start_containers(job)
            self._transform_all(job)
        except Exception as err:  # noqa: BLE001 - every way a job can end badly is said on the job
            if self.ctx.shutting_down.is_set() and not self.jobs.stopping(name):
                return Transformed.SHUT_DOWN  # the record stays InProgress: the next start runs it again
            if self.stop_requested.is_set():
                self.jobs.finish(name, "Stopped")
                return Transformed.STOPPED
            self.jobs.finish(name, "Failed", _reason(err))
            return Transformed.FAILED
        outcome = Transformed.STOPPED if self.jobs.stopping(name) else Transformed.COMPLETED
        self.jobs.finish(name, outcome.value)
        return outcome

    def finished(self) -> None:
        stop_all([c for i in self.instances for c in i.containers])
        with self.jobs.lock:
            self.jobs.instances.pop(self.key, None)
        self.ctx.log_shipper.flush()

    def _start_containers(self, job: dict) -> None:
        try:
            model = self.jobs.models.model(job["ModelName"])
        except ValidationException:
            raise JobFailed(f"The model {job['ModelName']} was deleted before the job started.") from None
        specs = container_specs(model)
        for spec in specs:
            spec.environment.update(job.get("Environment") or {})
        prepared = prepare_containers(self.ctx.client("s3"), specs, self.ctx.work_dir / "transform-jobs" / self.key)
        with self.jobs.lock:
            self.jobs.instances[self.key] = self.instances
        for _ in range(int(job["TransformResources"].get("InstanceCount", 1))):
            self.instances.append(ServingInstance(prepared, LOG_GROUP, self.key, self.ctx.log_shipper))
        wait_until_healthy([c for i in self.instances for c in i.containers], CONTAINER_STARTUP_TIMEOUT_SECONDS,
                           self.stop_requested)

    def _transform_all(self, job: dict) -> None:
        s3 = self.ctx.client("s3")
        source = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = split_s3_uri(source)
        keys = [o["Key"] for o in list_keys(s3, bucket, prefix) if not o["Key"].endswith("/")]
        if not keys:
            raise JobFailed(f"No S3 objects found under the input {source}. Upload the data there or fix "
                            "TransformInput.DataSource.S3DataSource.S3Uri.")
        out_bucket, out_prefix = split_s3_uri(job["TransformOutput"]["S3OutputPath"])
        for index, key in enumerate(keys):
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            outputs = self._send(job, self.instances[index % len(self.instances)], data, f"s3://{bucket}/{key}")
            s3.put_object(Bucket=out_bucket, Key=output_key(key, prefix, out_prefix),
                          Body=assemble(outputs, job["TransformOutput"].get("AssembleWith")))

    def _send(self, job: dict, instance: ServingInstance, data: bytes, uri: str) -> list[bytes]:
        """One input object through the containers, in as many requests as its batching makes."""
        split = job["TransformInput"].get("SplitType", "None")
        strategy = job.get("BatchStrategy", "MultiRecord" if split != "None" else "SingleRecord")
        max_bytes = int(job.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024 or 100 * 1024 * 1024
        content_type = job["TransformInput"].get("ContentType")
        accept = job["TransformOutput"].get("Accept")
        records = split_records(data, split)
        processing = DataProcessing.of(job)
        try:
            sent = [processing.model_input(r) for r in records] if processing else records
        except RecordError as err:
            raise JobFailed(f"ClientError: DataProcessing.InputFilter on {uri}: {err}") from None
        outputs = []
        for payload in batches(sent, strategy, max_bytes, split):
            if self.stop_requested.is_set():
                raise JobStopped()
            try:
                out, _ = instance.invoke(payload, content_type, accept)
            except ContainerError as err:
                raise JobFailed(f"ClientError: See job logs for more information. The container "
                                f"{err.container.hostname} answered {err.status} for {uri}: {err.message}") from None
            outputs.append(out)
        if processing is None or not processing.per_record:
            return outputs
        return _joined_and_filtered(processing, records, outputs, split, uri)


def _joined_and_filtered(processing: DataProcessing, records: list[bytes], outputs: list[bytes], split: str,
                         uri: str) -> list[bytes]:
    """Each input record's written line: its output, joined to the record and filtered (DataProcessing)."""
    if split in (None, "None"):
        answers = [b"".join(outputs)]
    else:
        answers = [line for out in outputs for line in out.splitlines() if line.strip()]
    if len(answers) != len(records):
        raise JobFailed(f"ClientError: DataProcessing needs one output record per input record, but the model "
                        f"answered {len(answers)} for the {len(records)} records of {uri}.")
    try:
        return [processing.written(record, answer) for record, answer in zip(records, answers)]
    except RecordError as err:
        raise JobFailed(f"ClientError: DataProcessing on {uri}: {err}") from None


def _reason(err: Exception) -> str:
    if isinstance(err, JobFailed):
        return str(err)
    if isinstance(err, ContainerUnavailable):
        return f"InternalServerError: {err}"
    return f"{type(err).__name__}: {err}"
