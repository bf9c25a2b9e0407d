"""AWS::Events::Rule: Ref is the rule's name (bus|name on a bus other than the default one); EventPattern
may be an object, sent as its JSON. Targets are kept in step with the template: those gone are removed."""

from __future__ import annotations

import json

from labcloud.runtime.stacks.api_shapes import operation_params
from labcloud.runtime.stacks.errors import ResourceFailure
from labcloud.runtime.stacks.handlers.base import HandlerContext, ResourceHandler, call, without

ABSENT = ("ResourceNotFoundException",)


class Rule(ResourceHandler):
    type_name = "AWS::Events::Rule"
    attribute_names = frozenset({"Arn"})
    replacing = frozenset({"Name", "EventBusName"})
    name_property = "Name"
    name_max_length = 64

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        name = self.physical_name(ctx, properties)
        bus = properties.get("EventBusName") or "default"
        arn = self._put(ctx, name, bus, properties)
        physical = name if bus == "default" else f"{bus}|{name}"
        try:
            self._put_targets(ctx, name, bus, properties.get("Targets") or [])
        except ResourceFailure as err:
            raise ResourceFailure(err.reason, created=(physical, {"Arn": arn})) from None
        return physical, {"Arn": arn}

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        bus, name = _bus_and_name(physical_id)
        arn = self._put(ctx, name, bus, new)
        kept = {t["Id"] for t in new.get("Targets") or []}
        gone = [t["Id"] for t in old.get("Targets") or [] if t["Id"] not in kept]
        if gone:
            call(ctx, "events", "remove_targets", Rule=name, EventBusName=bus, Ids=gone)
        self._put_targets(ctx, name, bus, new.get("Targets") or [])
        return {"Arn": arn}

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        bus, name = _bus_and_name(physical_id)
        listed = call(ctx, "events", "list_targets_by_rule", absent=ABSENT, Rule=name, EventBusName=bus)
        if listed is None:
            return
        ids = [t["Id"] for t in listed.get("Targets", [])]
        if ids:
            call(ctx, "events", "remove_targets", absent=ABSENT, Rule=name, EventBusName=bus, Ids=ids)
        call(ctx, "events", "delete_rule", absent=ABSENT, Name=name, EventBusName=bus)

    @staticmethod
    def _put(ctx: HandlerContext, name: str, bus: str, properties: dict) -> str:
        rule = {**without(properties, "Targets"), "Name": name, "EventBusName": bus}
        if isinstance(rule.get("EventPattern"), (dict, list)):
            rule["EventPattern"] = json.dumps(rule["EventPattern"])
        rule.setdefault("State", "ENABLED")
        return call(ctx, "events", "put_rule", **operation_params("events", "PutRule", rule))["RuleArn"]

    @staticmethod
    def _put_targets(ctx: HandlerContext, name: str, bus: str, targets: list) -> None:
        if not targets:
            return
        params = operation_params("events", "PutTargets", {"Rule": name, "EventBusName": bus, "Targets": targets})
        answer = call(ctx, "events", "put_targets", **params)
        if answer.get("FailedEntryCount"):
            failed = "; ".join(f"{e.get('TargetId')}: {e.get('ErrorMessage')}" for e in answer["FailedEntries"])
            raise ResourceFailure(f'Resource handler returned message: "Targets were refused: {failed}" '
                                  "(Service: EventBridge)")


def _bus_and_name(physical_id: str) -> tuple[str, str]:
    bus, _, name = physical_id.rpartition("|")
    return bus or "default", name
