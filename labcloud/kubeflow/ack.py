"""What a SageMaker component does inside its step: apply one ACK custom resource through the Kubernetes
API and wait until the controller's conditions say how it ended.

In a cluster the component's pod reaches the API server with its service account (the in-cluster
configuration) and needs RBAC rights on the sagemaker.services.k8s.aws resources; here it reads the
kubeconfig labcloud writes. The step never calls SageMaker itself: the controller does.
"""

from __future__ import annotations

import time

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
POLL_SECONDS = 0.5
ENDED_BADLY = {"Failed", "Stopped"}  # job and endpoint statuses a step reports as its failure


class StepFailed(RuntimeError):
    """The resource ended in a way the pipeline must not go on from (the controller's words in the message)."""


def custom_objects(kubeconfig: str = ""):
    """The Kubernetes API's custom-objects client: from `kubeconfig`, or in-cluster when it is empty."""
    from kubernetes import client, config

    if kubeconfig:
        return client.CustomObjectsApi(config.new_client_from_config(kubeconfig))
    config.load_incluster_config()
    return client.CustomObjectsApi()


def apply(objects, kind: str, name: str, spec: dict, namespace: str = "default") -> dict:
    """Create the object, or replace the spec of the one already there (a re-run changes nothing else)."""
    from kubernetes.client.exceptions import ApiException

    plural = kind.lower() + "s"
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    try:
        return objects.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
    except ApiException as err:
        if err.status != 409:
            raise StepFailed(f"the Kubernetes API refused the {kind} {name}: {err.status} {_message(err)}") from None
    current = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    current["spec"] = spec
    return objects.replace_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, current)


def wait(objects, kind: str, name: str, namespace: str = "default", timeout_seconds: float = 900,
         status_field: str | None = None) -> dict:
    """The object once ACK.ResourceSynced is True for its latest generation; StepFailed when ACK.Terminal
    holds or `status_field` (a job's or endpoint's status) ended badly; TimeoutError after `timeout_seconds`."""
    plural = kind.lower() + "s"
    deadline = time.monotonic() + timeout_seconds
    while True:
        obj = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        status = obj.get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions", [])}
        terminal = conditions.get("ACK.Terminal", {})
        if terminal.get("status") == "True":
            raise StepFailed(f"{kind} {name} is ACK.Terminal: {terminal.get('message')}")
        synced = conditions.get("ACK.ResourceSynced", {})
        if synced.get("status") == "True" and status.get("ackResourceMetadata", {}).get("arn"):
            ended = status.get(status_field) if status_field else None
            if ended in ENDED_BADLY:
                raise StepFailed(f"{kind} {name} ended {ended}: {status.get('failureReason', 'no reason given')}")
            return obj
        if time.monotonic() > deadline:
            waiting = conditions.get("ACK.Recoverable", synced).get("message", "no condition yet")
            raise TimeoutError(f"{kind} {name} was not synced after {timeout_seconds:g} s ({waiting})")
        time.sleep(POLL_SECONDS)


def apply_and_wait(kubeconfig: str, kind: str, name: str, spec: dict, namespace: str = "default",
                   timeout_seconds: float = 900, status_field: str | None = None) -> dict:
    """One component's work: the object's final status."""
    objects = custom_objects(kubeconfig)
    apply(objects, kind, name, spec, namespace)
    return wait(objects, kind, name, namespace, timeout_seconds, status_field).get("status", {})


def _message(err) -> str:
    import json

    try:
        return json.loads(err.body).get("message", err.reason)
    except (TypeError, ValueError):
        return str(err.reason)
