"""Batch transform in this process: how input is cut into requests and put back together, and stopping a job
versus stopping the server (stand-in containers: no model server starts)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from labcloud.services.sagemaker.hosting.models import Models
from labcloud.services.sagemaker.transform import jobs as transform_module
from labcloud.services.sagemaker.transform.batching import JobFailed, assemble, batches, split_records
from labcloud.services.sagemaker.transform.jobs import JobStopped, TransformJobs, TransformWorker
from tests.support.families import sagemaker_store, unit_context


def test_multirecord_packs_lines_up_to_the_payload_limit():
    records = split_records(b"1,2\n3,4\n\n5,6", "Line")
    assert records == [b"1,2\n", b"3,4\n", b"5,6"]
    assert batches(records, "MultiRecord", 8, "Line") == [b"1,2\n3,4\n", b"5,6\n"]
    assert batches(records, "SingleRecord", 8, "Line") == [b"1,2\n", b"3,4\n", b"5,6\n"]
    assert batches([b"whole object"], "SingleRecord", 100, "None") == [b"whole object"]
    with pytest.raises(JobFailed, match="MaxPayloadInMB"):
        batches([b"x" * 10], "MultiRecord", 5, "Line")


def test_assemble_with_line_puts_one_response_per_line():
    assert assemble([b"1", b"2\n"], "Line") == b"1\n2\n"
    assert assemble([b"1", b"2"], "None") == b"12"


# ---- stopping a job versus stopping the server (stand-in containers: no model server starts) ----

class StandInContainer:
    hostname = "primary"
    pid = 0

    def __init__(self, healthy: bool):
        self.healthy = healthy
        self.running = True

    def ping(self) -> bool:
        return self.healthy

    def failure_text(self) -> str:
        return ""

    def signal_stop(self) -> None:
        self.running = False

    def wait_stopped(self, grace: float = 0) -> None:
        pass


def stand_in_jobs(tmp_path, monkeypatch, healthy: bool):
    """A TransformJobs family whose instances are stand-ins; returns it and the list of their containers."""
    started = []

    class StandInInstance:
        def __init__(self, prepared, log_group, stream_prefix, shipper):
            self.containers = [StandInContainer(healthy)]
            self.pids = []
            started.extend(self.containers)

    monkeypatch.setattr(transform_module, "prepare_containers", lambda s3, specs, root: [])
    monkeypatch.setattr(transform_module, "ServingInstance", StandInInstance)
    ctx = unit_context(tmp_path, client=lambda service: None, log_shipper=SimpleNamespace(flush=lambda: None))
    store = sagemaker_store(tmp_path)
    models = Models(ctx, store)
    models.start()
    models.create_model({"ModelName": "m", "PrimaryContainer": {"Image": "img"}})
    jobs = TransformJobs(ctx, store, models)
    jobs.start()
    jobs.create_transform_job({
        "TransformJobName": "job", "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/out/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}})
    return jobs, started


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_stop_transform_job_is_heard_while_the_containers_start(tmp_path, monkeypatch):
    jobs, started = stand_in_jobs(tmp_path, monkeypatch, healthy=False)  # the model never finishes loading
    wait_for(lambda: started)
    jobs.stop_transform_job({"TransformJobName": "job"})
    jobs.workers.get("job").join(timeout=10)  # the health wait would otherwise last 600 s
    assert not jobs.workers.get("job").alive
    assert jobs.describe_transform_job({"TransformJobName": "job"})["TransformJobStatus"] == "Stopped"
    assert not any(c.running for c in started)


def test_a_server_stop_leaves_a_running_job_in_progress_to_be_resumed(tmp_path, monkeypatch):
    in_transform = threading.Event()

    def transform_until_stopped(self, job):
        in_transform.set()
        self.stop_requested.wait(10)
        raise JobStopped()

    monkeypatch.setattr(TransformWorker, "_transform_all", transform_until_stopped)
    jobs, started = stand_in_jobs(tmp_path, monkeypatch, healthy=True)
    assert in_transform.wait(10)
    jobs.ctx.shutting_down.set()
    jobs.shutdown()
    assert not jobs.workers.get("job").alive
    assert sagemaker_store(tmp_path).load_all("transform-jobs")["job"]["TransformJobStatus"] == "InProgress"
    assert not any(c.running for c in started)  # its containers stop all the same
