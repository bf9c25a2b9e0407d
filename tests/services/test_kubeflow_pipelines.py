"""Kubeflow pipelines whose steps create ACK resources and wait on their conditions: compiled offline,
run with kfp's local subprocess runner against labcloud's Kubernetes API."""

from __future__ import annotations

import boto3
import pytest
import yaml
from kfp import dsl

import labcloud
from labcloud.client import kubeconfig
from labcloud.kubeflow import components, local
from tests.services.test_kubernetes_kubectl import BUCKET, training_job
from tests.support.hosting import REGRESSOR_SCRIPT, SKLEARN_IMAGE, csv_rows, training_data, upload
from tests.support.kubectl import Kubectl
from tests.support.scripts import sourcedir_tarball

# Trains the regressor the hosting tests serve, and packs REGRESSOR_SCRIPT beside it as its inference code.
TRAIN_SCRIPT = f"""
import os, joblib, numpy as np
from sklearn.linear_model import LinearRegression
rng = np.random.default_rng(0)
X = rng.normal(10, 3, size=(40, 3))
y = X @ np.array([1.5, -2.0, 0.5]) + 3
model_dir = os.environ["SM_MODEL_DIR"]
joblib.dump(LinearRegression().fit(X, y), os.path.join(model_dir, "model.joblib"))
os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
open(os.path.join(model_dir, "code", "inference.py"), "w").write({REGRESSOR_SCRIPT!r})
"""


@pytest.fixture(scope="module")
def kube_path(labcloud_server, tmp_path_factory) -> str:
    return str(kubeconfig.write(tmp_path_factory.mktemp("kfp") / "kubeconfig", labcloud_server.url))


@pytest.fixture(scope="module")
def code_uri(labcloud_server) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return upload(s3, BUCKET, "code/kfp/sourcedir.tar.gz", sourcedir_tarball(TRAIN_SCRIPT))


def deploy_pipeline(prefix: str, code: str, kube: str, role: str = labcloud.ROLE_ARN):
    @dsl.pipeline(name=f"{prefix}-train-and-deploy")
    def pipeline():
        trained = components.training_job(kubeconfig=kube, name=f"{prefix}-train",
                                          spec=training_job(f"{prefix}-train", code, role=role)["spec"])
        registered = components.model(kubeconfig=kube, name=f"{prefix}-model", spec={
            "modelName": f"{prefix}-model", "executionRoleARN": role,
            "primaryContainer": {"image": SKLEARN_IMAGE, "modelDataURL": trained.outputs["model_artifacts"],
                                 "environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                 "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}})
        configured = components.endpoint_config(kubeconfig=kube, name=f"{prefix}-config", spec={
            "endpointConfigName": f"{prefix}-config", "productionVariants": [{
                "variantName": "AllTraffic", "modelName": f"{prefix}-model", "initialInstanceCount": 1,
                "instanceType": "ml.m5.large"}]}).after(registered)
        components.endpoint(kubeconfig=kube, name=f"{prefix}-endpoint", spec={
            "endpointName": f"{prefix}-endpoint", "endpointConfigName": f"{prefix}-config"}).after(configured)

    return pipeline


def test_the_pipeline_compiles_offline_to_four_ordered_steps(tmp_path, kube_path):
    path = local.compile(deploy_pipeline("kfp-compiled", "s3://code/sourcedir.tar.gz", kube_path),
                         tmp_path / "pipeline.yaml")
    spec = yaml.safe_load(path.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"training-job", "model", "endpoint-config", "endpoint"}
    assert tasks["model"]["dependentTasks"] == ["training-job"]
    assert tasks["endpoint-config"]["dependentTasks"] == ["model"]
    assert tasks["endpoint"]["dependentTasks"] == ["endpoint-config"]
    # The model's spec takes the training step's output: the compiled spec names it as its producer.
    assert "'producerTask': 'training-job'" in str(tasks["model"]["inputs"])


def test_the_pipeline_runs_locally_and_leaves_a_serving_endpoint(tmp_path, kube_path, code_uri):
    local.run(deploy_pipeline("kfp-run", code_uri, kube_path), pipeline_root=tmp_path / "root")
    sm = boto3.client("sagemaker")
    assert sm.describe_training_job(TrainingJobName="kfp-run-train")["TrainingJobStatus"] == "Completed"
    assert sm.describe_endpoint(EndpointName="kfp-run-endpoint")["EndpointStatus"] == "InService"
    kubectl = Kubectl(kube_path)
    assert kubectl.get("endpoint", "kfp-run-endpoint")["status"]["endpointStatus"] == "InService"
    X, _ = training_data()
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName="kfp-run-endpoint",
                                                               ContentType="text/csv", Body=csv_rows(X[:1]))
    assert float(answer["Body"].read().decode().strip().strip("[]")) == pytest.approx(X[0] @ [1.5, -2.0, 0.5] + 3)
    kubectl.run("delete", "endpoint", "kfp-run-endpoint", "--timeout=60s", timeout=75)


def test_a_step_whose_resource_is_terminal_fails_the_run_with_the_api_error(tmp_path, kube_path, code_uri, capfd):
    pipeline = deploy_pipeline("kfp-bad-role", code_uri, kube_path,
                               role="arn:aws:iam::123456789012:role/NoSuchRole")
    with pytest.raises(RuntimeError, match="training-job"):
        local.run(pipeline, pipeline_root=tmp_path / "root")
    status = Kubectl(kube_path).get("trainingjob", "kfp-bad-role-train")["status"]
    terminal = next(c for c in status["conditions"] if c["type"] == "ACK.Terminal")
    assert "NoSuchRole" in terminal["message"]
    printed = capfd.readouterr()
    assert "TrainingJob kfp-bad-role-train is ACK.Terminal" in printed.out + printed.err
