"""One deploy of a plan: each resource made, kept, changed in place or replaced, in dependency order;
on a failure, what this deploy did undone in reverse; after success, the resources an update replaced or
removed deleted (CloudFormation's cleanup phase).

A resource's entry in the stack's record is {Type, PhysicalResourceId, Properties (as resolved),
Attributes (what Fn::GetAtt reads), DependsOn (every resource it refers to or names), and its
DeletionPolicy / UpdateReplacePolicy when the template sets them}.
"""

from __future__ import annotations

import threading

from labcloud.runtime.stacks.errors import ResourceFailure, StackError
from labcloud.runtime.stacks.graph import deletion_order
from labcloud.runtime.stacks.handlers import HANDLERS
from labcloud.runtime.stacks.handlers.base import HandlerContext, changed_properties
from labcloud.runtime.stacks.intrinsics import as_output
from labcloud.runtime.stacks.plan import Plan
from labcloud.runtime.stacks.stack_events import EventLog

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


class Failed(Exception):
    """A resource's `action` (create, update) failed: the deploy stops and rolls back."""

    def __init__(self, logical: str, action: str, reason: str):
        super().__init__(reason)
        self.logical, self.action, self.reason = logical, action, reason


class Deployment:
    def __init__(self, plan: Plan, clients, stack_name: str, stack_id: str, region: str, account_id: str,
                 previous: dict[str, dict], log: EventLog, cancel: threading.Event | None = None):
        self.plan, self.clients, self.log, self.cancel = plan, clients, log, cancel
        self.stack_name, self.stack_id, self.region, self.account_id = stack_name, stack_id, region, account_id
        self.previous = previous  # logical id -> entry, of the stack before this deploy
        self.state: dict[str, dict] = {}  # logical id -> entry, of the stack this deploy makes
        self.journal: list[tuple] = []  # ("created", logical, entry) | ("updated", logical, before, after)
        self.superseded: dict[str, dict] = {}  # entries a replacement made obsolete, deleted in the cleanup

    def changed_anything(self) -> bool:
        return bool(self.journal) or set(self.previous) != set(self.state)

    # ---- what intrinsic functions read (intrinsics.Lookup) ----

    def ref(self, logical: str):
        return self.state[logical]["PhysicalResourceId"]

    def getatt(self, logical: str, attribute: str):
        attributes = self.state[logical].get("Attributes", {})
        if attribute not in attributes:
            raise StackError(f"Template error: resource {logical} has no value for attribute {attribute}")
        return attributes[attribute]

    # ---- the deploy ----

    def run(self) -> dict[str, str]:
        """Every resource in order; the stack's outputs."""
        for logical in self.plan.order:
            if self.cancel is not None and self.cancel.is_set():
                raise Failed(logical, "create" if logical not in self.previous else "update",
                             "The stack operation was cancelled.")
            self._step(logical)
        outputs = {}
        for name in self.plan.outputs:
            try:
                value = self.plan.scope.evaluate(self.plan.template.outputs[name]["Value"], self, "Outputs")
            except StackError as err:
                raise Failed(name, "create", err.message) from None
            outputs[name] = as_output(value)
        return outputs

    def _step(self, logical: str) -> None:
        resource = self.plan.template.resources[logical]
        kind = resource["Type"]
        handler = HANDLERS[kind]
        entry = {"Type": kind, "DependsOn": sorted(self.plan.dependencies[logical])}
        entry.update({p: str(resource[p]) for p in ("DeletionPolicy", "UpdateReplacePolicy") if p in resource})
        old = self.previous.get(logical)
        action = "create" if old is None else "update"
        try:
            properties = self.plan.scope.evaluate(resource.get("Properties") or {}, self)
        except StackError as err:
            self._failed(logical, kind, action, (old or {}).get("PhysicalResourceId", ""), err.message)
        entry["Properties"] = properties
        if old is None:
            self._create(logical, handler, entry, "CREATE")
            return
        changed = changed_properties(old["Properties"], properties) - handler.ignored_on_update
        if not changed:
            self.state[logical] = {**entry, "PhysicalResourceId": old["PhysicalResourceId"],
                                   "Attributes": old.get("Attributes", {})}
        elif handler.needs_replacement(changed):
            self._replace(logical, handler, entry, old)
        else:
            self._update(logical, handler, entry, old)

    def _create(self, logical: str, handler, entry: dict, status: str, reason: str | None = None) -> None:
        kind = entry["Type"]
        self.log.resource(logical, kind, f"{status}_IN_PROGRESS", reason=reason)
        try:
            physical, attributes = handler.create(self._context(logical), entry["Properties"])
        except Exception as err:  # noqa: BLE001 - a handler's own fault must roll the stack back too
            made = err.created if isinstance(err, ResourceFailure) else None
            if made is not None:  # part made: the rollback deletes it
                self.journal.append(("created", logical, {**entry, "PhysicalResourceId": made[0],
                                                          "Attributes": made[1]}))
            self._failed(logical, kind, "create" if status == "CREATE" else "update", made[0] if made else "",
                         _reason(err))
        created = {**entry, "PhysicalResourceId": physical, "Attributes": attributes}
        self.journal.append(("created", logical, created))
        self.state[logical] = created
        self.log.resource(logical, kind, f"{status}_COMPLETE", physical)

    def _replace(self, logical: str, handler, entry: dict, old: dict) -> None:
        name = handler.name_property
        if name and entry["Properties"].get(name) and entry["Properties"].get(name) == old["Properties"].get(name):
            self._failed(logical, entry["Type"], "update", old["PhysicalResourceId"],
                         "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                         f"Rename {entry['Properties'][name]} and update the stack again.")
        self._create(logical, handler, entry, "UPDATE", REPLACING)
        self.superseded[logical] = old

    def _update(self, logical: str, handler, entry: dict, old: dict) -> None:
        kind, physical = entry["Type"], old["PhysicalResourceId"]
        after = {**entry, "PhysicalResourceId": physical, "Attributes": old.get("Attributes", {})}
        self.journal.append(("updated", logical, old, after))  # a failed update may have changed part
        self.log.resource(logical, kind, "UPDATE_IN_PROGRESS", physical)
        try:
            after["Attributes"] = handler.update(self._context(logical), physical, old["Properties"],
                                                 entry["Properties"], old.get("Attributes", {}))
        except Exception as err:  # noqa: BLE001
            self._failed(logical, kind, "update", physical, _reason(err))
        self.state[logical] = after
        self.log.resource(logical, kind, "UPDATE_COMPLETE", physical)

    def _failed(self, logical: str, kind: str, action: str, physical: str, reason: str):
        self.log.resource(logical, kind, f"{action.upper()}_FAILED", physical, reason)
        raise Failed(logical, action, reason)

    # ---- undoing and cleaning up ----

    def roll_back(self) -> tuple[dict[str, dict], list[str]]:
        """Undo the journal, newest first: (entries that could not be deleted, resources not restored)."""
        left, unrestored = {}, []
        for item in reversed(self.journal):
            if item[0] == "created":
                _, logical, entry = item
                if not self.delete_resource(logical, entry):
                    left[logical] = entry
            else:
                _, logical, before, after = item
                if not self._restore(logical, before, after):
                    unrestored.append(logical)
        return left, unrestored

    def _restore(self, logical: str, before: dict, after: dict) -> bool:
        kind, physical = before["Type"], before["PhysicalResourceId"]
        self.log.resource(logical, kind, "UPDATE_IN_PROGRESS", physical)
        try:
            HANDLERS[kind].update(self._context(logical), physical, after["Properties"], before["Properties"],
                                  after.get("Attributes", {}))
        except Exception as err:  # noqa: BLE001
            self.log.resource(logical, kind, "UPDATE_FAILED", physical, _reason(err))
            return False
        self.log.resource(logical, kind, "UPDATE_COMPLETE", physical)
        return True

    def clean_up(self) -> None:
        """Delete what the update replaced or removed. A failure here leaves the resource behind and the
        stack updated, as CloudFormation does (a DELETE_FAILED event records it)."""
        doomed = {logical: (entry, "UpdateReplacePolicy") for logical, entry in self.superseded.items()}
        doomed.update({logical: (entry, "DeletionPolicy") for logical, entry in self.previous.items()
                       if logical not in self.state})
        order = deletion_order({logical: set(e.get("DependsOn", [])) for logical, (e, _) in doomed.items()})
        for logical in order:
            entry, policy = doomed[logical]
            if entry.get(policy) == "Retain":
                self.log.resource(logical, entry["Type"], "DELETE_SKIPPED", entry["PhysicalResourceId"])
                continue
            self.delete_resource(logical, entry)

    def delete_resource(self, logical: str, entry: dict) -> bool:
        kind, physical = entry["Type"], entry["PhysicalResourceId"]
        self.log.resource(logical, kind, "DELETE_IN_PROGRESS", physical)
        reason = delete_entry(self._context(logical), entry)
        if reason is not None:
            self.log.resource(logical, kind, "DELETE_FAILED", physical, reason)
            return False
        self.log.resource(logical, kind, "DELETE_COMPLETE", physical)
        return True

    def _context(self, logical: str) -> HandlerContext:
        return HandlerContext(self.clients, self.stack_name, self.stack_id, self.region, self.account_id, logical,
                              self.cancel)


def delete_entry(ctx: HandlerContext, entry: dict) -> str | None:
    """Delete one resource of a record: None, or why it could not be."""
    handler = HANDLERS.get(entry["Type"])
    if handler is None:
        return f"labcloud's stacks engine has no handler for {entry['Type']}"
    try:
        handler.delete(ctx, entry["PhysicalResourceId"], entry.get("Properties", {}), entry.get("Attributes", {}))
    except Exception as err:  # noqa: BLE001
        return _reason(err)
    return None


def _reason(err: Exception) -> str:
    if isinstance(err, ResourceFailure):
        return err.reason
    if isinstance(err, StackError):
        return err.message
    return f'Resource handler returned message: "{type(err).__name__}: {err}" (HandlerErrorCode: InternalFailure)'
