"""InvokeEndpoint latency through inference pipelines of 1, 2, 5 and 15 containers, beside the same
handlers called in process; time from CreateEndpoint to InService; CPU each request costs labcloud and
the containers; throughput with 8 concurrent clients.

    python bench/invoke_latency.py [--requests 300]

Starts its own labcloud on a free port with a temporary state directory and stops it at the end. Every
container runs the same small scikit-learn StandardScaler entry point (CSV in, CSV out), so the numbers
show what each hop through a container costs, not the model. Wall-clock latency depends on what else
the machine runs; the CPU columns (from /proc) much less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from labcloud.client.embedded import wait_until_ready  # noqa: E402
from labcloud.client.environment import configure  # noqa: E402
from labcloud.runtime.serving.handlers import HandlerChain  # noqa: E402
from labcloud.platform.ports import free_port  # noqa: E402
from tests.support.hosting import (ROLE, SCALER_SCRIPT, container, fitted_models, model_tarball,  # noqa: E402
                                        upload)

SIZES = (1, 2, 5, 15)
PAYLOAD = b"10.5,9.25,11.0"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def in_process_chain(tarball: bytes, workdir: Path, count: int):
    folder = workdir / "in-process"
    if not folder.exists():
        folder.mkdir()
        import io

        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            tar.extractall(folder, filter="data")
    chains = [HandlerChain(str(folder), "sklearn", "inference.py", str(folder / "code")) for _ in range(count)]

    def call(body: bytes) -> bytes:
        content_type = "text/csv"
        for i, chain in enumerate(chains):
            body, content_type = chain(body, content_type, "text/csv" if i == count - 1 else None)
        return body

    return call


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def labcloud_status(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_labcloud/status", timeout=10) as response:
        return json.loads(response.read())


def wait_for_launcher(url: str, timeout: float = 120) -> str:
    """Containers are forked from a launcher that preloads the frameworks after labcloud starts: measure
    from a warm one, as a learner does once labcloud has been up for a few seconds."""
    deadline = time.monotonic() + timeout
    while True:
        state = labcloud_status(url).get("model_server_launcher", "")
        if not state.startswith("preloading") or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def timed(call, requests: int) -> list[float]:
    for _ in range(20):  # warm up connections and caches
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="labcloud-bench-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--port", str(port), "--state-dir",
                               str(workdir / "state")], stdout=open(workdir / "labcloud.log", "wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, timeout=60, process=server)
        configure(url)
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3")
        sm = boto3.client("sagemaker")
        runtime = boto3.client("sagemaker-runtime", config=Config(max_pool_connections=16))
        s3.create_bucket(Bucket="bench")
        scaler, _ = fitted_models()
        tarball = model_tarball(scaler, SCALER_SCRIPT)
        model_data = upload(s3, "bench", "scaler/model.tar.gz", tarball)
        env = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}

        print("model-server launcher:", wait_for_launcher(url).split(",")[0] + ")")
        print(f"{'containers':>10} {'InService s':>11} {'p50 ms':>8} {'p99 ms':>8} {'in-process p50':>15} "
              f"{'in-process p99':>15} {'labcloud CPU ms':>15} {'containers CPU ms':>17}")
        results = {}
        for count in SIZES:
            name = f"bench-{count}"
            if count == 1:
                sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container(model_data, env=env))
            else:
                sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                                Containers=[container(model_data, env=env) for _ in range(count)])
            sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large"}])
            started = time.monotonic()
            sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
            while (status := sm.describe_endpoint(EndpointName=name)["EndpointStatus"]) == "Creating":
                time.sleep(0.01)
            ready = time.monotonic() - started
            if status != "InService":
                print(f"{name}: {status}: {sm.describe_endpoint(EndpointName=name).get('FailureReason')}")
                return 1

            def invoke(name=name):
                return runtime.invoke_endpoint(EndpointName=name, Body=PAYLOAD, ContentType="text/csv",
                                               Accept="text/csv")["Body"].read()

            local = in_process_chain(tarball, workdir, count)
            assert invoke().strip() == local(PAYLOAD).strip(), "the endpoint and the in-process chain disagree"
            pids = [pid for instance in labcloud_status(url)["endpoint_processes"][name] for pid in instance["pids"]]
            cpu_before = cpu_seconds(server.pid), sum(map(cpu_seconds, pids))
            remote = timed(invoke, args.requests)
            cpu_after = cpu_seconds(server.pid), sum(map(cpu_seconds, pids))
            requests = args.requests + 20  # timed() warms up with 20 more
            labcloud_cpu, containers_cpu = ((after - before) / requests * 1000
                                            for before, after in zip(cpu_before, cpu_after))
            inproc = timed(lambda: local(PAYLOAD), args.requests)
            results[count] = (percentile(remote, 0.5), percentile(inproc, 0.5))
            print(f"{count:>10} {ready:>11.2f} {percentile(remote, 0.5):>8.2f} {percentile(remote, 0.99):>8.2f} "
                  f"{percentile(inproc, 0.5):>15.3f} {percentile(inproc, 0.99):>15.3f} {labcloud_cpu:>15.2f} "
                  f"{containers_cpu:>17.2f}", flush=True)
            if count != 2:
                sm.delete_endpoint(EndpointName=name)

        base_remote, base_local = results[1]
        for count in SIZES[1:]:
            remote, local = results[count]
            hop = ((remote - base_remote) - (local - base_local)) / (count - 1)
            print(f"{count:>2} containers: each extra container adds {hop:.2f} ms at p50 beyond its handler")

        errors, total = 0, 800
        started = time.perf_counter()

        def one(_):
            try:
                runtime.invoke_endpoint(EndpointName="bench-2", Body=PAYLOAD, ContentType="text/csv")["Body"].read()
                return 0
            except Exception:  # noqa: BLE001 - counted and reported
                return 1

        with ThreadPoolExecutor(8) as pool:
            errors = sum(pool.map(one, range(total)))
        elapsed = time.perf_counter() - started
        print(f"8 concurrent clients, 2-container pipeline: {total / elapsed:.0f} requests/s, {errors} errors")
        sm.delete_endpoint(EndpointName="bench-2")
        return 1 if errors else 0
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
