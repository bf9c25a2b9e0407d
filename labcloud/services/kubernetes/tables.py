"""The server-side Table `kubectl get` asks for (Accept: ...;as=Table;g=meta.k8s.io): NAME and the kind's
printer columns as the controller's CRDs declare them (kubectl shows those of priority 0, the rest with -o
wide); a kind whose CRD declares none gets AGE, as an API server gives any CRD without printer columns."""

from __future__ import annotations

import datetime as dt

from labcloud.services.kubernetes.resources import Resource


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    then = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    seconds = max(0, int((dt.datetime.now(dt.timezone.utc) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds < 600 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m" if seconds < 36000 else f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _columns(resource: Resource) -> list[tuple[str, str | None, int]]:
    if resource.ack is not None and resource.ack.printer_columns:
        return list(resource.ack.printer_columns)
    if resource.plural == "namespaces":
        return [("STATUS", "phase", 0), ("AGE", None, 0)]
    return [("AGE", None, 0)]


def _cell(obj: dict, resource: Resource, path: str):
    if resource.plural == "events":
        return obj.get(path)
    return (obj.get("status") or {}).get(path, "")


def table(resource: Resource, objects: list[dict], version: str) -> dict:
    if resource.plural == "events":
        columns = [("LAST SEEN", None, 0), ("TYPE", "type", 0), ("REASON", "reason", 0), ("OBJECT", None, 0),
                   ("MESSAGE", "message", 0)]
    else:
        columns = [("NAME", None, 0)] + _columns(resource)
    definitions = [{"name": name.title() if name != "NAME" else "Name", "type": "string",
                    "format": "name" if name == "NAME" else "", "description": name, "priority": priority}
                   for name, _, priority in columns]
    rows = []
    for obj in objects:
        meta = obj["metadata"]
        cells = []
        for name, path, _ in columns:
            if name == "NAME":
                cells.append(meta["name"])
            elif name == "AGE":
                cells.append(age(meta.get("creationTimestamp")))
            elif name == "LAST SEEN":
                cells.append(age(obj.get("lastTimestamp") or meta.get("creationTimestamp")))
            elif name == "OBJECT":
                involved = obj.get("involvedObject", {})
                cells.append(f"{involved.get('kind', '').lower()}/{involved.get('name', '')}")
            else:
                cells.append(_cell(obj, resource, path))
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        rows.append({"cells": cells, "object": partial})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": version},
            "columnDefinitions": definitions, "rows": rows}
