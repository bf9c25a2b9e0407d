"""The patch formats a custom resource takes: JSON merge patch (RFC 7386, what `kubectl apply` and
`kubectl patch --type merge` send) and JSON patch (RFC 6902, `--type json`). A strategic merge patch is
refused with 415, as kube-apiserver refuses it for a custom resource."""

from __future__ import annotations

import copy

from labcloud.services.kubernetes.statuses import KubeError, bad_request


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'the JSON patch path "{path}" does not start with "/"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc, parts: list[str], path: str):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KubeError(422, "Invalid", f'the server rejected our request due to an error in our request: '
                                           f'doc is missing path: "{path}"')
    return node


def _get(doc, path: str):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    key = parts[-1]
    try:
        return parent[int(key)] if isinstance(parent, list) else parent[key]
    except (KeyError, IndexError, ValueError):
        raise KubeError(422, "Invalid", f'doc is missing path: "{path}"') from None


def _add(doc, path: str, value):
    parts = _pointer(path)
    if not parts:
        return value
    parent, key = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, list):
        if key == "-":
            parent.append(value)
        elif key.isdigit() and int(key) <= len(parent):
            parent.insert(int(key), value)
        else:
            raise KubeError(422, "Invalid", f'add operation does not apply: index out of range: "{path}"')
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise KubeError(422, "Invalid", f'doc is missing path: "{path}"')
    return doc


def _remove(doc, path: str):
    parts = _pointer(path)
    parent, key = _parent(doc, parts, path), parts[-1]
    try:
        if isinstance(parent, list):
            del parent[int(key)]
        else:
            del parent[key]
    except (KeyError, IndexError, ValueError):
        raise KubeError(422, "Invalid", f'the server rejected our request due to an error in our request: '
                                       f'Unable to remove nonexistent key: {key}: missing value') from None
    return doc


def json_patch(doc, operations):
    if not isinstance(operations, list):
        raise bad_request("the JSON patch is not a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"a JSON patch operation needs op and path: {op}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, copy.deepcopy(op.get("value"))) if _pointer(path) else op.get("value")
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise KubeError(422, "Invalid", f'the server rejected our request due to an error in our request: '
                                               f'testing value {path} failed')
        else:
            raise bad_request(f'Unexpected kind: {kind}')
    return doc
