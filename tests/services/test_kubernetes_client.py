"""labcloud's Kubernetes API through the official `kubernetes` Python client: custom objects in
namespaces, label selectors, merge patches (the client sends every patch as a merge patch; kubectl's JSON patch
is in test_kubernetes_kubectl.py), the status subresource, resourceVersion conflicts,
watches; and the controller picking its work up again after labcloud restarts."""

from __future__ import annotations

import boto3
import pytest
from kubernetes import client, config, watch

from labcloud.client import kubeconfig
from tests.services.test_kubernetes_kubectl import BUCKET, QUICK_SCRIPT, training_job
from tests.support.hosting import upload
from tests.support.scripts import sourcedir_tarball
from tests.support.server import FAST_SETTINGS, LabcloudProcess
from tests.support.waiting import wait_until

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
SLOWISH_SCRIPT = """
import json, os, time
time.sleep(4)
json.dump({"ok": True}, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
"""


def api_client(url: str, folder) -> client.ApiClient:
    path = kubeconfig.write(folder / "kubeconfig", url)
    return config.new_client_from_config(str(path))


@pytest.fixture(scope="module")
def kube(labcloud_server, tmp_path_factory):
    with api_client(labcloud_server.url, tmp_path_factory.mktemp("kube")) as api:
        yield api


@pytest.fixture(scope="module")
def quick_code(labcloud_server) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return upload(s3, BUCKET, "code/client/sourcedir.tar.gz", sourcedir_tarball(QUICK_SCRIPT))


def _models(kube, namespace: str, names: dict[str, str]) -> None:
    objects = client.CustomObjectsApi(kube)
    for name, team in names.items():
        objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "models", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Model",
            "metadata": {"name": name, "labels": {"team": team}, "annotations": {
                # Deleting the object must not delete anything in SageMaker: these models are never made.
                "services.k8s.aws/deletion-policy": "retain"}},
            "spec": {"modelName": name, "executionRoleARN": "arn:aws:iam::123456789012:role/NoSuchRole",
                     "primaryContainer": {"image": "x"}}})


