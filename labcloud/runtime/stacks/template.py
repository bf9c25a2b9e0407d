"""A template's text as sections: YAML (with CloudFormation's short-form tags) or JSON, checked for the
format errors CloudFormation refuses before it makes anything."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from labcloud.runtime.stacks.errors import template_error

SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
            "Conditions", "Transform", "Resources", "Outputs"}
RESOURCE_ATTRIBUTES = {"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
                       "Metadata", "CreationPolicy", "UpdatePolicy"}
PARAMETER_TYPES = {"String", "Number", "List<Number>", "CommaDelimitedList"}
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_SCALAR_TAGS = {"Ref", "Condition"}  # !Ref x is {"Ref": x}; every other tag !X is {"Fn::X": ...}


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader with the short forms (!Ref, !Sub, !GetAtt, ...). A private subclass: PyYAML's own
    loaders stay as they were."""


# Dates stay strings: AWSTemplateFormatVersion: 2010-09-09 is text to CloudFormation, not a date.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    key = suffix if suffix in _SCALAR_TAGS else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":  # !GetAtt Logical.Attribute.With.Dots
            logical, _, attribute = value.partition(".")
            return {key: [logical, attribute]}
        return {key: value}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    return {key: loader.construct_mapping(node, deep=True)}


_TemplateLoader.add_multi_constructor("!", _short_form)


@dataclass
class Template:
    description: str
    parameters: dict[str, dict]
    mappings: dict[str, dict]
    conditions: dict[str, object]
    resources: dict[str, dict]
    outputs: dict[str, dict]


def load(text: str) -> dict:
    """The template's document: JSON when it is an object, else YAML."""
    if not isinstance(text, str) or not text.strip():
        raise template_error("The template is empty.")
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise template_error(f"JSON not well-formed. (line {err.lineno}, column {err.colno})") from None
    else:
        try:
            document = yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise template_error(f"YAML not well-formed.{where}") from None
    if not isinstance(document, dict):
        raise template_error("The template must be an object of sections (Parameters, Resources, ...).")
    return document


def parse(text: str, known_types) -> Template:
    """The template's sections, refused as CloudFormation refuses them; `known_types` are the resource
    types there are handlers for."""
    document = load(text)
    unknown = sorted(set(document) - SECTIONS)
    if unknown:
        raise template_error(f"Invalid template property or properties [{', '.join(unknown)}]")
    version = document.get("AWSTemplateFormatVersion")
    if version is not None and str(version) != "2010-09-09":
        raise template_error("Unsupported template version: AWSTemplateFormatVersion can only be 2010-09-09.")
    if "Transform" in document:
        raise template_error(f"Transform {document['Transform']} is not supported: labcloud's stacks engine "
                             "deploys templates without macros.")
    sections = {name: document.get(name) or {} for name in ("Parameters", "Mappings", "Conditions", "Outputs")}
    for name, value in sections.items():
        if not isinstance(value, dict):
            raise template_error(f"{name} must be an object.")
    resources = document.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise template_error("At least one Resources member must be defined.")
    _check_parameters(sections["Parameters"])
    _check_resources(resources, known_types)
    for name, output in sections["Outputs"].items():
        if not isinstance(output, dict) or "Value" not in output:
            raise template_error(f"Every Outputs member must contain a Value object (Outputs.{name}).")
    description = document.get("Description", "")
    return Template(description=description if isinstance(description, str) else str(description),
                    parameters=sections["Parameters"], mappings=sections["Mappings"],
                    conditions=sections["Conditions"], resources=resources, outputs=sections["Outputs"])


def _check_parameters(parameters: dict) -> None:
    for name, declaration in parameters.items():
        if not _LOGICAL_ID.fullmatch(str(name)):
            raise template_error(f"Parameter name {name} is non alphanumeric.")
        if not isinstance(declaration, dict) or "Type" not in declaration:
            raise template_error(f"Every Parameters object must contain a Type member (Parameters.{name}).")
        kind = declaration["Type"]
        if kind not in PARAMETER_TYPES and not (isinstance(kind, str) and kind.startswith("AWS::")
                                                and "::SSM::" not in kind):
            raise template_error(f"Unrecognized parameter type: {kind}")


def _check_resources(resources: dict, known_types) -> None:
    unrecognized = []
    for logical, resource in resources.items():
        if not _LOGICAL_ID.fullmatch(str(logical)):
            raise template_error(f"Resource name {logical} is non alphanumeric.")
        if not isinstance(resource, dict) or "Type" not in resource:
            raise template_error(f"Every Resources object must contain a Type member (Resources.{logical}).")
        extra = sorted(set(resource) - RESOURCE_ATTRIBUTES)
        if extra:
            raise template_error(f"Invalid template resource property '{extra[0]}' (Resources.{logical}).")
        if not isinstance(resource.get("Properties", {}), dict):
            raise template_error(f"Properties of {logical} must be an object.")
        if resource["Type"] not in known_types and resource["Type"] not in unrecognized:
            unrecognized.append(resource["Type"])
    if unrecognized:
        raise template_error(f"Unrecognized resource types: [{', '.join(map(str, unrecognized))}]")


def depends_on(logical: str, resource: dict) -> list[str]:
    value = resource.get("DependsOn", [])
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise template_error(f"DependsOn of {logical} must be a resource name or a list of them.")
    return names
