"""The model-server launcher: containers forked from a warm interpreter are still separate processes that
serve, report how they end, stop like any other, and never outlive labcloud."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest
from tests.support.processes import descendants
from tests.support.server import LabcloudProcess
from tests.support.hosting import (REGRESSOR_SCRIPT, ROLE, SCALER_SCRIPT, container, endpoint_processes,
                                   fitted_models, model_tarball, pid_alive, port_open, regressor_model_dir,
                                   upload)

from labcloud.platform.processes import terminate_group
from labcloud.runtime.serving import launcher as launcher_module
from labcloud.runtime.serving.launcher import LaunchedProcess, Launcher, LauncherUnavailable
from labcloud.platform.ports import free_port
from labcloud.runtime.serving.containers import ContainerConnection, ContainerProcess, wait_until_healthy

MODEL_SERVER = "labcloud.runtime.serving.model_server"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_gone(pids, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if pid_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_serving(port: int, process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            conn = ContainerConnection(port, timeout=5)
        except OSError:
            time.sleep(0.02)
            continue
        try:
            assert conn.exchange(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
            return
        finally:
            conn.close()
    raise AssertionError(f"nothing answered /ping on port {port}")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return regressor_model_dir(tmp_path_factory.mktemp("regressor"))


@pytest.fixture(scope="module")
def launcher():
    started = Launcher().start()
    assert started.wait_ready(120), "the launcher never finished preloading"
    yield started
    started.close()
    assert started.process.returncode == 0


def server_env(model_dir: Path, port: int, **extra) -> dict:
    return {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "SM_MODEL_DIR": str(model_dir),
            "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": str(model_dir / "code"), **extra}


def test_the_launcher_preloads_the_frameworks(launcher):
    assert {"numpy", "pandas", "sklearn", "joblib"} <= set(launcher.preloaded)
    assert "labcloud.runtime.serving.model_server" not in launcher.preloaded  # each child runs it as __main__
    # It forks from a single thread: native libraries were loaded without worker threads.
    assert os.listdir(f"/proc/{launcher.process.pid}/task") == [str(launcher.process.pid)]


def test_a_forked_container_is_its_own_process_serves_and_stops_on_sigterm(launcher, model_dir, tmp_path):
    port = free_port()
    child = launcher.spawn(MODEL_SERVER, server_env(model_dir, port), str(tmp_path))
    wait_serving(port, child)
    assert child.pid != launcher.process.pid and parent_of(child.pid) == launcher.process.pid
    assert os.getsid(child.pid) == child.pid and os.getpgid(child.pid) == child.pid  # own session and group
    assert os.readlink(f"/proc/{child.pid}/cwd") == str(tmp_path)
    conn = ContainerConnection(port, timeout=10)
    try:
        status, headers, body = conn.exchange(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAccept: text/csv\r\n"
            b"Content-Length: 11\r\n\r\n1,2,3\n4,5,6")
        assert status == 200 and headers["content-type"] == "text/csv" and len(body.split()) == 2
    finally:
        conn.close()
    assert terminate_group(child, 5) == 0  # the model server's SIGTERM handler exits cleanly
    output = child.stdout.read().decode()
    assert "listening on port" in output and "received SIGTERM" in output  # stdout and stderr, line by line
    assert wait_gone([child.pid]) == [] and not port_open(port)


PROBE = textwrap.dedent('''
    import os, sys
    import numpy as np
    print("marker", os.environ.get("LABCLOUD_MARKER"), "cwd", os.getcwd(), "path0", sys.path[0])
    print("name", __name__, "random", np.random.randint(1 << 30))
    print("to stderr", file=sys.stderr)
    sys.exit(3)
''')


def test_a_child_runs_like_python_dash_m_in_its_folder_with_its_environment(launcher, tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    outputs = []
    for _ in range(2):
        child = launcher.spawn("probe", {**os.environ, "LABCLOUD_MARKER": "only-in-this-child"}, str(tmp_path))
        assert child.wait(timeout=30) == 3
        outputs.append(child.stdout.read().decode().splitlines())
    first, second = outputs
    assert first[0] == f"marker only-in-this-child cwd {tmp_path} path0 {tmp_path}"
    assert first[1].startswith("name __main__ random ") and first[2] == "to stderr"
    assert first[1] != second[1]  # numpy is seeded afresh in every child, as in a new interpreter
    assert "LABCLOUD_MARKER" not in os.environ


def test_a_container_that_cannot_load_reports_its_exit_code_and_last_lines(launcher, tmp_path):
    child = launcher.spawn(MODEL_SERVER, {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(free_port()),
                                          "SM_MODEL_DIR": str(tmp_path)}, str(tmp_path))
    assert child.wait(timeout=30) == 1
    output = child.stdout.read().decode()
    assert "ERROR: the model could not be loaded" in output and "No model.joblib" in output


def test_a_killed_container_reports_the_signal_like_subprocess(launcher, model_dir, tmp_path):
    port = free_port()
    child = launcher.spawn(MODEL_SERVER, server_env(model_dir, port), str(tmp_path))
    wait_serving(port, child)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    with pytest.raises(subprocess.TimeoutExpired):
        LaunchedProcess(os.getpid(), os.open(os.devnull, os.O_RDONLY)).wait(timeout=0.01)


def test_containers_through_the_platform_use_the_launcher_or_fall_back_to_a_fresh_interpreter(
        model_dir, tmp_path, monkeypatch):
    env = {"SM_MODEL_DIR": str(model_dir), "SAGEMAKER_PROGRAM": "inference.py",
           "SAGEMAKER_SUBMIT_DIRECTORY": str(model_dir / "code")}
    monkeypatch.setattr(launcher_module, "_shared", None)
    monkeypatch.setenv("LABCLOUD_LAUNCHER", "0")
    plain = ContainerProcess("plain", tmp_path, env, "group", "stream", None)
    try:
        assert isinstance(plain.process, subprocess.Popen)
        wait_until_healthy([plain], 60)
        assert plain.post(b"1,2,3", "text/csv", "text/csv")[0] == in_process_answer(model_dir)
    finally:
        plain.signal_stop()
        plain.wait_stopped()
    monkeypatch.setenv("LABCLOUD_LAUNCHER", "1")
    try:
        forked = ContainerProcess("forked", tmp_path, env, "group", "stream", None)
        try:
            assert isinstance(forked.process, LaunchedProcess)
            wait_until_healthy([forked], 120)
            assert forked.post(b"1,2,3", "text/csv", "text/csv")[0] == in_process_answer(model_dir)
        finally:
            forked.signal_stop()
            forked.wait_stopped()
        assert not forked.running and not pid_alive(forked.pid) and not port_open(forked.port)
    finally:
        launcher_module.close_shared_launcher()


def in_process_answer(model_dir: Path) -> bytes:
    """What the handlers answer in this process, to compare a container's answer with."""
    from labcloud.runtime.serving.handlers import HandlerChain

    chain = HandlerChain(str(model_dir), "sklearn", "inference.py", str(model_dir / "code"))
    return chain(b"1,2,3", "text/csv", "text/csv")[0]


