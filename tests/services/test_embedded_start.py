"""labcloud.start(): reuse a running endpoint or start one that never outlives the caller."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from labcloud.client.embedded import health
from labcloud.platform.ports import free_port


def _wait_gone(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(url, timeout=0.5) is None:
            return True
        time.sleep(0.1)
    return False


def _run_child(code: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABCLOUD_"))}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_start_reuses_a_running_server(labcloud_server):
    import labcloud

    assert labcloud.start(port=labcloud_server.port, quiet=True) == labcloud_server.url
    assert os.environ["AWS_ENDPOINT_URL"] == labcloud_server.url
    assert os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] == "1"
    assert "TelemetryOptOut: true" in open(os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"]).read()


def test_a_started_server_stops_when_the_caller_exits():
    port = free_port()
    child = _run_child(f"""
        import labcloud, boto3
        url = labcloud.start(port={port})
        boto3.client("s3").create_bucket(Bucket="embedded-bucket")
        print("buckets", [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]])
    """, port)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, out
    assert f"labcloud: started http://127.0.0.1:{port}" in out
    assert "embedded-bucket" in out
    assert _wait_gone(f"http://127.0.0.1:{port}")


def test_a_started_server_dies_with_a_killed_caller():
    port = free_port()
    child = _run_child(f"""
        import labcloud, time
        labcloud.start(port={port})
        print("ready", flush=True)
        time.sleep(600)
    """, port)
    try:
        assert child.stdout.readline().startswith("labcloud: started")
        assert child.stdout.readline().strip() == "ready"
        assert health(f"http://127.0.0.1:{port}") is not None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert _wait_gone(f"http://127.0.0.1:{port}")


def test_a_second_process_does_not_adopt_another_processs_private_server():
    port = free_port()
    first = _run_child(f"""
        import labcloud, time
        labcloud.start(port={port})
        print("ready", flush=True)
        time.sleep(600)
    """, port)
    try:
        assert first.stdout.readline().startswith("labcloud: started")
        assert first.stdout.readline().strip() == "ready"
        second = _run_child(f"""
            import labcloud
            print(labcloud.start(port={port}))
        """, port)
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        lines = out.strip().splitlines()
        assert lines[0].startswith("labcloud: started") and not lines[-1].endswith(f":{port}"), out
        assert _wait_gone(lines[-1])  # the second one's own server went with it
        assert health(f"http://127.0.0.1:{port}") is not None  # the first one's is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert _wait_gone(f"http://127.0.0.1:{port}")
