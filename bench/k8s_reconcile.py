"""How quickly labcloud's ACK controller turns a TrainingJob manifest into a SageMaker job, and a job's end
into the object's `.status`.

Starts an in-memory labcloud, writes a kubeconfig, then for each run applies a TrainingJob manifest with the
real kubectl and measures
  apply -> job exists    from starting `kubectl apply -f -` to DescribeTrainingJob finding the job
                         (kubectl's own start-up included: it is what a learner waits for)
  end -> status          from DescribeTrainingJob first saying Completed to the object's
                         status.trainingJobStatus saying Completed (read through the Kubernetes API)
Both are polled every 5 ms. Target: under 0.5 s each.

    python bench/k8s_reconcile.py [--runs 10]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
import yaml
from kubernetes import client, config

from labcloud.client import kubeconfig
from labcloud.client.environment import client_environment
from labcloud.client.kubectl import find
from labcloud.core.constants import ROLE_ARN
from labcloud.server.lab_server import LabServer

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT = b"import time\ntime.sleep(1)\n"
POLL = 0.005


def kubectl() -> str:
    return find() or "kubectl"


def manifest(name: str, code: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "TrainingJob", "metadata": {"name": name},
        "spec": {"trainingJobName": name, "roleARN": ROLE_ARN,
                 "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
                 "hyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{code}"'},
                 "outputDataConfig": {"s3OutputPath": "s3://k8s-bench/output"},
                 "resourceConfig": {"instanceType": "ml.m5.large", "instanceCount": 1, "volumeSizeInGB": 5},
                 "stoppingCondition": {"maxRuntimeInSeconds": 600}}})


def sourcedir() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT))
    return buffer.getvalue()


def until(check, timeout: float = 60):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = check()
        if value:
            return time.perf_counter()
        time.sleep(POLL)
    raise TimeoutError("the run did not get there within a minute")


def one_run(n: int, env: dict, kube_path: Path, objects, sm, code: str) -> tuple[float, float]:
    name = f"bench-{n}"
    started = time.perf_counter()
    subprocess.run([kubectl(), "apply", "-f", "-"], input=manifest(name, code), text=True, check=True,
                   capture_output=True, timeout=60, env={**env, "KUBECONFIG": str(kube_path)})

    def exists():
        try:
            return sm.describe_training_job(TrainingJobName=name)
        except sm.exceptions.ClientError:
            return None

    created = until(exists)
    ended = until(lambda: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Completed")
    written = until(lambda: objects.get_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", "default", "trainingjobs", name
    ).get("status", {}).get("trainingJobStatus") == "Completed")
    return created - started, written - ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = LabServer(port=0).start_in_thread()
        try:
            env = client_environment(server.url)
            session = boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=env["AWS_DEFAULT_REGION"])
            s3 = session.client("s3", endpoint_url=server.url)
            sm = session.client("sagemaker", endpoint_url=server.url)
            s3.create_bucket(Bucket="k8s-bench")
            s3.put_object(Bucket="k8s-bench", Key="code/sourcedir.tar.gz", Body=sourcedir())
            kube_path = kubeconfig.write(Path(folder) / "kubeconfig", server.url)
            objects = client.CustomObjectsApi(config.new_client_from_config(str(kube_path)))
            started = time.perf_counter()
            subprocess.run([kubectl(), "version", "--client"], capture_output=True, check=True, timeout=60)
            print(f"kubectl's own start-up (`kubectl version --client`): {time.perf_counter() - started:.3f} s")
            applied, written = zip(*(one_run(n, {**os.environ, **env}, kube_path,
                                             objects, sm, "s3://k8s-bench/code/sourcedir.tar.gz")
                                     for n in range(args.runs)))
        finally:
            server.stop()
    for label, times in (("apply -> job exists", applied), ("end -> status", written)):
        print(f"{label:20} median {statistics.median(times):.3f} s, max {max(times):.3f} s "
              f"over {len(times)} runs (target < 0.5 s)")


if __name__ == "__main__":
    main()
