"""Kubeflow pipelines whose steps create ACK resources and wait on their conditions: the steps' programs
(self-contained, nothing to download), their wait on the conditions against a scripted API, and pipelines
compiled offline and run with kfp's local subprocess runner against labcloud's Kubernetes API."""

# (no `from __future__ import annotations`: kfp reads the components' real types)

import ast
import http.server
import importlib.metadata
import logging
import os
import re
import shlex
import sys
import threading
import time

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from kfp import dsl
from kubernetes.client.exceptions import ApiException
from packaging.requirements import Requirement

import labcloud
from labcloud.client import kubeconfig
from labcloud.kubeflow import components, local
from labcloud.kubeflow.ack import apply_and_wait
from tests.support.hosting import REGRESSOR_SCRIPT, SKLEARN_IMAGE, csv_rows, training_data, upload
from tests.support.kubectl import Kubectl, condition, training_spec
from tests.support.scripts import sourcedir_tarball

BUCKET = "kfp-lab"
STEPS = {"training-job": components.training_job, "model": components.model,
         "endpoint-config": components.endpoint_config, "endpoint": components.endpoint}

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


def config_spec(name: str, model: str, instance_type: str = "ml.m5.large") -> dict:
    return {"endpointConfigName": name, "productionVariants": [{
        "variantName": "AllTraffic", "modelName": model, "initialInstanceCount": 1, "instanceType": instance_type}]}


def deploy_pipeline(prefix: str, code: str, kube: str, role: str = labcloud.ROLE_ARN):
    """train -> model (from the training step's artifacts) -> endpoint config -> endpoint."""

    @dsl.pipeline(name=f"{prefix}-train-and-deploy")
    def pipeline() -> str:
        trained = components.training_job(kubeconfig=kube, name=f"{prefix}-train",
                                          spec=training_spec(f"{prefix}-train", code, BUCKET, role=role))
        registered = components.model(kubeconfig=kube, name=f"{prefix}-model", spec={
            "modelName": f"{prefix}-model", "executionRoleARN": role,
            "primaryContainer": {"image": SKLEARN_IMAGE, "modelDataURL": trained.outputs["model_artifacts"],
                                 "environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                 "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}})
        configured = components.endpoint_config(kubeconfig=kube, name=f"{prefix}-config",
                                                spec=config_spec(f"{prefix}-config", f"{prefix}-model"))
        configured.after(registered)
        deployed = components.endpoint(kubeconfig=kube, name=f"{prefix}-endpoint", spec={
            "endpointName": f"{prefix}-endpoint", "endpointConfigName": f"{prefix}-config"}).after(configured)
        return deployed.outputs["status"]

    return pipeline


class PackageIndex:
    """An HTTP server on 127.0.0.1 that notes every request: where PIP_INDEX_URL points during a run."""

    def __init__(self):
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                seen.append(self.path)
                self.send_error(404)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def package_index(monkeypatch):
    index = PackageIndex()
    monkeypatch.setenv("PIP_INDEX_URL", index.url)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", index.url)
    yield index
    index.close()


@pytest.fixture(scope="module")
def kube_path(labcloud_server, tmp_path_factory) -> str:
    return str(kubeconfig.write(tmp_path_factory.mktemp("kfp") / "kubeconfig", labcloud_server.url))


@pytest.fixture(scope="module")
def code_uri(labcloud_server) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return upload(s3, BUCKET, "code/kfp/sourcedir.tar.gz", sourcedir_tarball(TRAIN_SCRIPT))


# --- the steps' programs


def program(step) -> tuple[str, list[str]]:
    """A step's Python program (what kfp writes to ephemeral_component.py) and its pip install commands."""
    container = step.component_spec.implementation.container
    source = container.command[-1]
    installs = [line for part in container.command for line in re.split(r"&&|\n", part)
                if "pip install" in line]
    return source, installs


@pytest.mark.parametrize("task", STEPS)
def test_a_step_program_carries_the_shared_wait_and_imports_nothing_of_labcloud(task):
    source, _ = program(STEPS[task])
    tree = ast.parse(source)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert functions == {"apply_and_wait", STEPS[task].python_func.__name__}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "labcloud"], imported
    assert {"kubernetes", "kubernetes.client.exceptions"} <= imported


@pytest.mark.parametrize("task", STEPS)
def test_a_step_pip_installs_only_what_this_environment_already_has(task):
    _, installs = program(STEPS[task])
    assert installs, "kfp's lightweight command installs kfp"
    for command in installs:
        words = shlex.split(command.replace("PIP_DISABLE_PIP_VERSION_CHECK=1", ""))
        assert words[:4] == ["python3", "-m", "pip", "install"], words  # the runner swaps in this interpreter
        for word in words[4:]:
            if word.startswith("-"):
                continue
            requirement = Requirement(word)
            if requirement.marker and not requirement.marker.evaluate():
                continue
            installed = importlib.metadata.version(requirement.name)
            assert requirement.specifier.contains(installed, prereleases=True), (word, installed)


