"""Batch transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob.

A job starts the model's containers (all of a pipeline's, on every instance), sends each S3 input object
through them in one or more requests, writes `<object>.out` under S3OutputPath, then stops them:

    InProgress -> Completed | Failed (+ FailureReason) | Stopping -> Stopped

    SplitType None         the whole object is one request (at most MaxPayloadInMB)
    SplitType Line         records are lines; BatchStrategy SingleRecord sends one per request,
                           MultiRecord packs as many as fit in MaxPayloadInMB
    AssembleWith Line      responses joined one per line; None: concatenated as they are
"""

from __future__ import annotations

import threading

from labcloud.core.errors import ResourceInUse, ValidationException
from labcloud.runtime.s3_transfer import list_keys, split_s3_uri
from labcloud.runtime.serving.containers import (ContainerError, ContainerUnavailable, ServingInstance,
                                      container_specs, prepare_containers, stop_all, wait_until_healthy)
from labcloud.services.sagemaker.family import ResourceFamily, utc_now
from labcloud.services.sagemaker.hosting.family import not_found
from labcloud.protocols.pagination import list_page
from labcloud.protocols.validation import require

LOG_GROUP = "/aws/sagemaker/TransformJobs"
DEFAULT_MAX_PAYLOAD_MB = 6
STARTUP_TIMEOUT_SECONDS = 600
_ACTIVE = ("InProgress", "Stopping")


class JobStopped(Exception):
    pass


class JobFailed(Exception):
    pass


def split_records(data: bytes, split_type: str) -> list[bytes]:
    if split_type == "Line":
        return [line for line in data.splitlines(keepends=True) if line.strip()]
    if split_type in (None, "None"):
        return [data]
    raise JobFailed(f"SplitType {split_type} is not supported by labcloud; use None or Line.")


def batches(records: list[bytes], strategy: str, max_bytes: int, split_type: str) -> list[bytes]:
    """Requests to send: one per record (SingleRecord) or records packed up to max_bytes (MultiRecord)."""
    requests = []
    for record in records:
        if len(record) > max_bytes:
            raise JobFailed(f"A record of {len(record)} bytes is larger than MaxPayloadInMB "
                            f"({max_bytes // (1024 * 1024)} MB). Split the input (SplitType Line) or raise "
                            "MaxPayloadInMB.")
    if strategy != "MultiRecord" or split_type in (None, "None"):
        return [r if r.endswith(b"\n") or split_type in (None, "None") else r + b"\n" for r in records]
    current = b""
    for record in records:
        record = record if record.endswith(b"\n") else record + b"\n"
        if current and len(current) + len(record) > max_bytes:
            requests.append(current)
            current = b""
        current += record
    if current:
        requests.append(current)
    return requests


def assemble(outputs: list[bytes], assemble_with: str | None) -> bytes:
    if assemble_with == "Line":
        return b"".join(o if o.endswith(b"\n") else o + b"\n" for o in outputs)
    return b"".join(outputs)


