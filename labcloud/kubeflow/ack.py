"""What a SageMaker step does where it runs: apply one ACK custom resource through the Kubernetes API and
wait until the controller's conditions say how it ended.

`apply_and_wait` is the whole of it, written to be copied: kfp embeds its source in every step's program
(`additional_funcs`), so a step needs neither labcloud nor this module where it runs, only the `kubernetes`
client. That is why it imports inside, names no module-level constant, and raises built-in exceptions.

In a cluster, the step's pod reaches the API server with its service account (the in-cluster configuration,
`kubeconfig=""`), which needs Kubernetes RBAC rights on the sagemaker.services.k8s.aws resources of its
namespace; the AWS credentials are the controller's (IRSA), never the step's. Here the step reads the
kubeconfig labcloud writes, and labcloud's Kubernetes API plays the API server and the controller.
"""


def apply_and_wait(kubeconfig: str, kind: str, name: str, spec: dict, namespace: str = "default",
                   timeout_seconds: float = 900, status_field: str = "", done_status: str = "",
                   poll_seconds: float = 0.5, settle_seconds: float = 3.0, objects=None) -> dict:
    """Create the `kind` object `name` with `spec`, or give the one already there that spec, and return its
    `.status` once the controller has synced it (ACK.ResourceSynced True and an ARN) and, when
    `status_field` is given, that field says `done_status` (a job's `trainingJobStatus` Completed, an
    endpoint's `endpointStatus` InService).

    Raises RuntimeError with the controller's message when ACK.Terminal is True, when `status_field` says
    Failed or Stopped, or when the API server refuses the object (Strict field validation names the field);
    TimeoutError after `timeout_seconds`, saying what the status showed last. `objects` stands in for the
    kubernetes client's CustomObjectsApi (made from `kubeconfig`, or in-cluster when it is "").
    """
    import json
    import time

    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    group, version = "sagemaker.services.k8s.aws", "v1alpha1"
    where = {"group": group, "version": version, "namespace": namespace, "plural": kind.lower() + "s"}
    ended_badly = ("Failed", "Stopped")

    def refusal(err) -> str:
        try:
            return f"{err.status} {json.loads(err.body).get('message') or err.reason}"
        except (TypeError, ValueError, AttributeError):
            return f"{err.status} {err.reason}"

    if objects is None:
        if kubeconfig:
            objects = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
        else:
            try:
                config.load_incluster_config()
            except config.ConfigException as err:
                raise RuntimeError(f"kubeconfig is \"\", so the step looks for the in-cluster configuration, which "
                                   f"only a pod has ({err}): pass the path of a kubeconfig") from None
            objects = client.CustomObjectsApi()

    # Apply: create it, or give the existing object this spec (a re-run with the same spec writes nothing,
    # and its status stands; a changed spec makes a new generation, whose status the controller has yet to
    # write: until it writes, or `settle_seconds` pass with no write (a job ignores spec changes), the status
    # seen belongs to the old spec).
    body = {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    stale_version = None
    try:
        objects.create_namespaced_custom_object(body=body, field_validation="Strict", **where)
    except ApiException as err:
        if err.status != 409:
            raise RuntimeError(f"The Kubernetes API refused the {kind} {name}: {refusal(err)}") from None
        for _ in range(5):  # (a 409 on replace: the controller wrote the object meanwhile; read it again)
            current = objects.get_namespaced_custom_object(name=name, **where)
            meta = current.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                raise RuntimeError(f"{kind} {name} is being deleted; apply it again once it is gone") from None
            if current.get("spec") == spec:
                break
            try:
                written = objects.replace_namespaced_custom_object(
                    name=name, body={**current, "spec": spec}, field_validation="Strict", **where)
            except ApiException as again:
                if again.status == 409:
                    continue
                raise RuntimeError(f"The Kubernetes API refused the {kind} {name}: {refusal(again)}") from None
            if (written.get("metadata") or {}).get("generation") != meta.get("generation"):
                stale_version = written["metadata"].get("resourceVersion")
            break
        else:
            raise RuntimeError(f"{kind} {name} kept changing while the step applied it (409 Conflict)") from None

    # Wait on the conditions.
    started = time.monotonic()
    deadline = started + timeout_seconds
    while True:
        try:
            obj = objects.get_namespaced_custom_object(name=name, **where)
        except ApiException as err:
            if err.status == 404:
                raise RuntimeError(f"{kind} {name} was deleted while the step waited for it") from None
            if err.status not in (429, 500, 502, 503, 504):
                raise RuntimeError(f"The Kubernetes API refused to read {kind} {name}: {refusal(err)}") from None
            obj = {}  # (the API server is busy: try again)
        if stale_version and (obj.get("metadata") or {}).get("resourceVersion", stale_version) != stale_version:
            stale_version = None  # the controller has written since the spec changed
        if stale_version and time.monotonic() - started >= settle_seconds:
            stale_version = None
        status = obj.get("status") or {}
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        synced = conditions.get("ACK.ResourceSynced") or {}
        state = status.get(status_field) if status_field else None
        if obj and not stale_version:
            terminal = conditions.get("ACK.Terminal") or {}
            if terminal.get("status") == "True":
                words = terminal.get("message") or terminal.get("reason")
                raise RuntimeError(f"{kind} {name} is ACK.Terminal: {words}")
            if state in ended_badly:
                reason = status.get("failureReason") or "no failure reason given"
                raise RuntimeError(f"{kind} {name} ended {state}: {reason}")
            arn = (status.get("ackResourceMetadata") or {}).get("arn")
            if synced.get("status") == "True" and arn and (not done_status or state == done_status):
                return status
        if time.monotonic() >= deadline:
            if not conditions:
                seen = "the controller wrote no status (is the ACK SageMaker controller running?)"
            else:
                seen = f"ACK.ResourceSynced is {synced.get('status', 'missing')}"
                seen += f" ({synced['message']})" if synced.get("message") else ""
                if status_field:
                    seen += f", {status_field} is {state}"
                recoverable = conditions.get("ACK.Recoverable") or {}
                if recoverable.get("status") == "True":
                    seen += f"; the controller retries: {recoverable.get('message')}"
            raise TimeoutError(f"{kind} {name} was not done after {timeout_seconds:g} s: {seen}")
        time.sleep(max(0.0, min(poll_seconds, deadline - time.monotonic())))
