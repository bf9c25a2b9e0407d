"""Template properties as an API's parameters, driven by botocore's model of that API.

Templates spell members in PascalCase; CodeBuild, CodePipeline and CodeCommit name theirs in camelCase
(`Source: {Type, BuildSpec}` is `source: {type, buildspec}`). Rather than a table per field, the walk
follows the operation's input shape: a structure's keys become its members' names (matched without
regard to case), a map's keys stay as they are (CodePipeline's action Configuration: RepositoryName,
ProjectName, ...), and scalars take the member's type, as CloudFormation's resource providers convert the
text a template gives (a Number parameter "2" where an integer belongs, `false` where a string belongs).
Keys no member matches are passed on unchanged, for botocore's own validation to name."""

from __future__ import annotations

from labcloud.protocols.validation import service_model as _model  # botocore's model, loaded once


def operation_params(service: str, operation: str, properties: dict) -> dict:
    """`properties` as the parameters of `operation` (its API name: CreateProject)."""
    return convert(properties, _model(service).operation_model(operation).input_shape)


def shape_value(service: str, shape_name: str, value):
    """`value` as botocore's shape `shape_name` of `service` (PipelineDeclaration)."""
    return convert(value, _model(service).shape_for(shape_name))


def convert(value, shape):
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        by_lower = {name.lower(): name for name in members}
        converted = {}
        for key, item in value.items():
            name = key if key in members else by_lower.get(str(key).lower(), key)
            converted[name] = convert(item, members.get(name))
        return converted
    if kind == "list" and isinstance(value, list):
        return [convert(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(key): convert(item, shape.value) for key, item in value.items()}
    return _scalar(value, kind)


def _scalar(value, kind: str):
    """The template's value as the member's type, when it is one in another spelling; else unchanged."""
    try:
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (int, float)):
                return str(value)
        elif kind in ("integer", "long"):
            if isinstance(value, str):
                return int(value.strip())
            if isinstance(value, float) and value.is_integer():
                return int(value)
        elif kind in ("float", "double"):
            if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
                return float(value)
        elif kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    except ValueError:
        pass
    return value