class TransformJobs(ResourceFamily):
    def __init__(self, ctx, backend):
        super().__init__(ctx, backend)
        self.jobs: dict[str, dict] = {}
        self._stop: dict[str, threading.Event] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._instances: dict[str, list[ServingInstance]] = {}

    def start(self) -> None:
        self.jobs = self.ctx.store.load_all("transform-jobs")
        for name, record in self.jobs.items():
            if record["TransformJobStatus"] == "Stopping":
                self._finish(name, "Stopped")
            elif record["TransformJobStatus"] == "InProgress":
                self._launch(name)  # outputs are whole objects, so running it again is safe

    def shutdown(self) -> None:
        for event in self._stop.values():
            event.set()
        for worker in list(self._workers.values()):
            worker.join(timeout=30)

    def status(self) -> dict:
        with self.lock:
            return {"transform_jobs_in_progress": [n for n, r in self.jobs.items()
                                                   if r["TransformJobStatus"] in _ACTIVE],
                    "transform_job_processes": {n: [p for i in insts for p in i.pids]
                                                for n, insts in self._instances.items()}}

    # ---- operations ----

    def create_transform_job(self, params: dict) -> dict:
        name = params["TransformJobName"]
        hosting = self.backend.family("Hosting")
        if hosting is None or params["ModelName"] not in hosting.models:
            raise not_found("model", self.ctx.sagemaker_arn("model", params["ModelName"]))
        source = params["TransformInput"]["DataSource"].get("S3DataSource")
        require(source is not None, "TransformInput.DataSource must have an S3DataSource.")
        require(source["S3DataType"] == "S3Prefix",
                f"S3DataType {source['S3DataType']} is not supported by labcloud's batch transform; use S3Prefix.")
        require(params["TransformOutput"]["S3OutputPath"].startswith("s3://"),
                "TransformOutput.S3OutputPath must be an S3 URI (s3://bucket/prefix).")
        strategy = params.get("BatchStrategy")
        split = params["TransformInput"].get("SplitType", "None")
        require(not (strategy == "MultiRecord" and split == "None"),
                "BatchStrategy MultiRecord needs a SplitType (Line) to cut the input into records.")
        with self.lock:
            if name in self.jobs:
                raise ResourceInUse("Job name must be unique within an AWS account and region, and a job with "
                                    f"this name already exists ({self.ctx.sagemaker_arn('transform-job', name)})")
            record = {"TransformJobName": name, "TransformJobArn": self.ctx.sagemaker_arn("transform-job", name),
                      "TransformJobStatus": "InProgress", "ModelName": params["ModelName"],
                      "MaxPayloadInMB": params.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB),
                      "TransformInput": {"SplitType": "None", "CompressionType": "None", **params["TransformInput"]},
                      "TransformOutput": {"AssembleWith": "None", **params["TransformOutput"]},
                      "TransformResources": params["TransformResources"], "CreationTime": utc_now()}
            for key in ("MaxConcurrentTransforms", "BatchStrategy", "Environment", "DataProcessing",
                        "ModelClientConfig", "ExperimentConfig"):
                if params.get(key) is not None:
                    record[key] = params[key]
            self.jobs[name] = record
            self.ctx.store.save("transform-jobs", name, record)
        self._launch(name)
        return {"TransformJobArn": record["TransformJobArn"]}

    def describe_transform_job(self, params: dict) -> dict:
        with self.lock:
            return dict(self._job(params["TransformJobName"]))

    def _job(self, name: str) -> dict:
        if name not in self.jobs:
            raise ValidationException(f"Could not find requested job with name {name}")
        return self.jobs[name]

    def list_transform_jobs(self, params: dict) -> dict:
        with self.lock:
            records = list(self.jobs.values())
        return list_page(records, params, "ListTransformJobs", name_key="TransformJobName",
                         result_key="TransformJobSummaries",
                         fields=["TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime",
                                 "LastModifiedTime", "TransformJobStatus", "FailureReason"],
                         status_key="TransformJobStatus", default_max=100)

    def stop_transform_job(self, params: dict) -> dict:
        name = params["TransformJobName"]
        with self.lock:
            record = self._job(name)
            if record["TransformJobStatus"] != "InProgress":
                raise ValidationException(f"The transform job {name} is {record['TransformJobStatus']}; only a job "
                                          "that is InProgress can be stopped.")
            self._update(name, TransformJobStatus="Stopping")
            event = self._stop.get(name)
        if event is not None:
            event.set()
        return {}

    # ---- running a job ----

    def _update(self, name: str, **fields) -> None:
        with self.lock:
            record = self.jobs[name]
            record.update(fields)
            record["LastModifiedTime"] = utc_now()
            self.ctx.store.save("transform-jobs", name, record)

    def _finish(self, name: str, status: str, reason: str | None = None) -> None:
        fields = {"TransformJobStatus": status, "TransformEndTime": utc_now()}
        if reason:
            fields["FailureReason"] = reason[-1024:]
        self._update(name, **fields)

    def _launch(self, name: str) -> None:
        self._stop[name] = threading.Event()
        worker = threading.Thread(target=self._run, args=(name,), name=f"transform-{name}", daemon=True)
        self._workers[name] = worker
        worker.start()

    def _run(self, name: str) -> None:
        stop = self._stop[name]
        instances: list[ServingInstance] = []
        try:
            with self.lock:
                job = dict(self.jobs[name])
            self._update(name, TransformStartTime=utc_now())
            instances = self._start_containers(name, job, stop)
            self._transform_all(name, job, instances, stop)
        except (JobFailed, ContainerError, ContainerUnavailable, JobStopped, Exception) as err:
            if self._interrupted_by_shutdown(name):
                return  # the record stays InProgress: the next start runs the job again
            if stop.is_set():
                self._finish(name, "Stopped")
            else:
                self._finish(name, "Failed", _reason(err))
        else:
            self._finish(name, "Stopped" if self._stop_requested(name) else "Completed")
        finally:
            stop_all([c for i in instances for c in i.containers])
            with self.lock:
                self._instances.pop(name, None)
            self.ctx.log_shipper.flush()

    def _stop_requested(self, name: str) -> bool:
        """Did StopTransformJob ask for the stop (the record says Stopping), rather than a server stop?"""
        with self.lock:
            return self.jobs[name]["TransformJobStatus"] == "Stopping"

    def _interrupted_by_shutdown(self, name: str) -> bool:
        return self.ctx.shutting_down.is_set() and not self._stop_requested(name)

    def _start_containers(self, name: str, job: dict, stop: threading.Event) -> list[ServingInstance]:
        hosting = self.backend.family("Hosting")
        model = hosting.models.get(job["ModelName"])
        if model is None:
            raise JobFailed(f"The model {job['ModelName']} was deleted before the job started.")
        specs = container_specs(model)
        for spec in specs:
            spec.environment.update(job.get("Environment") or {})
        prepared = prepare_containers(self.ctx.client("s3"), specs, self.ctx.work_dir / "transform-jobs" / name)
        instances: list[ServingInstance] = []
        with self.lock:
            self._instances[name] = instances
        try:
            for _ in range(int(job["TransformResources"].get("InstanceCount", 1))):
                instances.append(ServingInstance(prepared, LOG_GROUP, name, self.ctx.log_shipper))
            wait_until_healthy([c for i in instances for c in i.containers], STARTUP_TIMEOUT_SECONDS, stop)
        except Exception:
            stop_all([c for i in instances for c in i.containers])
            raise
        return instances

    def _transform_all(self, name: str, job: dict, instances: list[ServingInstance], stop: threading.Event):
        s3 = self.ctx.client("s3")
        source = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = split_s3_uri(source)
        keys = [o["Key"] for o in list_keys(s3, bucket, prefix) if not o["Key"].endswith("/")]
        if not keys:
            raise JobFailed(f"No S3 objects found under the input {source}. Upload the data there or fix "
                            "TransformInput.DataSource.S3DataSource.S3Uri.")
        out_bucket, out_prefix = split_s3_uri(job["TransformOutput"]["S3OutputPath"])
        split = job["TransformInput"].get("SplitType", "None")
        strategy = job.get("BatchStrategy", "MultiRecord" if split != "None" else "SingleRecord")
        max_bytes = int(job.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024 or 100 * 1024 * 1024
        content_type = job["TransformInput"].get("ContentType")
        accept = job["TransformOutput"].get("Accept")
        for index, key in enumerate(keys):
            instance = instances[index % len(instances)]
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            outputs = []
            for payload in batches(split_records(data, split), strategy, max_bytes, split):
                if stop.is_set():
                    raise JobStopped()
                try:
                    out, _ = instance.invoke(payload, content_type, accept)
                except ContainerError as err:
                    raise JobFailed(f"ClientError: See job logs for more information. The container "
                                    f"{err.container.hostname} answered {err.status} for s3://{bucket}/{key}: "
                                    f"{err.message}") from None
                outputs.append(out)
            out_key = "/".join(p for p in (out_prefix.rstrip("/"), _relative(key, prefix) + ".out") if p)
            s3.put_object(Bucket=out_bucket, Key=out_key,
                          Body=assemble(outputs, job["TransformOutput"].get("AssembleWith")))


def _relative(key: str, prefix: str) -> str:
    """The object's name below the input prefix (s3://b/in + in/x/a.csv -> x/a.csv), else its base name."""
    folder = prefix.rstrip("/") + "/"
    return key[len(folder):] if prefix and key.startswith(folder) else key.rsplit("/", 1)[-1]


def _reason(err: Exception) -> str:
    if isinstance(err, (JobFailed,)):
        return str(err)
    if isinstance(err, ContainerUnavailable):
        return f"InternalServerError: {err}"
    return f"{type(err).__name__}: {err}"
