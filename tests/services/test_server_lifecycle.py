"""The `labcloud` command: up, status, down; SIGTERM stops the server and every job it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

import labcloud
from tests.support.processes import alive, descendants, port_open
from tests.support.server import FAST_SETTINGS, LabcloudProcess
from labcloud.platform.ports import free_port
from labcloud.client.environment import client_environment

BUCKET = "sagemaker-us-east-1-123456789012"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sleeper:1"


def labcloud_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labcloud", *args], capture_output=True, text=True, timeout=60)


def _listening_addresses(port: int) -> set[str]:
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _, state = line.split()[1:4]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                addresses.add(address)
    return addresses


def test_up_status_down_on_a_free_port_bound_to_loopback(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--port", str(port),
                               "--state-dir", str(tmp_path / "state")],
                              stdout=open(tmp_path / "up.log", "w"), stderr=subprocess.STDOUT)
    try:
        from labcloud.client.embedded import wait_until_ready

        wait_until_ready(f"http://127.0.0.1:{port}", process=server)
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        status = labcloud_cli("status", "--port", str(port))
        assert status.returncode == 0 and f"on http://127.0.0.1:{port}" in status.stdout
        assert "training jobs in progress: 0" in status.stdout
        down = labcloud_cli("down", "--port", str(port))
        assert down.returncode == 0, down.stderr
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not port_open(port)
    assert labcloud_cli("status", "--port", str(port)).returncode == 3


def test_sigterm_stops_the_server_and_every_job_process(tmp_path, monkeypatch):
    registry = tmp_path / "images.json"
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text("import time\nprint('sleeping', flush=True)\nwhile True:\n    time.sleep(0.1)\n")
    registry.write_text(json.dumps({"sleeper": ["{python}", str(sleeper)]}))
    server = LabcloudProcess.start(tmp_path / "state", env={**FAST_SETTINGS, "LABCLOUD_IMAGES": str(registry)})
    for key, value in client_environment(server.url).items():
        monkeypatch.setenv(key, value)
    try:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        sm = boto3.client("sagemaker")
        for name in ("sleeper-1", "sleeper-2"):
            sm.create_training_job(
                TrainingJobName=name, RoleArn=labcloud.ROLE_ARN,
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
                ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(sm.describe_training_job(TrainingJobName=n)["SecondaryStatus"] == "Training"
                   for n in ("sleeper-1", "sleeper-2")):
                break
            time.sleep(0.05)
        status = labcloud_cli("status", "--port", str(server.port))
        assert "training jobs in progress: 2 (sleeper-1, sleeper-2)" in status.stdout
        children = descendants(server.process.pid)
        assert len(children) >= 2
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.log()
    assert not [pid for pid in children if alive(pid)]
    assert not port_open(server.port)


def test_localstack_client_sessions_work_against_it(labcloud_server):
    localstack_session = pytest.importorskip("localstack_client.session")
    assert os.environ["AWS_ENDPOINT_URL"] == labcloud_server.url
    session = localstack_session.Session(**labcloud.credentials())
    s3 = session.client("s3")
    s3.create_bucket(Bucket="localstack-client-bucket")
    assert "localstack-client-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "TrainingJobSummaries" in session.client("sagemaker").list_training_jobs()


def test_the_state_directory_is_private_to_its_owner(in_process, tmp_path):
    state = tmp_path / "shared-looking"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    in_process(state_dir=state)
    assert state.stat().st_mode & 0o777 == 0o700