def test_when_the_launcher_dies_its_containers_are_reported_gone_and_spawning_says_so(model_dir, tmp_path):
    doomed = Launcher().start()
    assert doomed.wait_ready(120)
    port = free_port()
    child = doomed.spawn(MODEL_SERVER, server_env(model_dir, port), str(tmp_path))
    wait_serving(port, child)
    doomed.process.kill()
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert wait_gone([child.pid]) == [] and not port_open(port)
    with pytest.raises(LauncherUnavailable):
        doomed.spawn(MODEL_SERVER, server_env(model_dir, free_port()), str(tmp_path))
    doomed.close()


HOLDER = textwrap.dedent('''
    import json, os, sys, time
    from labcloud.runtime.serving.launcher import Launcher
    launcher = Launcher().start()
    launcher.wait_ready(120)
    child = launcher.spawn("labcloud.runtime.serving.model_server", json.loads(sys.argv[1]), sys.argv[2])
    print(json.dumps({"launcher": launcher.process.pid, "child": child.pid}), flush=True)
    time.sleep(600)
''')


def test_the_launcher_and_its_containers_die_with_the_process_that_started_them(model_dir, tmp_path):
    port = free_port()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(server_env(model_dir, port)), str(tmp_path)],
                              stdout=subprocess.PIPE)
    try:
        pids = json.loads(holder.stdout.readline())
        assert pid_alive(pids["launcher"]) and pid_alive(pids["child"])
    finally:
        holder.kill()  # no chance to clean up: the launcher must notice on its own
        holder.wait()
    assert wait_gone([pids["launcher"], pids["child"]]) == []
    assert not port_open(port)


def test_a_pipeline_endpoint_is_forked_by_the_launcher_and_delete_leaves_nothing(labcloud_server):
    s3, sm, runtime = boto3.client("s3"), boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    s3.create_bucket(Bucket="launcher-tests")
    scaler, regressor = fitted_models()
    urls = [upload(s3, "launcher-tests", "scaler.tar.gz", model_tarball(scaler, SCALER_SCRIPT)),
            upload(s3, "launcher-tests", "regressor.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))]
    sm.create_model(ModelName="forked", ExecutionRoleArn=ROLE, Containers=[
        container(urls[0], env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}), container(urls[1])])
    sm.create_endpoint_config(EndpointConfigName="forked", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "forked", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="forked", EndpointConfigName="forked")
    deadline = time.monotonic() + 120
    while (status := sm.describe_endpoint(EndpointName="forked")["EndpointStatus"]) == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status == "InService", sm.describe_endpoint(EndpointName="forked").get("FailureReason")
    instance = endpoint_processes(labcloud_server.url, "forked")[0]
    for pid in instance["pids"]:
        assert "labcloud.runtime.serving.launcher" in cmdline(parent_of(pid))
    body = runtime.invoke_endpoint(EndpointName="forked", Body=b"10.5,9.25,11.0", ContentType="text/csv",
                                   Accept="application/json")["Body"].read()
    expected = regressor.predict(scaler.transform([[10.5, 9.25, 11.0]]))
    assert json.loads(body) == pytest.approx(expected.tolist())
    sm.delete_endpoint(EndpointName="forked")
    assert wait_gone(instance["pids"], timeout=2) == []
    assert not any(port_open(port) for port in instance["ports"])


def test_the_launcher_dies_with_labcloud_even_when_labcloud_is_killed(tmp_path):
    server = LabcloudProcess.start(tmp_path / "state")
    try:
        deadline = time.monotonic() + 30
        while not (found := [p for p in descendants(server.process.pid)
                             if "labcloud.runtime.serving.launcher" in cmdline(p)]):
            assert time.monotonic() < deadline, "labcloud started no launcher"
            time.sleep(0.05)
        assert len(found) == 1
    finally:
        server.stop(signal.SIGKILL)
    assert wait_gone(found) == [], "the launcher outlived the labcloud that started it"