def test_namespaces_label_selectors_and_patches(kube):
    core, objects = client.CoreV1Api(kube), client.CustomObjectsApi(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    assert "team-a" in [n.metadata.name for n in core.list_namespace().items]
    _models(kube, "team-a", {"client-m1": "red", "client-m2": "blue", "client-m3": "red"})

    red = objects.list_namespaced_custom_object(GROUP, VERSION, "team-a", "models", label_selector="team=red")
    assert sorted(o["metadata"]["name"] for o in red["items"]) == ["client-m1", "client-m3"]
    assert objects.list_namespaced_custom_object(GROUP, VERSION, "default", "models",
                                                 label_selector="team=red")["items"] == []
    with pytest.raises(client.ApiException) as missing:
        _models(kube, "no-such-namespace", {"client-m4": "red"})
    assert missing.value.status == 404

    merged = objects.patch_namespaced_custom_object(GROUP, VERSION, "team-a", "models", "client-m2",
                                                    {"metadata": {"labels": {"team": "red"}}})
    assert merged["metadata"]["labels"] == {"team": "red"}
    assert merged["metadata"]["generation"] == 1  # metadata is not the spec

    patched = objects.patch_namespaced_custom_object(GROUP, VERSION, "team-a", "models", "client-m2",
                                                     {"spec": {"primaryContainer": {"image": "y"}}})
    assert patched["spec"]["primaryContainer"]["image"] == "y"
    assert patched["metadata"]["generation"] == 2

    for name in ("client-m1", "client-m2", "client-m3"):
        objects.delete_namespaced_custom_object(GROUP, VERSION, "team-a", "models", name)


def test_a_stale_resource_version_is_a_conflict(kube):
    objects = client.CustomObjectsApi(kube)
    _models(kube, "default", {"client-conflict": "green"})
    first = objects.get_namespaced_custom_object(GROUP, VERSION, "default", "models", "client-conflict")
    objects.patch_namespaced_custom_object(GROUP, VERSION, "default", "models", "client-conflict",
                                           {"metadata": {"labels": {"team": "amber"}}})
    first["metadata"]["labels"] = {"team": "violet"}
    with pytest.raises(client.ApiException) as stale:
        objects.replace_namespaced_custom_object(GROUP, VERSION, "default", "models", "client-conflict", first)
    assert stale.value.status == 409
    assert "the object has been modified" in stale.value.body
    objects.delete_namespaced_custom_object(GROUP, VERSION, "default", "models", "client-conflict")


def test_the_status_subresource_and_a_watch_follow_a_training_job(kube, quick_code):
    objects = client.CustomObjectsApi(kube)
    name = "client-train"
    objects.create_namespaced_custom_object(GROUP, VERSION, "default", "trainingjobs",
                                            training_job(name, quick_code))
    seen = []
    stream = watch.Watch()
    for event in stream.stream(objects.list_namespaced_custom_object, GROUP, VERSION, "default", "trainingjobs",
                               field_selector=f"metadata.name={name}", timeout_seconds=60):
        seen.append((event["type"], event["object"].get("status", {}).get("trainingJobStatus")))
        if seen[-1][1] == "Completed":
            stream.stop()
    assert seen[0][0] == "ADDED" and seen[-1] == ("MODIFIED", "Completed"), seen

    status = objects.get_namespaced_custom_object_status(GROUP, VERSION, "default", "trainingjobs", name)
    assert status["status"]["ackResourceMetadata"]["arn"].endswith(f":training-job/{name}")
    # A client may not write the spec through the status subresource.
    status["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] = 1
    replaced = objects.replace_namespaced_custom_object_status(GROUP, VERSION, "default", "trainingjobs", name,
                                                               status)
    assert replaced["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] == 600


def test_the_controller_resyncs_after_labcloud_restarts(tmp_path):
    state = tmp_path / "state"
    server = LabcloudProcess.start(state, env=FAST_SETTINGS)
    try:
        env = server_environment(server.url)
        s3 = boto3.client("s3", **env)
        s3.create_bucket(Bucket=BUCKET)
        code = upload(s3, BUCKET, "code/restart/sourcedir.tar.gz", sourcedir_tarball(SLOWISH_SCRIPT))
        with api_client(server.url, tmp_path) as kube:
            objects = client.CustomObjectsApi(kube)
            objects.create_namespaced_custom_object(GROUP, VERSION, "default", "trainingjobs",
                                                    training_job("client-restart", code))
            wait_until(lambda: _job_status(objects, "client-restart") == "InProgress", "the job to run", timeout=30)
        assert server.stop() == 0
        server = LabcloudProcess.start(state, port=server.port, env=FAST_SETTINGS)
        with api_client(server.url, tmp_path) as kube:
            objects = client.CustomObjectsApi(kube)
            wait_until(lambda: _job_status(objects, "client-restart") == "Completed",
                       "the job to complete after the restart", timeout=60)
            job = objects.get_namespaced_custom_object(GROUP, VERSION, "default", "trainingjobs", "client-restart")
        synced = [c for c in job["status"]["conditions"] if c["type"] == "ACK.ResourceSynced"]
        assert synced and synced[0]["status"] == "True"
        listed = boto3.client("sagemaker", **env).list_training_jobs()["TrainingJobSummaries"]
        assert [j["TrainingJobName"] for j in listed] == ["client-restart"]
    finally:
        server.stop()


def _job_status(objects, name: str):
    job = objects.get_namespaced_custom_object(GROUP, VERSION, "default", "trainingjobs", name)
    return job.get("status", {}).get("trainingJobStatus")


def server_environment(url: str) -> dict:
    """boto3 client arguments for another labcloud than the session's."""
    return {"endpoint_url": url}
