"""The Kubernetes API's routes: discovery, OpenAPI, and the verbs on each resource, as kubectl and the
Python client call them (paths below the service's prefix):

    GET    /version  /api  /api/v1  /apis  /apis/<group>  /apis/<group>/<version>  /openapi/v3[/...]
    GET    .../namespaces/<ns>/<plural>            list (labelSelector, fieldSelector), or watch=1
    POST   .../namespaces/<ns>/<plural>            create (fieldValidation=Strict|Warn|Ignore, dryRun=All)
    GET    .../namespaces/<ns>/<plural>/<name>[/status]
    PUT    .../namespaces/<ns>/<plural>/<name>[/status]    replace (409 on a stale resourceVersion)
    PATCH  .../namespaces/<ns>/<plural>/<name>[/status]    merge patch, JSON patch, server-side apply
    DELETE .../namespaces/<ns>/<plural>/<name>              (finalizers: marked, then gone)
    GET    /apis/<group>/<version>/<plural>                every namespace
    core/v1 namespaces (cluster-wide) and events (namespaced) in the same shapes under /api/v1.

A request is (method, path, query, headers, body) in and (status, headers, body or a stream of chunks) out;
errors are statuses.KubeError, written as a Status object.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass

import yaml

from labcloud.services.kubernetes import discovery, protobuf, tables
from labcloud.services.kubernetes.kinds import GROUP, VERSION
from labcloud.services.kubernetes.objects import Objects, now
from labcloud.services.kubernetes.patches import json_patch, merge_patch
from labcloud.services.kubernetes.resources import ACK, CORE, EVENTS, NAMESPACES, Resource
from labcloud.services.kubernetes.schemas import kind_schema
from labcloud.services.kubernetes.statuses import (KubeError, bad_request, invalid, method_not_allowed, not_found,
                                                   unsupported_media_type)
from labcloud.services.kubernetes.validation import check_object

WATCH_MAX_SECONDS = 1800
JSON = "application/json"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass
class Call:
    method: str
    path: str
    query: dict  # name -> first value
    accept: str
    content_type: str
    body: bytes


@dataclass
class Answer:
    status: int
    body: object  # a JSON-able value, bytes, or an iterator of bytes (a watch)
    headers: dict | None = None


def _resource_pattern(prefix: str) -> str:
    return (rf"^{prefix}(?:/namespaces/(?P<namespace>[^/]+))?/(?P<plural>[^/]+)"
            rf"(?:/(?P<name>[^/]+)(?:/(?P<sub>status))?)?$")


class API:
    def __init__(self, objects: Objects, stopping):
        self.objects = objects
        self.stopping = stopping  # an Event: set when the server stops (watches end)
        self.routes = [
            (re.compile(r"^/version/?$"), lambda c, m: Answer(200, discovery.SERVER_VERSION)),
            (re.compile(r"^/api/?$"), self.api_root),
            (re.compile(r"^/api/v1/?$"), lambda c, m: Answer(200, discovery.core_resources())),
            (re.compile(r"^/apis/?$"), self.apis_root),
            (re.compile(rf"^/apis/{re.escape(GROUP)}/?$"), lambda c, m: Answer(200, discovery.api_group())),
            (re.compile(rf"^/apis/{re.escape(GROUP)}/{VERSION}/?$"), lambda c, m: Answer(200,
                                                                                   discovery.ack_resources())),
            (re.compile(r"^/openapi/v3/?$"), lambda c, m: Answer(200, discovery.openapi_root())),
            (re.compile(r"^/openapi/v3/api/v1$"), lambda c, m: Answer(200, discovery.openapi_group(True))),
            (re.compile(rf"^/openapi/v3/apis/{re.escape(GROUP)}/{VERSION}$"),
             lambda c, m: Answer(200, discovery.openapi_group(False))),
            (re.compile(_resource_pattern("/api/v1")), self.core_resource),
            (re.compile(_resource_pattern(rf"/apis/{re.escape(GROUP)}/{VERSION}")), self.ack_resource),
        ]

    def handle(self, call: Call) -> Answer:
        for pattern, handler in self.routes:
            match = pattern.match(call.path)
            if match:
                if call.method != "GET" and handler not in (self.core_resource, self.ack_resource):
                    raise method_not_allowed(call.method, call.path)
                return handler(call, match)
        raise KubeError(404, "NotFound", "the server could not find the requested resource",
                        {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})

    # --- discovery

    def api_root(self, call: Call, match) -> Answer:
        if discovery.wants_aggregated(call.accept):
            return Answer(200, discovery.aggregated(core=True), {"Content-Type": discovery.AGGREGATED})
        return Answer(200, discovery.api_versions())

    def apis_root(self, call: Call, match) -> Answer:
        if discovery.wants_aggregated(call.accept):
            return Answer(200, discovery.aggregated(core=False), {"Content-Type": discovery.AGGREGATED})
        return Answer(200, discovery.api_group_list())

    # --- resources

    def core_resource(self, call: Call, match) -> Answer:
        resource = CORE.get(match["plural"])
        if resource is None or (match["namespace"] and not resource.namespaced and match["name"] is None):
            if match["plural"] and match["namespace"] and match["name"] is None and match["plural"] in CORE:
                pass
            else:
                return self._namespace_item(call, match) if match["namespace"] and match["plural"] in (
                    "status", "finalize") else self._unknown(match["plural"])
        return self.verb(call, resource, match)

    def ack_resource(self, call: Call, match) -> Answer:
        resource = ACK.get(match["plural"])
        if resource is None:
            return self._unknown(match["plural"])
        return self.verb(call, resource, match)

    def _unknown(self, plural: str):
        cause = {"reason": "UnexpectedServerResponse", "message": f"404 page not found: {plural}"}
        raise KubeError(404, "NotFound", "the server could not find the requested resource", {"causes": [cause]})

    def _namespace_item(self, call, match):
        self._unknown(match["plural"])

    def verb(self, call: Call, resource: Resource, match) -> Answer:
        namespace, name, sub = match["namespace"], match["name"], match["sub"]
        if resource is NAMESPACES and namespace and not name:  # /api/v1/namespaces/<name>: one namespace
            namespace, name = None, namespace
        if resource.namespaced and namespace and not self.objects.namespace_exists(namespace) and \
                call.method in ("POST", "PUT", "PATCH"):
            raise not_found("namespaces", "", namespace)
        if sub and resource.ack is None:
            if resource is not NAMESPACES:
                self._unknown(sub)
        if name is None:
            if call.method == "GET":
                if call.query.get("watch") in ("1", "true", "True"):
                    return self.watch(call, resource, namespace)
                return self.list(call, resource, namespace)
            if call.method == "POST":
                return self.create(call, resource, namespace)
            if call.method == "DELETE":
                return self.delete_collection(call, resource, namespace)
            raise method_not_allowed(call.method, call.path)
        if call.method == "GET":
            return self._one(call, resource, self.objects.get(resource, namespace, name))
        if call.method == "PUT":
            return self.replace(call, resource, namespace, name, sub)
        if call.method == "PATCH":
            return self.patch(call, resource, namespace, name, sub)
        if call.method == "DELETE":
            return self.delete(call, resource, namespace, name)
        raise method_not_allowed(call.method, call.path)

    def _one(self, call: Call, resource: Resource, obj: dict) -> Answer:
        if tables.wants_table(call.accept):
            return Answer(200, tables.table(resource, [obj], self.objects.version))
        return Answer(200, obj)

    def list(self, call: Call, resource: Resource, namespace) -> Answer:
        items, version = self.objects.list(resource, namespace, call.query.get("labelSelector"),
                                           call.query.get("fieldSelector"))
        if tables.wants_table(call.accept):
            return Answer(200, tables.table(resource, items, version))
        return Answer(200, {"apiVersion": resource.api_version, "kind": f"{resource.kind}List",
                            "metadata": {"resourceVersion": version}, "items": items})

    # --- writes

    def _body(self, call: Call):
        if not call.body:
            raise bad_request("the request has no body")
        if call.content_type.startswith(protobuf.CONTENT_TYPE):
            try:
                return protobuf.decode(call.body)
            except (protobuf.DecodeError, UnicodeDecodeError) as err:
                raise bad_request(f"the request body is not a protobuf object labcloud can read: {err}") from None
        try:
            if "yaml" in call.content_type:
                return yaml.safe_load(call.body)
            return json.loads(call.body)
        except (ValueError, yaml.YAMLError) as err:
            raise bad_request(f"the request body is not valid JSON or YAML: {err}") from None

    def _validated(self, call: Call, resource: Resource, obj, name_hint: str | None = None) -> tuple[dict, dict]:
        """(the object as stored, headers) after field validation as fieldValidation asks (default Warn)."""
        if not isinstance(obj, dict):
            raise bad_request(f"the body is not a {resource.kind} object")
        want = f"{resource.api_version}"
        if obj.get("apiVersion") not in (None, want) or obj.get("kind") not in (None, resource.kind):
            raise bad_request(f'the API version in the data ({obj.get("apiVersion")}) does not match the expected '
                              f'API version ({want})' if obj.get("apiVersion") != want else
                              f'the kind in the data ({obj.get("kind")}) does not match the expected kind '
                              f'({resource.kind})')
        headers = {}
        if resource.ack is None:
            return obj, headers
        pruned, unknown, causes = check_object(obj, kind_schema(resource.ack))
        policy = call.query.get("fieldValidation", "Warn")
        if unknown and policy == "Strict":
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise bad_request(f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                              f'{resource.kind}: strict decoding error: {listed}')
        if unknown and policy != "Ignore":
            headers["Warning"] = ", ".join(f'299 - "unknown field \\"{u}\\""' for u in unknown)
        name = (pruned.get("metadata") or {}).get("name") or name_hint or ""
        if causes:
            raise invalid(resource.kind, resource.group, name, causes)
        return pruned, headers

    def _check_name(self, resource: Resource, obj: dict) -> None:
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata is not an object")
        name = meta.get("name") or ""
        if not name and not meta.get("generateName"):
            raise invalid(resource.kind, resource.group, "", [{"reason": "FieldValueRequired", "field":
                                                                "metadata.name", "message": "Required value: name "
                                                                "or generateName is required"}])
        if name and not _NAME.match(name):
            message = (f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
            raise invalid(resource.kind, resource.group, name,
                          [{"reason": "FieldValueInvalid", "field": "metadata.name", "message": message}])

    def create(self, call: Call, resource: Resource, namespace) -> Answer:
        obj, headers = self._validated(call, resource, self._body(call))
        self._check_name(resource, obj)
        meta_ns = obj["metadata"].get("namespace")
        if resource.namespaced:
            if meta_ns and namespace and meta_ns != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            namespace = namespace or meta_ns or "default"
        if call.query.get("dryRun") == "All":
            return Answer(201, obj, headers)
        return Answer(201, self.objects.create(resource, namespace, obj), headers)

    def replace(self, call: Call, resource: Resource, namespace, name: str, sub) -> Answer:
        obj, headers = self._validated(call, resource, self._body(call), name)
        if obj.get("metadata", {}).get("name") not in (None, name):
            raise bad_request(f'the name of the object ({obj["metadata"]["name"]}) does not match the name on the '
                              f'URL ({name})')
        if call.query.get("dryRun") == "All":
            return Answer(200, obj, headers)
        return Answer(200, self.objects.update(resource, namespace, name, obj, sub), headers)

    def patch(self, call: Call, resource: Resource, namespace, name: str, sub) -> Answer:
        kind = call.content_type.split(";")[0].strip()
        body = self._body(call)
        if kind == "application/apply-patch+yaml":
            current = self.objects.find(resource, namespace, name)
            if current is None:  # server-side apply of a new object creates it
                call.query.setdefault("fieldValidation", "Strict")
                obj, headers = self._validated(call, resource, body, name)
                obj.setdefault("metadata", {})["name"] = name
                return Answer(201, self.objects.create(resource, namespace, obj), headers)
            patched = merge_patch(current, body)
        else:
            current = self.objects.get(resource, namespace, name)
            if kind == "application/merge-patch+json":
                patched = merge_patch(current, body)
            elif kind == "application/json-patch+json":
                patched = json_patch(current, body)
            else:
                raise unsupported_media_type(kind)
        obj, headers = self._validated(call, resource, patched, name)
        if call.query.get("dryRun") == "All":
            return Answer(200, obj, headers)
        return Answer(200, self.objects.update(resource, namespace, name, obj, sub), headers)

    def delete(self, call: Call, resource: Resource, namespace, name: str) -> Answer:
        options = {}
        if call.body:
            try:
                options = json.loads(call.body) or {}
            except ValueError:
                raise bad_request("the DeleteOptions body is not JSON") from None
        pre = options.get("preconditions") or {}
        if call.query.get("dryRun") == "All" or "All" in (options.get("dryRun") or []):
            return Answer(200, self.objects.get(resource, namespace, name))
        obj, gone = self.objects.delete(resource, namespace, name, pre.get("uid"), pre.get("resourceVersion"))
        return Answer(200, obj)

    def delete_collection(self, call: Call, resource: Resource, namespace) -> Answer:
        items, _ = self.objects.list(resource, namespace, call.query.get("labelSelector"),
                                     call.query.get("fieldSelector"))
        for obj in items:
            try:
                self.objects.delete(resource, namespace, obj["metadata"]["name"])
            except KubeError:
                pass
        return Answer(200, {"apiVersion": resource.api_version, "kind": f"{resource.kind}List",
                            "metadata": {"resourceVersion": self.objects.version}, "items": items})

    # --- watch

    def watch(self, call: Call, resource: Resource, namespace) -> Answer:
        watch = self.objects.watch(resource, namespace, call.query.get("resourceVersion"),
                                   call.query.get("labelSelector"), call.query.get("fieldSelector"),
                                   initial_events=call.query.get("sendInitialEvents") == "true")
        try:
            seconds = min(float(call.query.get("timeoutSeconds") or WATCH_MAX_SECONDS), WATCH_MAX_SECONDS)
        except ValueError:
            seconds = WATCH_MAX_SECONDS
        as_table = tables.wants_table(call.accept)

        def stream():
            import queue

            deadline = time.monotonic() + seconds
            try:
                while not self.stopping.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    try:
                        item = watch.queue.get(timeout=min(left, 0.5))
                    except queue.Empty:
                        continue
                    if item is None:
                        return
                    kind, obj = item
                    if as_table and kind != "BOOKMARK":
                        obj = tables.table(resource, [obj], obj["metadata"]["resourceVersion"])
                    yield json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            finally:
                self.objects.unwatch(watch)

        return Answer(200, stream())


def record_event(objects: Objects, obj: dict, resource: Resource, kind: str, reason: str, message: str) -> None:
    """A core/v1 Event about `obj` (kubectl describe lists them); a repeat of the last one counts up."""
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    stamp = now()
    involved = {"apiVersion": resource.api_version, "kind": resource.kind, "name": meta["name"],
                "namespace": namespace, "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    recent, _ = objects.list(EVENTS, namespace, fields=f"involvedObject.uid={meta.get('uid')}")
    if recent:
        last = max(recent, key=lambda e: int(e["metadata"]["resourceVersion"]))
        if last.get("reason") == reason and last.get("message") == message:
            last["count"] = last.get("count", 1) + 1
            last["lastTimestamp"] = stamp
            objects.update(EVENTS, namespace, last["metadata"]["name"], last, check_version=False)
            return
    event = {"metadata": {"name": f"{meta['name']}.{int(time.time() * 1e9):x}", "namespace": namespace},
             "involvedObject": involved, "reason": reason, "message": message, "type": kind,
             "source": {"component": "ack-sagemaker-controller"}, "reportingComponent": "ack-sagemaker-controller",
             "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}
    objects.create(EVENTS, namespace, copy.deepcopy(event))
