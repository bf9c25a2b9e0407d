"""A template and its parameters made into a plan: which resources exist (their Condition holds), what
each depends on, and the order they are made in. Everything a template can get wrong that does not need a
resource to be made is refused here, before anything is."""

from __future__ import annotations

from dataclasses import dataclass

from labcloud.runtime.stacks import parameters as stack_parameters
from labcloud.runtime.stacks.errors import template_error
from labcloud.runtime.stacks.graph import creation_order
from labcloud.runtime.stacks.handlers import HANDLERS
from labcloud.runtime.stacks.intrinsics import Scope
from labcloud.runtime.stacks.template import Template, depends_on, parse


@dataclass
class Plan:
    template: Template
    scope: Scope
    parameters: dict[str, str]  # as the record shows them
    order: list[str]  # the resources that exist, dependencies first
    dependencies: dict[str, set[str]]
    outputs: list[str]  # the outputs whose Condition holds


def pseudo_parameters(stack_name: str, stack_id: str, region: str, account_id: str) -> dict:
    return {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::StackName": stack_name,
            "AWS::StackId": stack_id, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": []}


def make_plan(text: str, given: dict, stack_name: str, stack_id: str, region: str, account_id: str) -> Plan:
    template = parse(text, HANDLERS)
    values, texts = stack_parameters.resolve(template.parameters, given)
    attribute_names = {logical: HANDLERS[r["Type"]].attribute_names for logical, r in template.resources.items()}
    scope = Scope(values, pseudo_parameters(stack_name, stack_id, region, account_id), template.mappings,
                  template.conditions, attribute_names)
    for name in template.conditions:  # every condition is checked, used or not, as CloudFormation does
        scope.condition(name)
    for logical, resource in template.resources.items():
        if "Condition" in resource and not scope.condition(resource["Condition"]):
            scope.exclude(logical)
    existing = [logical for logical in template.resources if scope.has_resource(logical)]
    dependencies = {}
    for logical in existing:
        resource = template.resources[logical]
        named = depends_on(logical, resource)
        unknown = [n for n in named if not scope.has_resource(n)]
        if unknown:
            raise template_error(f"Unresolved resource dependencies [{', '.join(unknown)}] in the Resources "
                                 "block of the template")
        dependencies[logical] = set(named) | scope.references(resource.get("Properties", {}))
    order = creation_order(dependencies)
    outputs = []
    for name, output in template.outputs.items():
        if "Condition" in output and not scope.condition(output["Condition"]):
            continue
        scope.references(output["Value"], block="Outputs")
        outputs.append(name)
    return Plan(template, scope, texts, order, dependencies, outputs)