# --- the wait on the conditions, against a scripted Kubernetes API


def synced(value: str, message: str = "", **fields) -> dict:
    return {"ackResourceMetadata": {"arn": "arn:aws:sagemaker:eu-west-1:123456789012:x/y"}, **fields,
            "conditions": [{"type": "ACK.ResourceSynced", "status": value, "message": message}]}


class ScriptedObjects:
    """Plays CustomObjectsApi for one object. Each read first lets the controller act: the next scripted
    status is written (a new resourceVersion), or None: nothing is written before that read."""

    def __init__(self, statuses: list[dict | None], existing: dict | None = None,
                 refuse: ApiException | None = None):
        self.statuses = list(statuses)
        self.obj = existing
        self.refuse = refuse
        self.calls: list[str] = []

    def _write(self, **changes) -> dict:
        meta = self.obj["metadata"]
        self.obj = {**self.obj, **changes,
                    "metadata": {**meta, "generation": meta["generation"] + (changes.get("spec", self.obj["spec"])
                                                                             != self.obj["spec"]),
                                 "resourceVersion": str(int(meta["resourceVersion"]) + 1)}}
        return self.obj

    def create_namespaced_custom_object(self, group, version, namespace, plural, body, field_validation):
        self.calls.append(f"create {plural} {field_validation}")
        if self.refuse:
            raise self.refuse
        if self.obj is not None:
            raise ApiException(status=409, reason="Conflict")
        self.obj = {**body, "metadata": {**body["metadata"], "generation": 1, "resourceVersion": "1"}}
        return self.obj

    def replace_namespaced_custom_object(self, group, version, namespace, plural, name, body, field_validation):
        self.calls.append(f"replace {plural} {field_validation}")
        return self._write(spec=body["spec"])

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.calls.append(f"get {plural}")
        if self.statuses:
            status = self.statuses.pop(0)
            if status is not None:
                self._write(status=status)
        return self.obj


def existing(spec: dict, status: dict) -> dict:
    return {"spec": spec, "status": status, "metadata": {"generation": 1, "resourceVersion": "7"}}


def wait(objects, kind="TrainingJob", spec=None, **options):
    fields = {"TrainingJob": ("trainingJobStatus", "Completed"), "Endpoint": ("endpointStatus", "InService")}
    field, done = fields.get(kind, ("", ""))
    return apply_and_wait("", kind, "x", spec or {"a": 1}, status_field=field, done_status=done,
                          poll_seconds=0.01, objects=objects, **options)


def test_the_wait_returns_once_the_job_has_completed():
    done = synced("True", trainingJobStatus="Completed", modelArtifacts={"s3ModelArtifacts": "m"})
    objects = ScriptedObjects([{}, synced("False", trainingJobStatus="InProgress"), done])
    assert wait(objects)["modelArtifacts"] == {"s3ModelArtifacts": "m"}
    assert objects.calls == ["create trainingjobs Strict"] + ["get trainingjobs"] * 3


def test_the_wait_fails_with_the_terminal_condition_s_message():
    terminal = synced("False")
    terminal["conditions"].append({"type": "ACK.Terminal", "status": "True", "reason": "ValidationException",
                                   "message": "ValidationException: Could not assume role NoSuchRole"})
    with pytest.raises(RuntimeError, match="TrainingJob x is ACK.Terminal: ValidationException: Could not assume"):
        wait(ScriptedObjects([terminal]))


@pytest.mark.parametrize("ended", ["Failed", "Stopped"])
def test_the_wait_fails_when_the_job_ended_otherwise_than_completed(ended):
    status = synced("True", trainingJobStatus=ended, failureReason="AlgorithmError: boom")
    with pytest.raises(RuntimeError, match=f"TrainingJob x ended {ended}: AlgorithmError: boom"):
        wait(ScriptedObjects([status]))


def test_the_wait_times_out_saying_what_it_saw_last():
    running = synced("False", "TrainingJob is in InProgress status.", trainingJobStatus="InProgress")
    started = time.monotonic()
    words = (r"TrainingJob x was not done after 0.2 s: ACK.ResourceSynced is False \(TrainingJob is in InProgress "
             r"status.\), trainingJobStatus is InProgress")
    with pytest.raises(TimeoutError, match=words):
        wait(ScriptedObjects([running]), timeout_seconds=0.2)
    assert time.monotonic() - started < 2
    with pytest.raises(TimeoutError, match="the controller wrote no status"):
        wait(ScriptedObjects([]), timeout_seconds=0.05)


