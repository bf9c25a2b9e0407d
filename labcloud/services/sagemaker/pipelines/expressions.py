"""The values of a pipeline definition, as SageMaker Pipelines evaluates them when a step starts.

    {"Get": "Parameters.<Name>"}                     the execution's value of a parameter
    {"Get": "Execution.<Variable>"}                  PipelineExecutionId, PipelineExecutionArn, PipelineName,
                                                     PipelineArn, StartDateTime, CurrentDateTime (and the
                                                     step's own TrainingJobName / ProcessingJobName)
    {"Get": "Steps.<Step>.<path>"}                   a path into the step's Describe* answer, e.g.
                                                     ModelArtifacts.S3ModelArtifacts or
                                                     ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri
    {"Std:Join": {"On": sep, "Values": [...]}}       the values as text, joined
    {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.<Step>.PropertyFiles.<Name>"} | "S3Uri": ..., "Path": p}}
                                                     a value from a JSON file a processing step wrote
    conditions {Type, LeftValue, RightValue}         Equals, GreaterThan(OrEqualTo), LessThan(OrEqualTo);
               {Type: In, QueryValue, Values}; {Type: Not, Condition}; {Type: Or, Conditions}

Evaluation errors are StepFailure: the step that needed the value fails with the message.
"""

from __future__ import annotations

import json
import re
from typing import Callable

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class StepFailure(Exception):
    """A step cannot go on; the message is its FailureReason."""


def parse_path(path: str) -> list:
    """'Outputs['train'].S3Output.S3Uri' -> ['Outputs', ('key', 'train'), 'S3Output', 'S3Uri']."""
    tokens, position = [], 0
    while position < len(path):
        if path[position] == ".":
            position += 1
            continue
        match = _TOKEN.match(path, position)
        if match is None:
            raise ValueError(f"cannot read the property path {path!r} at {path[position:]!r}")
        name, index, key1, key2 = match.groups()
        tokens.append(name if name is not None else int(index) if index is not None else ("key", key1 or key2 or ""))
        position = match.end()
    return tokens


def follow(value, tokens: list, where: str):
    """Walk a Describe answer (or a JSON document) along parsed path tokens."""
    for token in tokens:
        if isinstance(token, int):
            if not isinstance(value, list) or token >= len(value):
                raise StepFailure(f"{where}: there is no item {token}")
            value = value[token]
        elif isinstance(token, tuple):
            value = _keyed(value, token[1], where)
        else:
            if not isinstance(value, dict) or token not in value:
                raise StepFailure(f"{where}: there is no {token}")
            value = value[token]
    return value


def _keyed(value, key: str, where: str):
    """x['k']: a map's entry, or the list item whose ...Name member is k (Outputs by OutputName,
    FinalMetricDataList by MetricName, InputDataConfig by ChannelName)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and any(k.endswith("Name") and v == key for k, v in item.items()):
                return item
    raise StepFailure(f"{where}: there is no item named {key!r}")


def json_path(document, path: str, where: str):
    """JsonGet's Path: dots and [index] into a JSON document (metrics.accuracy.value, items[0].x)."""
    try:
        tokens = parse_path(path)
    except ValueError as err:
        raise StepFailure(f"{where}: {err}") from None
    return follow(document, tokens, f"{where}: the path {path!r} is not in the JSON file")


def text(value) -> str:
    """A value as Std:Join writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class Evaluator:
    """Evaluates the expressions of one step's arguments.

    resolve_get(reference) answers a {"Get": reference}; read_property_file(step, name) and
    read_s3_json(uri) read the JSON documents JsonGet asks for."""

    def __init__(self, resolve_get: Callable[[str], object], read_property_file: Callable[[str, str], object],
                 read_s3_json: Callable[[str], object]):
        self.resolve_get = resolve_get
        self.read_property_file = read_property_file
        self.read_s3_json = read_s3_json

    def value(self, expression):
        if isinstance(expression, list):
            return [self.value(item) for item in expression]
        if not isinstance(expression, dict):
            return expression
        if set(expression) == {"Get"} and isinstance(expression["Get"], str):
            return self.resolve_get(expression["Get"])
        if set(expression) == {"Std:Join"}:
            join = expression["Std:Join"]
            return text(join.get("On", "")).join(text(self.value(v)) for v in join.get("Values", []))
        if set(expression) == {"Std:JsonGet"}:
            return self._json_get(expression["Std:JsonGet"])
        return {key: self.value(item) for key, item in expression.items()}

    def _json_get(self, spec: dict):
        if "PropertyFile" in spec:
            reference = spec["PropertyFile"].get("Get", "") if isinstance(spec["PropertyFile"], dict) else ""
            match = re.fullmatch(r"Steps\.(.+)\.PropertyFiles\.([^.]+)", reference)
            if match is None:
                raise StepFailure(f"JsonGet: {reference!r} does not name a step's property file")
            document = self.read_property_file(match.group(1), match.group(2))
            where = f"JsonGet on {match.group(2)} of step {match.group(1)}"
        else:
            uri = self.value(spec.get("S3Uri"))
            document = self.read_s3_json(uri)
            where = f"JsonGet on {uri}"
        return json_path(document, self.value(spec.get("Path", "")), where)

    def condition(self, spec: dict) -> bool:
        kind = spec.get("Type")
        if kind == "Not":
            return not self.condition(spec["Condition"])
        if kind == "Or":
            return any(self.condition(c) for c in spec["Conditions"])
        if kind == "In":
            query = self.value(spec["QueryValue"])
            return any(_equal(query, self.value(v)) for v in spec["Values"])
        left, right = self.value(spec.get("LeftValue")), self.value(spec.get("RightValue"))
        if kind == "Equals":
            return _equal(left, right)
        compare = {"GreaterThan": lambda a, b: a > b, "GreaterThanOrEqualTo": lambda a, b: a >= b,
                   "LessThan": lambda a, b: a < b, "LessThanOrEqualTo": lambda a, b: a <= b}.get(kind)
        if compare is None:
            raise StepFailure(f"Unknown condition type {kind!r}")
        try:
            return compare(_number(left), _number(right))
        except (TypeError, ValueError):
            raise StepFailure(f"Condition {kind}: cannot compare {left!r} with {right!r}; both must be numbers") from None


def _number(value):
    if isinstance(value, bool):
        raise TypeError(value)
    return value if isinstance(value, (int, float)) else float(value)


def _equal(left, right) -> bool:
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
        return float(left) == float(right)
    return left == right
