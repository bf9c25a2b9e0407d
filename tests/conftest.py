"""Fixtures shared by the test suite: a real labcloud server, started and stopped by the tests, and clients
on it. The helpers they use live in tests/support."""

from __future__ import annotations

import os

import pytest

from labcloud.client.environment import client_environment
from tests.support.processes import alive, descendants, port_open
from tests.support.server import FAST_SETTINGS, LabcloudProcess


@pytest.fixture(scope="session")
def labcloud_server(tmp_path_factory):
    """One labcloud for the whole test session; the client environment points at it meanwhile."""
    server = LabcloudProcess.start(tmp_path_factory.mktemp("labcloud") / "state", env=FAST_SETTINGS)
    saved = dict(os.environ)
    os.environ.update(client_environment(server.url))
    try:
        yield server
    finally:
        os.environ.clear()
        os.environ.update(saved)
        children = descendants(server.process.pid)
        code = server.stop()
        assert code == 0, f"labcloud exited with {code}:\n{server.log()}"
        left = [pid for pid in children if alive(pid)]
        assert not left, f"processes left behind by labcloud: {left}"
        assert not port_open(server.port), f"port {server.port} still open after labcloud stopped"


@pytest.fixture(scope="session")
def sagemaker_session(labcloud_server):
    import labcloud

    return labcloud.session()


@pytest.fixture(scope="session")
def pipeline_session(labcloud_server):
    """The SDK's PipelineSession on labcloud: step arguments are recorded, not run, until an execution starts."""
    import boto3
    from sagemaker.workflow.pipeline_context import PipelineSession

    from labcloud.core.constants import DEFAULT_BUCKET, REGION

    return PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=DEFAULT_BUCKET)


# boto3 clients on the session's labcloud, for tests that speak the API directly.
@pytest.fixture(scope="session")
def sm(labcloud_server):
    import boto3

    return boto3.client("sagemaker")


@pytest.fixture(scope="session")
def s3(labcloud_server):
    import boto3

    return boto3.client("s3")


@pytest.fixture(scope="session")
def runtime(labcloud_server):
    import boto3

    return boto3.client("sagemaker-runtime")


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    """start(**LabServer options) -> a labcloud served from this process (state in tmp_path/state unless
    state_dir=None), with this process's clients pointed at it; every server it started stops after the test."""
    from labcloud.server.lab_server import LabServer  # the server's imports only for the tests that use it

    servers = []

    def start(**options):
        options.setdefault("state_dir", tmp_path / "state")
        server = LabServer(port=0, **options).start_in_thread()
        servers.append(server)
        for key, value in client_environment(server.url).items():
            monkeypatch.setenv(key, value)
        return server

    yield start
    for server in servers:
        server.stop()