def test_a_refused_object_fails_the_step_with_the_api_server_s_words():
    refusal = ApiException(status=400, reason="Bad Request")
    refusal.body = '{"kind": "Status", "message": "strict decoding error: unknown field \\"spec.roleArn\\""}'
    with pytest.raises(RuntimeError, match=r'refused the TrainingJob x: 400 strict decoding error: unknown field '
                                           r'"spec.roleArn"'):
        wait(ScriptedObjects([], refuse=refusal))


def test_an_unchanged_re_apply_writes_nothing_and_takes_the_status_as_it_stands():
    objects = ScriptedObjects([], existing({"a": 1}, synced("True", trainingJobStatus="Completed")))
    assert wait(objects)["trainingJobStatus"] == "Completed"
    assert objects.calls == ["create trainingjobs Strict", "get trainingjobs", "get trainingjobs"]


def test_a_changed_spec_is_waited_on_past_the_status_of_the_old_one():
    """An endpoint moved to a new config: its InService from before must not end the step."""
    before = synced("True", endpointStatus="InService", endpointConfigName="old")
    objects = ScriptedObjects([None, None, None, synced("False", endpointStatus="Updating"),
                               synced("True", endpointStatus="InService", endpointConfigName="new")],
                              existing({"endpointConfigName": "old"}, before))
    status = wait(objects, kind="Endpoint", spec={"endpointConfigName": "new"})
    assert status["endpointConfigName"] == "new"
    assert objects.calls[:3] == ["create endpoints Strict", "get endpoints", "replace endpoints Strict"]


def test_a_changed_spec_the_controller_ignores_is_taken_once_it_settles():
    """A job's spec change is not applied (the controller writes nothing): the step ends after the settle time."""
    objects = ScriptedObjects([], existing({"a": 1}, synced("True", trainingJobStatus="Completed")))
    started = time.monotonic()
    assert wait(objects, spec={"a": 2}, settle_seconds=0.2)["trainingJobStatus"] == "Completed"
    assert 0.2 <= time.monotonic() - started < 2


# --- pipelines on labcloud


