"""The documents clients read before they act: version, discovery (legacy and aggregated, kubectl asks
for aggregated first), and OpenAPI v3 (kubectl explain reads the schemas; kubectl apply reads the PATCH
operations' parameters to know the server validates fields itself)."""

from __future__ import annotations

import functools
import hashlib
import json

from labcloud.services.kubernetes.kinds import GROUP, VERSION
from labcloud.services.kubernetes.resources import ACK_RESOURCES, CORE, SHORT_NAMES, Resource
from labcloud.services.kubernetes.schemas import kind_schema

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-labcloud", "gitCommit": "", "gitTreeState":
                  "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
                  "platform": "linux/amd64"}


def wants_aggregated(accept: str) -> bool:
    return "as=APIGroupDiscoveryList" in accept and "v=v2" in accept


def _legacy_resource(r: Resource) -> dict:
    entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": r.verbs, "storageVersionHash": hashlib.sha256(r.plural.encode()).hexdigest()[:12]}
    if r.plural in SHORT_NAMES:
        entry["shortNames"] = SHORT_NAMES[r.plural]
    if r.ack is not None:
        entry["categories"] = ["all", "aws", "sagemaker"]
    return entry


def resource_list(resources: list[Resource], group_version: str) -> dict:
    entries = []
    for r in resources:
        entries.append(_legacy_resource(r))
        if r.ack is not None:
            entries.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": True, "kind": r.kind,
                            "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def core_resources() -> dict:
    return resource_list(list(CORE.values()), "v1")


def ack_resources() -> dict:
    return resource_list(ACK_RESOURCES, f"{GROUP}/{VERSION}")


def api_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group() -> dict:
    version = {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [version], "preferredVersion": version}


def api_group_list() -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group()]}


def _aggregated_resource(r: Resource) -> dict:
    entry = {"resource": r.plural, "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
             "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular, "verbs": r.verbs}
    if r.plural in SHORT_NAMES:
        entry["shortNames"] = SHORT_NAMES[r.plural]
    if r.ack is not None:
        entry["categories"] = ["all", "aws", "sagemaker"]
        entry["subresources"] = [{"subresource": "status", "responseKind": entry["responseKind"],
                                  "verbs": ["get", "patch", "update"]}]
    return entry


def aggregated(core: bool) -> dict:
    if core:
        items = [{"metadata": {"creationTimestamp": None},
                  "versions": [{"version": "v1", "resources": [_aggregated_resource(r) for r in CORE.values()],
                                "freshness": "Current"}]}]
    else:
        items = [{"metadata": {"name": GROUP, "creationTimestamp": None},
                  "versions": [{"version": VERSION, "resources": [_aggregated_resource(r) for r in ACK_RESOURCES],
                                "freshness": "Current"}]}]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


# --- OpenAPI v3

_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string"}, "description": d} for n, d in (
    ("fieldValidation", "Ignore, Warn or Strict: what the server does with unknown or duplicated fields."),
    ("fieldManager", "The name of the actor making the change."),
    ("dryRun", "All: check the request without keeping it."))]


def _operations(r: Resource, ref: str) -> dict:
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    body = {"content": {"application/json": {"schema": {"$ref": ref}}}}
    patch_body = {"content": {t: {"schema": {"type": "object"}} for t in
                              ("application/json-patch+json", "application/merge-patch+json",
                               "application/apply-patch+yaml")}}
    answer = {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}

    def op(verb, action, **extra):
        return {"operationId": f"{verb}{r.kind}", "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk, "responses": answer, **extra}

    return {"get": op("read", "get"), "put": op("replace", "put", requestBody=body, parameters=_PARAMS),
            "patch": op("patch", "patch", requestBody=patch_body, parameters=_PARAMS),
            "delete": op("delete", "delete")}


def _definition_name(r: Resource) -> str:
    return f"io.k8s.services.sagemaker.{r.version}.{r.kind}" if r.group else f"io.k8s.api.core.v1.{r.kind}"


@functools.lru_cache(maxsize=None)
def openapi_group(core: bool) -> bytes:
    resources = list(CORE.values()) if core else ACK_RESOURCES
    schemas, paths = {}, {}
    for r in resources:
        name = _definition_name(r)
        if r.ack is not None:
            schema = dict(kind_schema(r.ack))
        else:
            schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                      "description": f"core/v1 {r.kind}",
                      "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": r.kind}]}
        schemas[name] = schema
        ref = f"#/components/schemas/{name}"
        prefix = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
        item = f"{prefix}/namespaces/{{namespace}}/{r.plural}/{{name}}" if r.namespaced else \
            f"{prefix}/{r.plural}/{{name}}"
        paths[item] = _operations(r, ref)
        collection = item.rsplit("/", 1)[0]
        paths[collection] = {"post": {"operationId": f"create{r.kind}", "x-kubernetes-action": "post",
                                      "x-kubernetes-group-version-kind": paths[item]["get"][
                                          "x-kubernetes-group-version-kind"],
                                      "parameters": _PARAMS,
                                      "requestBody": {"content": {"application/json": {"schema": {"$ref": ref}}}},
                                      "responses": paths[item]["get"]["responses"]}}
        if r.ack is not None:
            paths[item + "/status"] = _operations(r, ref)
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
           "components": {"schemas": schemas}}
    return json.dumps(doc).encode()


def openapi_root() -> dict:
    def entry(core: bool, path: str) -> dict:
        digest = hashlib.sha512(openapi_group(core)).hexdigest()[:32].upper()
        return {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}

    return {"paths": {"api/v1": entry(True, "api/v1"),
                      f"apis/{GROUP}/{VERSION}": entry(False, f"apis/{GROUP}/{VERSION}")}}
