"""Server-side field validation of a custom resource against its structural schema, as kube-apiserver does.

    unknown fields   Strict: 400 "strict decoding error: unknown field \"spec.RoleARN\"" (every one, in
                     order); Warn (the default): dropped, each named in a Warning header; Ignore: dropped
    wrong types      422 Invalid: spec.resourceConfig.instanceCount: Invalid value: "string": ... must be
                     of type integer
    required fields  422 Invalid: spec.roleARN: Required value

A map's keys (additionalProperties) are data and never unknown; a schema with
x-kubernetes-preserve-unknown-fields keeps whatever it holds.
"""

from __future__ import annotations

import json

OBJECT_META = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields"}
_TYPES = {"string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float), "object": (dict,),
          "array": (list,)}


def _show(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return '"' + ("object" if isinstance(value, dict) else "array") + '"'
    return json.dumps(value)


# The order in which _TYPES names a value: boolean before integer (True is an int to Python, a boolean
# to JSON), integer before number (an int is both).
_NAMING_ORDER = ("boolean", "integer", "number", "string", "array", "object")


def _type_of(value) -> str:
    return next((name for name in _NAMING_ORDER if isinstance(value, _TYPES[name])), "null")


def prune(value, schema: dict, path: str, unknown: list[str]):
    """`value` without the fields its schema does not know; their paths go to `unknown`."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict) and schema.get("type") == "object":
        if "properties" in schema:
            kept = {}
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                if key in schema["properties"]:
                    kept[key] = prune(item, schema["properties"][key], where, unknown)
                else:
                    unknown.append(where)
            return kept
        if isinstance(schema.get("additionalProperties"), dict):
            return {key: prune(item, schema["additionalProperties"], f"{path}[{key}]", unknown)
                    for key, item in value.items()}
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(item, schema["items"], f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    return value


def type_and_required_errors(value, schema: dict, path: str, causes: list[dict]) -> None:
    wanted = schema.get("type")
    if value is None:
        return
    if wanted and not isinstance(value, _TYPES[wanted]) or (wanted in ("integer", "number", "string", "object",
                                                                         "array") and isinstance(value, bool)):
        if not (wanted == "integer" and isinstance(value, float) and value.is_integer()):
            causes.append({"reason": "FieldValueTypeInvalid", "field": path,
                           "message": f"Invalid value: {_show(value)}: {path} in body must be of type {wanted}: "
                                      f"\"{_type_of(value)}\""})
            return
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                causes.append({"reason": "FieldValueRequired", "field": f"{path}.{name}", "message": "Required value"})
        for key, item in value.items():
            if key in schema.get("properties", {}):
                type_and_required_errors(item, schema["properties"][key], f"{path}.{key}", causes)
            elif isinstance(schema.get("additionalProperties"), dict):
                type_and_required_errors(item, schema["additionalProperties"], f"{path}[{key}]", causes)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            type_and_required_errors(item, schema["items"], f"{path}[{i}]", causes)


def check_object(obj: dict, schema: dict) -> tuple[dict, list[str], list[dict]]:
    """(the object pruned of unknown fields, their paths, the schema errors) of an object and its kind's schema;
    metadata is checked against ObjectMeta's fields."""
    unknown: list[str] = []
    pruned = {}
    for key, item in obj.items():
        if key == "metadata" and isinstance(item, dict):
            for field in item:
                if field not in OBJECT_META:
                    unknown.append(f"metadata.{field}")
            pruned[key] = {k: v for k, v in item.items() if k in OBJECT_META}
        elif key in schema["properties"]:
            pruned[key] = prune(item, schema["properties"][key], key, unknown)
        else:
            unknown.append(key)
    causes: list[dict] = []
    for key in ("spec", "status"):
        if key in pruned:
            type_and_required_errors(pruned[key], schema["properties"][key], key, causes)
    return pruned, unknown, causes
