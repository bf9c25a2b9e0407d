"""The OpenAPI v3 schemas of the kinds (structural, as a CRD's), generated from botocore's SageMaker model.

    spec    the create call's input members, ACK's names (naming.py), minus those the controller leaves out
    status  ackResourceMetadata, conditions, and the describe call's status_members

botocore types map as a CRD's do: structure -> object with properties (and its required members), list ->
array, map -> object whose additionalProperties is the value's schema (its keys are data, not fields),
long/integer -> integer (int64), float/double -> number, timestamp -> string date-time, blob -> string
byte. A shape met again inside itself (a recursive model) is an object that keeps unknown fields.
Each kind's document is built once, on first use.
"""

from __future__ import annotations

import functools

from labcloud.protocols.validation import service_model
from labcloud.services.kubernetes.kinds import GROUP, VERSION, Kind
from labcloud.services.kubernetes.naming import ack_name

_SCALARS = {"string": {"type": "string"}, "boolean": {"type": "boolean"},
            "integer": {"type": "integer", "format": "int64"}, "long": {"type": "integer", "format": "int64"},
            "float": {"type": "number"}, "double": {"type": "number"},
            "timestamp": {"type": "string", "format": "date-time"}, "blob": {"type": "string", "format": "byte"}}


def _doc(shape) -> str:
    import re

    text = re.sub(r"<[^>]+>", "", shape.documentation or "").strip()
    return text.split("\n")[0][:400]


def shape_schema(shape, seen: tuple = (), describe: bool = True) -> dict:
    """The OpenAPI schema of a botocore shape."""
    if shape.type_name in _SCALARS:
        schema = dict(_SCALARS[shape.type_name])
    elif shape.name in seen:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    elif shape.type_name == "list":
        schema = {"type": "array", "items": shape_schema(shape.member, seen + (shape.name,), False)}
    elif shape.type_name == "map":
        schema = {"type": "object", "additionalProperties": shape_schema(shape.value, seen + (shape.name,), False)}
    else:
        inner = seen + (shape.name,)
        schema = {"type": "object",
                  "properties": {ack_name(name): shape_schema(member, inner) for name, member in shape.members.items()}}
    if describe and shape.documentation:
        schema["description"] = _doc(shape)
    return schema


def _metadata_schema() -> dict:
    return {"type": "object",
            "properties": {"arn": {"type": "string", "description": "The resource's Amazon Resource Name."},
                           "ownerAccountID": {"type": "string", "description": "The AWS account that owns it."},
                           "partition": {"type": "string", "description": "The AWS partition it lives in."},
                           "region": {"type": "string", "description": "The AWS region it lives in."}},
            "required": ["ownerAccountID", "region"],
            "description": "What identifies the AWS resource behind this object."}


def _conditions_schema() -> dict:
    condition = {"type": "object", "required": ["status", "type"], "properties": {
        "type": {"type": "string", "description": "ACK.ResourceSynced, ACK.Terminal, ACK.Recoverable, ..."},
        "status": {"type": "string", "description": "True, False or Unknown."},
        "reason": {"type": "string"}, "message": {"type": "string"},
        "lastTransitionTime": {"type": "string", "format": "date-time"}}}
    return {"type": "array", "items": condition,
            "description": "What the controller last found: synced, or the error that stops it."}


@functools.lru_cache(maxsize=None)
def spec_schema(kind: Kind) -> dict:
    model = service_model("sagemaker")
    shape = model.operation_model(kind.create).input_shape
    members = {name: member for name, member in shape.members.items() if name not in kind.omitted}
    schema = {"type": "object", "description": f"The desired state of the {kind.kind}: {kind.create}'s request.",
              "properties": {ack_name(name): shape_schema(member, (shape.name,)) for name, member in members.items()}}
    required = sorted({ack_name(name) for name in (*shape.required_members, *kind.also_required) if name in members})
    if required:
        schema["required"] = required
    return schema


@functools.lru_cache(maxsize=None)
def status_schema(kind: Kind) -> dict:
    output = service_model("sagemaker").operation_model(kind.describe).output_shape
    properties = {"ackResourceMetadata": _metadata_schema(), "conditions": _conditions_schema()}
    for name in kind.status_members:
        properties[ack_name(name)] = shape_schema(output.members[name], (output.name,))
    return {"type": "object", "properties": properties,
            "description": f"The observed state of the {kind.kind}: {kind.describe}'s answer."}


@functools.lru_cache(maxsize=None)
def kind_schema(kind: Kind) -> dict:
    """The whole object's schema, as a CRD's openAPIV3Schema (with the kind's group-version-kind)."""
    return {
        "type": "object",
        "description": f"{kind.kind} is the Schema for the {kind.kind}s API (ACK SageMaker controller).",
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this "
                                                            "representation of an object."},
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource "
                                                      "this object represents."},
            "metadata": {"type": "object", "description": "Standard object's metadata: name, namespace, labels, "
                                                          "annotations, finalizers, ..."},
            "spec": spec_schema(kind),
            "status": status_schema(kind),
        },
        "x-kubernetes-group-version-kind": [{"group": GROUP, "version": VERSION, "kind": kind.kind}],
    }
