"""A pipeline definition (the JSON SDK v2 writes, Version 2020-12-01) read and checked as a graph.

Checked when a pipeline is created or updated (ValidationException naming the culprit): the JSON itself,
parameter types and defaults, unique step names, every {"Get": "Parameters.X"}, {"Get": "Steps.X..."},
{"Get": "Execution.X"} and DependsOn naming something that exists, and no cycle. Checked when an execution
starts: the parameter values given, and that every step is of a type labcloud runs offline.

A step depends on the steps it names in DependsOn, on every step its arguments (or conditions) refer to,
and, when it sits in a Condition step's IfSteps or ElseSteps, on that condition step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from labcloud.core.errors import ValidationException

RUNNABLE = {"Processing", "Training", "Transform", "Model", "RegisterModel", "Condition", "Fail"}
PARAMETER_TYPES = {"String", "Integer", "Float", "Boolean"}
EXECUTION_VARIABLES = {"PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "PipelineArn",
                       "StartDateTime", "CurrentDateTime", "TrainingJobName", "ProcessingJobName"}
_STEP_REFERENCE = re.compile(r"Steps\.([^.\[]+)")


def invalid(message: str) -> ValidationException:
    return ValidationException(f"Invalid pipeline definition: {message}")


@dataclass
class StepSpec:
    name: str
    type: str
    arguments: dict
    raw: dict
    depends_on: set[str] = field(default_factory=set)
    branch: tuple[str, bool] | None = None  # (condition step, True for IfSteps / False for ElseSteps)

    @property
    def cache(self) -> dict | None:
        config = self.raw.get("CacheConfig") or {}
        return config if config.get("Enabled") else None

    @property
    def retry_policies(self) -> list[dict]:
        return self.raw.get("RetryPolicies") or []

    @property
    def property_files(self) -> dict[str, dict]:
        return {p["PropertyFileName"]: p for p in self.raw.get("PropertyFiles") or []}


@dataclass
class Definition:
    raw: dict
    parameters: dict[str, dict]
    steps: dict[str, StepSpec]

    def unsupported(self) -> list[StepSpec]:
        return [s for s in self.steps.values() if s.type not in RUNNABLE]

    def parameter_values(self, given: list[dict]) -> dict:
        """The execution's parameters: the defaults, overridden by StartPipelineExecution's values."""
        values = {name: spec.get("DefaultValue") for name, spec in self.parameters.items()}
        for item in given or []:
            name = item.get("Name")
            if name not in self.parameters:
                raise ValidationException(f"Parameter {name} is not defined in the pipeline definition; its "
                                          f"parameters are {', '.join(self.parameters) or 'none'}.")
            values[name] = coerce(name, self.parameters[name]["Type"], item.get("Value"))
        missing = [n for n, v in values.items() if v is None]
        if missing:
            raise ValidationException(f"Parameters {', '.join(missing)} have no default value: give them in "
                                      "PipelineParameters.")
        return values


def coerce(name: str, kind: str, value):
    """A parameter value as its type (StartPipelineExecution sends every value as a string)."""
    try:
        if kind == "String":
            return str(value)
        if kind == "Boolean":
            text = str(value).lower()
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if kind == "Integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value)) if not isinstance(value, (int, float)) else int(value)
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValidationException(f"Parameter {name} is of type {kind}, and {value!r} is not a valid {kind} "
                                  "value.") from None


def parse(text: str) -> Definition:
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise invalid(f"it is not valid JSON ({err}).") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("Steps"), list):
        raise invalid("it must be a JSON object with a list of Steps.")
    parameters = _parameters(raw.get("Parameters") or [])
    steps: dict[str, StepSpec] = {}
    _collect(raw["Steps"], steps, None)
    for step in steps.values():
        _dependencies(step, steps, parameters)
    _check_acyclic(steps)
    return Definition(raw, parameters, steps)


def _parameters(items: list) -> dict[str, dict]:
    parameters = {}
    for item in items:
        name, kind = item.get("Name"), item.get("Type")
        if not name or kind not in PARAMETER_TYPES:
            raise invalid(f"parameter {name!r} needs a Name and a Type of {', '.join(sorted(PARAMETER_TYPES))}.")
        if name in parameters:
            raise invalid(f"parameter {name} is defined twice.")
        if item.get("DefaultValue") is not None:
            try:
                coerce(name, kind, item["DefaultValue"])
            except ValidationException:
                raise invalid(f"the DefaultValue {item['DefaultValue']!r} of parameter {name} is not a {kind}.") from None
        parameters[name] = item
    return parameters


def _collect(items: list, steps: dict, branch) -> None:
    for item in items:
        name, kind = item.get("Name"), item.get("Type")
        if not isinstance(name, str) or not name or not isinstance(kind, str):
            raise invalid(f"every step needs a Name and a Type; got {json.dumps(item)[:200]}.")
        if name in steps:
            raise invalid(f"two steps are named {name}; step names must be unique.")
        arguments = item.get("Arguments") or {}
        steps[name] = StepSpec(name, kind, arguments, item, set(item.get("DependsOn") or []), branch)
        if kind == "Condition":
            _collect(arguments.get("IfSteps") or [], steps, (name, True))
            _collect(arguments.get("ElseSteps") or [], steps, (name, False))


def references(value) -> list[str]:
    """Every {"Get": ...} reference in a value (PropertyFile references included)."""
    found = []
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            return [value["Get"]]
        for item in value.values():
            found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def _dependencies(step: StepSpec, steps: dict, parameters: dict) -> None:
    arguments = step.arguments
    if step.type == "Condition":
        arguments = {k: v for k, v in arguments.items() if k not in ("IfSteps", "ElseSteps")}
    for reference in references(arguments):
        _check_reference(step.name, reference, steps, parameters)
        match = _STEP_REFERENCE.match(reference)
        if match:
            step.depends_on.add(match.group(1))
    for name in step.depends_on:
        if name not in steps:
            raise invalid(f"step {step.name} depends on step {name}, which the definition does not have.")
    if step.branch:
        step.depends_on.add(step.branch[0])


def _check_reference(step: str, reference: str, steps: dict, parameters: dict) -> None:
    kind, _, rest = reference.partition(".")
    if kind == "Parameters":
        if rest not in parameters:
            raise invalid(f"step {step} refers to parameter {rest}, which the definition does not have.")
    elif kind == "Execution":
        if rest not in EXECUTION_VARIABLES:
            raise invalid(f"step {step} refers to {reference}; the execution variables are "
                          f"{', '.join(sorted(EXECUTION_VARIABLES))}.")
    elif kind == "Steps":
        name = _STEP_REFERENCE.match(reference).group(1) if _STEP_REFERENCE.match(reference) else ""
        if name not in steps:
            raise invalid(f"step {step} refers to step {name}, which the definition does not have.")
        if name == step:
            raise invalid(f"step {step} refers to its own properties.")
    else:
        raise invalid(f"step {step} refers to {reference!r}: a reference starts with Parameters., Steps. or Execution.")


def _check_acyclic(steps: dict[str, StepSpec]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise invalid(f"the steps {' -> '.join(cycle)} depend on each other in a cycle.")
        state[name] = 1
        for dependency in sorted(steps[name].depends_on):
            visit(dependency, path + [name])
        state[name] = 2

    for name in steps:
        visit(name, [])
