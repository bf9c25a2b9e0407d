"""One object's reconcile, as the ACK SageMaker controller does it:

    deleting        stop the job if it runs (StopTrainingJob, ...), delete the resource (DeleteModel, ...)
                    unless `services.k8s.aws/deletion-policy: retain` (or the namespace's
                    `sagemaker.services.k8s.aws/deletion-policy`), then take the finalizer off
    not in SageMaker  the create call from the spec; `services.k8s.aws/adoption-policy: adopt` creates
                    nothing: it takes the resource named by `services.k8s.aws/adoption-fields` (or the spec)
                    and fills the spec from it
    in SageMaker    the describe call's fields become the status; a changed spec becomes the update call
                    (an Endpoint moves to its new EndpointConfig); a kind SageMaker cannot update (Model,
                    EndpointConfig) is Terminal until the spec is back; a job's spec change is not applied

A SageMaker resource whose name the spec gives is found by that name, so re-applying a manifest creates
nothing new. `reconcile` returns when to look again (seconds), or None to wait for the next write or event.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from labcloud.protocols.validation import service_model
from labcloud.services.kubernetes.api import record_event
from labcloud.services.kubernetes.controller.conditions import (NOT_SYNCED_MESSAGE, RECOVERABLE, SYNCED,
                                                                SYNCED_MESSAGE, TERMINAL, UNKNOWN_MESSAGE,
                                                                drop_condition, holds, is_terminal,
                                                                names_a_missing_resource, set_condition, set_ready)
from labcloud.services.kubernetes.controller.convert import to_fields, to_request
from labcloud.services.kubernetes.kinds import Kind
from labcloud.services.kubernetes.naming import ack_name
from labcloud.services.kubernetes.resources import NAMESPACES, Resource
from labcloud.services.kubernetes.statuses import KubeError

DELETION_POLICY = "services.k8s.aws/deletion-policy"
ADOPTION_POLICY = "services.k8s.aws/adoption-policy"
ADOPTION_FIELDS = "services.k8s.aws/adoption-fields"
REGION = "services.k8s.aws/region"
# A namespace's defaults for the objects in it (an object's own annotation wins).
NAMESPACE_REGION = "services.k8s.aws/default-region"
NAMESPACE_DELETION_POLICY = "sagemaker.services.k8s.aws/deletion-policy"
RUNNING_POLL = 1.0  # how often a running job or a changing endpoint is described (events come sooner)


@dataclass
class Failure(Exception):
    code: str
    message: str

    @property
    def missing(self) -> bool:
        return self.code in ("ResourceNotFound", "ResourceNotFoundException") or (
            self.code == "ValidationException" and names_a_missing_resource(self.message))


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class Controller:
    def __init__(self, ctx, objects, books):
        self.ctx = ctx
        self.objects = objects
        self.books = books  # what was created from which generation (books.Books)
        self.model = service_model("sagemaker")
        self.arns: dict[str, tuple] = {}  # ARN -> object key, so SageMaker's events find their object

    # --- SageMaker calls

    def call(self, operation: str, request: dict) -> dict:
        try:
            return getattr(self.ctx.client("sagemaker"), _snake(operation))(**request)
        except ClientError as err:
            error = err.response.get("Error", {})
            raise Failure(error.get("Code", "Unknown"), error.get("Message", str(err))) from None
        except ParamValidationError as err:
            raise Failure("ValidationException", str(err).replace("\n", " ")) from None
        except BotoCoreError as err:
            raise Failure("ServiceUnavailable", str(err)) from None

    def describe(self, kind: Kind, identifier: str | None) -> dict | None:
        if not identifier:
            return None
        try:
            return self.call(kind.describe, {kind.describe_by: identifier})
        except Failure as failure:
            if failure.missing:
                return None
            raise

    # --- one object

    def reconcile(self, resource: Resource, namespace: str, name: str) -> float | None:
        obj = self.objects.find(resource, namespace, name)
        key = (resource.plural, namespace, name)
        if obj is None:
            self.books.forget(key)
            return None
        kind = resource.ack
        if obj["metadata"].get("deletionTimestamp"):
            return self._delete(resource, kind, obj, key)
        if kind.finalizer not in obj["metadata"].get("finalizers", []):
            obj["metadata"].setdefault("finalizers", []).append(kind.finalizer)
            obj = self.objects.update(resource, namespace, name, obj, check_version=False)
        status = copy.deepcopy(obj.get("status") or {})
        try:
            delay = self._sync(resource, kind, obj, status, key)
        except Failure as failure:
            delay = self._failed(resource, obj, status, failure, key)
        self._write_status(resource, obj, status)
        return delay

    def _identifier(self, kind: Kind, obj: dict, request: dict, status: dict) -> str | None:
        if kind.name_member and kind.describe_by == kind.name_member:
            return request.get(kind.name_member) or None
        return (status.get("ackResourceMetadata") or {}).get("arn")

    def _namespace_annotation(self, obj: dict, name: str) -> str | None:
        try:
            namespace = self.objects.get(NAMESPACES, None, obj["metadata"].get("namespace") or "default")
        except KubeError:
            return None
        return (namespace["metadata"].get("annotations") or {}).get(name)

    def _sync(self, resource: Resource, kind: Kind, obj: dict, status: dict, key) -> float | None:
        meta = obj["metadata"]
        annotations = meta.get("annotations") or {}
        generation = meta.get("generation", 1)
        region = annotations.get(REGION) or self._namespace_annotation(obj, NAMESPACE_REGION)
        if region and region != self.ctx.region:
            raise Failure("ValidationException", f"labcloud serves one region, {self.ctx.region}; the annotation "
                                                 f"{REGION} (or the namespace's {NAMESPACE_REGION}) asks for "
                                                 f"{region}.")
        book = self.books.get(key, meta["uid"])
        if book.get("terminal_generation") == generation and holds(status, TERMINAL):
            return None  # an error only a spec change fixes: it waits for one
        shape = self.model.operation_model(kind.create).input_shape
        request = to_request(obj.get("spec") or {}, shape)
        adopting = annotations.get(ADOPTION_POLICY)
        adopted_arn = None
        if adopting in ("adopt", "adopt-or-create"):
            fields, adopted_arn = self._adoption_fields(kind, annotations, shape)
            request = {**request, **fields}
        latest = self.describe(kind, self._identifier(kind, obj, request, status) or adopted_arn)
        if latest is None:
            if adopting == "adopt":
                raise Failure("ResourceNotFound", f"There is no {kind.kind} to adopt: {kind.describe} found none "
                                                  f"for {ADOPTION_FIELDS} or the spec's name.")
            created = self.call(kind.create, request)
            status["ackResourceMetadata"] = self._metadata(created[kind.arn_member])
            self.books.put(key, meta["uid"], {"generation": generation, "digest": digest(request)})
            record_event(self.objects, obj, resource, "Normal", "Created",
                         f"{kind.create} succeeded: {created[kind.arn_member]}")
            latest = self.describe(kind, self._identifier(kind, obj, request, status)) or {}
        else:
            if adopting == "adopt" and not book:
                request = self._fill_spec(resource, kind, obj, latest)
            if not book or "digest" not in book:  # found (a restart without records, or adopted): it is the spec's
                self.books.put(key, meta["uid"], {**book, "generation": generation, "digest": digest(request)})
                book = self.books.get(key, meta["uid"])
            # (the spec as last applied, not the generation: a spec put back as it was is no change)
            changed = digest(request) != book["digest"]
            delay = self._update(resource, kind, obj, request, latest, changed, key, book)
            if delay is not None:
                self._observe(kind, latest, status)
                return delay
        self._observe(kind, latest, status)
        return self._synced(kind, latest, status)

    def _update(self, resource, kind: Kind, obj: dict, request: dict, latest: dict, changed: bool, key, book
                ) -> float | None:
        """Bring SageMaker's resource to the spec; a delay when it must wait, else None (go on to observe)."""
        meta = obj["metadata"]
        generation = meta.get("generation", 1)
        if kind.update is None:
            if not changed:
                return None
            if kind.stop is not None:  # a job: its spec is what it ran with
                self.books.put(key, meta["uid"], {**book, "generation": generation, "digest": digest(request)})
                record_event(self.objects, obj, resource, "Warning", "UpdateNotApplied",
                             f"a {kind.kind}'s spec cannot change once SageMaker runs it; the change is not "
                             "applied (create a new one under another name)")
                return None
            raise Failure("NotImplemented", f"SageMaker cannot update a {kind.kind}: create a new {kind.kind} "
                                            f"under another name (for an endpoint, a new EndpointConfig that "
                                            f"spec.endpointConfigName names), or put the spec back.")
        delta = {m: request[m] for m in kind.update_members if m in request and m in latest
                 and latest[m] != request[m]}
        if not delta and not changed:
            return None
        if kind.status_member and latest.get(kind.status_member) in kind.running:
            return RUNNING_POLL  # (SageMaker refuses to update what is changing; try when it has settled)
        if not delta:
            self.books.put(key, meta["uid"], {**book, "generation": generation, "digest": digest(request)})
            return None
        update = {kind.describe_by: latest.get(kind.describe_by) or request.get(kind.describe_by),
                  **{m: request[m] for m in kind.update_members if m in request}}
        if kind.describe_by == "ModelPackageName":
            update = {"ModelPackageArn": latest["ModelPackageArn"],
                      **{m: request[m] for m in kind.update_members if m in request}}
        self.call(kind.update, update)
        self.books.put(key, meta["uid"], {**book, "generation": generation, "digest": digest(request)})
        record_event(self.objects, obj, resource, "Normal", "Updated",
                     f"{kind.update} succeeded: " + ", ".join(f"{ack_name(m)}" for m in sorted(delta)))
        return RUNNING_POLL

    def _observe(self, kind: Kind, latest: dict, status: dict) -> None:
        output = self.model.operation_model(kind.describe).output_shape
        for member in kind.status_members:
            if member in latest:
                status[ack_name(member)] = to_fields(latest[member], output.members[member])
            else:
                status.pop(ack_name(member), None)
        if latest.get(kind.arn_member):
            status["ackResourceMetadata"] = self._metadata(latest[kind.arn_member])

    def _synced(self, kind: Kind, latest: dict, status: dict) -> float | None:
        drop_condition(status, TERMINAL)
        drop_condition(status, RECOVERABLE)
        state = latest.get(kind.status_member) if kind.status_member else None
        if state is None:
            set_condition(status, SYNCED, True, None, SYNCED_MESSAGE)
            return None
        # (the controller's words: "Endpoint is in InService status.")
        set_condition(status, SYNCED, state not in kind.running, None, f"{kind.kind} is in {state} status.")
        if state == kind.terminal_state:
            set_condition(status, TERMINAL, True, None,
                          f"{kind.kind} status reached terminal state: {state}. Check the FailureReason.")
        return RUNNING_POLL if state in kind.running else None

    def _failed(self, resource: Resource, obj: dict, status: dict, failure: Failure, key) -> float | None:
        text = f"{failure.code}: {failure.message}"
        uid = obj["metadata"]["uid"]
        if is_terminal(failure.code, failure.message):
            set_condition(status, TERMINAL, True, failure.code, text)
            drop_condition(status, RECOVERABLE)
            set_condition(status, SYNCED, False, text, NOT_SYNCED_MESSAGE)
            self.books.put(key, uid, {**self.books.get(key, uid),
                                      "terminal_generation": obj["metadata"].get("generation", 1)})
            record_event(self.objects, obj, resource, "Warning", "Terminal", text)
            return None
        set_condition(status, RECOVERABLE, True, failure.code, text)
        set_condition(status, SYNCED, None, text, UNKNOWN_MESSAGE)
        record_event(self.objects, obj, resource, "Warning", "Recoverable", text)
        return -1.0  # (the loop backs off: a negative delay means "retry, waiting longer each time")

    # --- deletion

    def _delete(self, resource: Resource, kind: Kind, obj: dict, key) -> float | None:
        meta = obj["metadata"]
        if kind.finalizer not in meta.get("finalizers", []):
            return None  # another controller's finalizer holds it; nothing of ours to do
        policy = ((meta.get("annotations") or {}).get(DELETION_POLICY)
                  or self._namespace_annotation(obj, NAMESPACE_DELETION_POLICY) or "delete")
        if policy != "retain":
            status = copy.deepcopy(obj.get("status") or {})
            shape = self.model.operation_model(kind.create).input_shape
            request = to_request(obj.get("spec") or {}, shape)
            try:
                latest = self.describe(kind, self._identifier(kind, obj, request, status))
                if latest is not None:
                    self._end(resource, kind, obj, latest)
            except Failure as failure:
                if not failure.missing:
                    self._failed(resource, obj, status, failure, key)
                    self._write_status(resource, obj, status)
                    return -1.0
        meta["finalizers"] = [f for f in meta["finalizers"] if f != kind.finalizer]
        try:
            self.objects.update(resource, meta.get("namespace"), meta["name"], obj, check_version=False)
        except KubeError:
            pass  # already gone
        self.books.forget(key)
        return None

    def _end(self, resource: Resource, kind: Kind, obj: dict, latest: dict) -> None:
        state = latest.get(kind.status_member) if kind.status_member else None
        identifier = latest.get(kind.describe_by) or latest.get(kind.arn_member)
        if kind.stop and state in kind.stoppable:
            self.call(kind.stop, {kind.describe_by: identifier})
            record_event(self.objects, obj, resource, "Normal", "Stopped", f"{kind.stop} succeeded: {identifier}")
        if kind.delete:
            try:
                member = "ModelPackageName" if kind.kind == "ModelPackage" else kind.describe_by
                self.call(kind.delete, {member: identifier})
            except Failure as failure:
                if not failure.missing:
                    raise

    # --- helpers

    def _metadata(self, arn: str) -> dict:
        return {"arn": arn, "ownerAccountID": self.ctx.account_id, "region": self.ctx.region}

    def _adoption_fields(self, kind: Kind, annotations: dict, shape) -> tuple[dict, str | None]:
        """The create members the adoption-fields annotation names, and the ARN it gives ({"arn": ...}: how a
        ModelPackage or a PipelineExecution, which have no name, is adopted)."""
        text = annotations.get(ADOPTION_FIELDS)
        if not text:
            return {}, None
        try:
            fields = json.loads(text)
        except ValueError:
            raise Failure("ValidationException", f"{ADOPTION_FIELDS} is not a JSON object: {text[:200]}") from None
        if not isinstance(fields, dict):
            raise Failure("ValidationException", f"{ADOPTION_FIELDS} is not a JSON object: {text[:200]}")
        request = to_request(fields, shape)
        name = fields.get("name")
        if name and kind.name_member:
            request.setdefault(kind.name_member, name)
        return request, fields.get("arn") if isinstance(fields.get("arn"), str) else None

    def _fill_spec(self, resource: Resource, kind: Kind, obj: dict, latest: dict) -> dict:
        """An adopted resource's spec, from what SageMaker says it is (the create call's members it gives);
        returns the create request that spec stands for."""
        shape = self.model.operation_model(kind.create).input_shape
        output = self.model.operation_model(kind.describe).output_shape
        spec = {ack_name(m): to_fields(latest[m], output.members[m]) for m in shape.members
                if m in latest and m in output.members and m not in kind.omitted}
        obj["spec"] = spec
        updated = self.objects.update(resource, obj["metadata"].get("namespace"), obj["metadata"]["name"], obj,
                                      check_version=False)
        obj["metadata"] = updated["metadata"]
        return to_request(spec, shape)

    def _write_status(self, resource: Resource, obj: dict, status: dict) -> None:
        set_ready(status)
        meta = obj["metadata"]
        arn = (status.get("ackResourceMetadata") or {}).get("arn")
        if arn:
            self.arns[arn] = (resource.plural, meta.get("namespace"), meta["name"])
        if status == (obj.get("status") or {}):
            return
        try:
            self.objects.update(resource, meta.get("namespace"), meta["name"], {"status": status}, "status",
                                check_version=False)
        except KubeError:
            pass  # deleted meanwhile


def digest(request: dict) -> str:
    """A short fingerprint of a create request: what the books compare to tell a changed spec."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:16]