def test_the_pipeline_compiles_offline_to_four_ordered_steps(tmp_path, kube_path):
    path = local.compile(deploy_pipeline("kfp-compiled", "s3://code/sourcedir.tar.gz", kube_path),
                         tmp_path / "pipeline.yaml")
    spec = yaml.safe_load(path.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == set(STEPS)
    assert "dependentTasks" not in tasks["training-job"]
    assert tasks["model"]["dependentTasks"] == ["training-job"]
    assert tasks["endpoint-config"]["dependentTasks"] == ["model"]
    assert tasks["endpoint"]["dependentTasks"] == ["endpoint-config"]
    # The model's spec takes the training step's output: the compiled spec names it as its producer.
    assert "'producerTask': 'training-job'" in str(tasks["model"]["inputs"])
    assert spec["root"]["outputDefinitions"]["parameters"]["Output"]["parameterType"] == "STRING"
    executors = spec["deploymentSpec"]["executors"]
    assert {executor["container"]["image"] for executor in executors.values()} == {components.BASE_IMAGE}
    assert all("def apply_and_wait(" in executor["container"]["command"][-1] for executor in executors.values())


def test_the_pipeline_runs_locally_and_leaves_a_serving_endpoint(tmp_path, kube_path, code_uri, package_index,
                                                                 capfd):
    # A notebook whose root logger prints INFO lines (as logging.basicConfig(level=INFO) makes it) sees
    # none of kfp's.
    kernel_handler, root = logging.StreamHandler(sys.stderr), logging.getLogger()
    root.addHandler(kernel_handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        outputs = local.run(deploy_pipeline("kfp-run", code_uri, kube_path), pipeline_root=tmp_path / "root")
    finally:
        root.removeHandler(kernel_handler)
        root.setLevel(level)
    assert outputs == {"Output": "InService"}
    # One line per step and one for the pipeline; the steps' own output is in the log file.
    printed = capfd.readouterr()
    assert "Cleaned up workspace" not in printed.err
    assert printed.out.splitlines() == [
        "step 'training-job': SUCCESS", "step 'model': SUCCESS", "step 'endpoint-config': SUCCESS",
        "step 'endpoint': SUCCESS", "pipeline 'kfp-run-train-and-deploy': SUCCESS"]
    log = (tmp_path / "root" / "run.log").read_text()
    assert "Streamed logs" in log and "Cleaned up workspace" in log
    assert package_index.requests == []  # no step's pip asked an index for anything
    assert "PIP_NO_INDEX" not in os.environ  # the run's environment is put back

    sm = boto3.client("sagemaker")
    job = sm.describe_training_job(TrainingJobName="kfp-run-train")
    assert job["TrainingJobStatus"] == "Completed"
    assert sm.describe_model(ModelName="kfp-run-model")["PrimaryContainer"]["ModelDataUrl"] == \
        job["ModelArtifacts"]["S3ModelArtifacts"]
    assert sm.describe_endpoint(EndpointName="kfp-run-endpoint")["EndpointStatus"] == "InService"
    kubectl = Kubectl(kube_path)
    trained = kubectl.get("trainingjob", "kfp-run-train")["status"]
    assert trained["trainingJobStatus"] == "Completed"
    assert condition({"status": trained}, "ACK.ResourceSynced")["status"] == "True"
    assert trained["ackResourceMetadata"]["arn"] == job["TrainingJobArn"]
    served = kubectl.get("endpoint", "kfp-run-endpoint")["status"]
    assert served["endpointStatus"] == "InService"
    assert condition({"status": served}, "ACK.ResourceSynced")["status"] == "True"
    X, _ = training_data()
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName="kfp-run-endpoint",
                                                               ContentType="text/csv", Body=csv_rows(X[:1]))
    predicted = float(answer["Body"].read().decode().strip().strip("[]"))
    assert predicted == pytest.approx(X[0] @ [1.5, -2.0, 0.5] + 3)

    # Rolled to a new config: the endpoint step waits for the update, not for the old InService.
    @dsl.pipeline(name="kfp-roll")
    def roll() -> str:
        spec = config_spec("kfp-run-config-2", "kfp-run-model", "ml.c5.large")
        configured = components.endpoint_config(kubeconfig=kube_path, name="kfp-run-config-2", spec=spec)
        return components.endpoint(kubeconfig=kube_path, name="kfp-run-endpoint", spec={
            "endpointName": "kfp-run-endpoint", "endpointConfigName": "kfp-run-config-2"}
        ).after(configured).outputs["status"]

    assert local.run(roll, pipeline_root=tmp_path / "roll") == {"Output": "InService"}
    rolled = sm.describe_endpoint(EndpointName="kfp-run-endpoint")
    assert (rolled["EndpointStatus"], rolled["EndpointConfigName"]) == ("InService", "kfp-run-config-2")
    kubectl.run("delete", "endpoint", "kfp-run-endpoint", "--timeout=60s", timeout=75)


def test_a_step_whose_resource_is_terminal_fails_the_run_with_the_api_error(tmp_path, kube_path, code_uri, capfd):
    pipeline = deploy_pipeline("kfp-bad-role", code_uri, kube_path,
                               role="arn:aws:iam::123456789012:role/NoSuchRole")
    words = "Inner task failed: 'training-job'; the step's error: RuntimeError: TrainingJob kfp-bad-role-train is "
    with pytest.raises(RuntimeError, match=words + "ACK.Terminal: ") as failed:
        local.run(pipeline, pipeline_root=tmp_path / "root")
    status = Kubectl(kube_path).get("trainingjob", "kfp-bad-role-train")["status"]
    terminal = condition({"status": status}, "ACK.Terminal")
    assert terminal["status"] == "True" and "NoSuchRole" in terminal["message"]
    log = tmp_path / "root" / "run.log"
    assert str(failed.value).endswith(f"is ACK.Terminal: {terminal['message']} (the whole log: {log})")
    assert f"TrainingJob kfp-bad-role-train is ACK.Terminal: {terminal['message']}" in log.read_text()
    printed = capfd.readouterr().out.splitlines()  # one line for the step that failed, none for its log
    assert printed == ["step 'training-job': FAILURE"]
    with pytest.raises(ClientError, match="Could not find"):  # no later step ran
        boto3.client("sagemaker").describe_model(ModelName="kfp-bad-role-model")


@dsl.component(base_image=components.BASE_IMAGE)
def where() -> str:
    import os
    import sys

    return f"{sys.executable} {os.environ.get('PIP_NO_INDEX')}"


@dsl.component(base_image=components.BASE_IMAGE, packages_to_install=["labcloud-no-such-package"])
def needs_a_missing_package() -> str:
    return "unreachable"


def test_the_steps_run_with_this_interpreter_and_pip_never_asks_an_index(tmp_path, package_index, capfd):
    assert local.run(where, pipeline_root=tmp_path / "where") == {"Output": f"{sys.executable} 1"}
    started = time.monotonic()
    words = ("Task 'needs-a-missing-package' finished with status FAILURE; the step's error: ERROR: No matching "
             "distribution found for labcloud-no-such-package")
    with pytest.raises(RuntimeError, match=words):
        local.run(needs_a_missing_package, pipeline_root=tmp_path / "missing")
    assert time.monotonic() - started < 30
    assert package_index.requests == []
    assert "labcloud-no-such-package" in (tmp_path / "missing" / "run.log").read_text()
