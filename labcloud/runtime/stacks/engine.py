"""deploy() and delete(): a stack made, updated and deleted, and the record that says what it is."""

from __future__ import annotations

import copy
import threading

from labcloud.core.clock import utc_now
from labcloud.core.constants import ACCOUNT_ID, REGION
from labcloud.runtime.stacks.deployment import Deployment, Failed, delete_entry
from labcloud.runtime.stacks.errors import StackError
from labcloud.runtime.stacks.graph import deletion_order
from labcloud.runtime.stacks.handlers.base import HandlerContext
from labcloud.runtime.stacks.naming import check_stack_name, stack_id
from labcloud.runtime.stacks.plan import make_plan
from labcloud.runtime.stacks.stack_events import EventLog

UPDATABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


def deploy(stack_name: str, template_text: str, parameters: dict[str, str], clients, previous: dict | None = None,
           region: str = REGION, account_id: str = ACCOUNT_ID, *, cancel: threading.Event | None = None) -> dict:
    """Create the stack (previous None) or update the one `previous` records; the stack's new record.

    `clients(name)` is a boto3 client of that service. A failure rolls back what this deploy did and raises
    StackError, whose `record` is the stack as it then is (on a failed update, `previous` with the
    events added: `previous` itself stays valid and unchanged). `cancel`, when set, ends the deploy at the
    next resource or endpoint poll, rolled back."""
    check_stack_name(stack_name)
    previous = copy.deepcopy(previous) if previous else None
    if previous is not None:
        if previous.get("StackName") != stack_name:
            raise StackError(f"The previous record is of stack {previous.get('StackName')}, not {stack_name}.")
        if previous.get("StackStatus") not in UPDATABLE:
            raise StackError(f"Stack:{previous.get('StackId')} is in {previous.get('StackStatus')} state and can "
                             "not be updated.")
    identifier = previous["StackId"] if previous else stack_id(stack_name, region, account_id)
    plan = make_plan(template_text, parameters, stack_name, identifier, region, account_id)
    before = previous["Resources"] if previous else {}
    retyped = [logical for logical in plan.order
               if logical in before and before[logical]["Type"] != plan.template.resources[logical]["Type"]]
    if retyped:
        raise StackError("Update of resource type is not permitted. The new template modifies resource type of "
                         f"the following resources: [{', '.join(retyped)}]")
    log = EventLog(stack_name, identifier, previous["Events"] if previous else None)
    verb = "UPDATE" if previous else "CREATE"
    log.stack(f"{verb}_IN_PROGRESS", "User Initiated")
    run = Deployment(plan, clients, stack_name, identifier, region, account_id, before, log, cancel)
    try:
        outputs = run.run()
    except Failed as failure:
        _roll_back(run, failure, previous, plan, log)
    if previous is not None:
        log.stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        run.clean_up()
    log.stack(f"{verb}_COMPLETE")
    now = utc_now().isoformat()
    return _record(stack_name, identifier, f"{verb}_COMPLETE", plan.template.description, plan.parameters, outputs,
                   run.state, log.events, previous["CreationTime"] if previous else now,
                   now if previous else None)


def delete(record: dict, clients) -> None:
    """Delete every resource of the stack `record` describes, dependents first (DeletionPolicy: Retain
    keeps one). A resource that cannot be deleted stays, and so do the resources it depends on: StackError
    (DELETE_FAILED) names it, and its `record` holds what is left, for another delete()."""
    if not record or not record.get("Resources"):
        return
    record = copy.deepcopy(record)
    stack_name, identifier = record["StackName"], record["StackId"]
    region, account_id = _region_and_account(identifier)
    resources = record["Resources"]
    log = EventLog(stack_name, identifier, record.get("Events"))
    log.stack("DELETE_IN_PROGRESS", "User Initiated")
    left, reasons = {}, {}
    for logical in deletion_order({name: set(e.get("DependsOn", [])) for name, e in resources.items()}):
        entry = resources[logical]
        kind, physical = entry["Type"], entry["PhysicalResourceId"]
        if any(logical in left[other].get("DependsOn", []) for other in left):
            left[logical] = entry  # something that needs it is still there
            continue
        if entry.get("DeletionPolicy") == "Retain":
            log.resource(logical, kind, "DELETE_SKIPPED", physical)
            continue
        log.resource(logical, kind, "DELETE_IN_PROGRESS", physical)
        reason = delete_entry(HandlerContext(clients, stack_name, identifier, region, account_id, logical), entry)
        if reason is None:
            log.resource(logical, kind, "DELETE_COMPLETE", physical)
        else:
            log.resource(logical, kind, "DELETE_FAILED", physical, reason)
            left[logical], reasons[logical] = entry, reason
    if not left:
        log.stack("DELETE_COMPLETE")
        return
    message = (f"The following resource(s) failed to delete: [{', '.join(reasons)}]. "
               + " ".join(f"{logical}: {reason}" for logical, reason in reasons.items()))
    log.stack("DELETE_FAILED", message)
    raise StackError(message, "DELETE_FAILED", {**record, "StackStatus": "DELETE_FAILED", "Resources": left,
                                                 "Events": log.events})


def _roll_back(run: Deployment, failure: Failed, previous: dict | None, plan, log: EventLog):
    prefix = "UPDATE_ROLLBACK" if previous else "ROLLBACK"
    message = (f"The following resource(s) failed to {failure.action}: [{failure.logical}]. "
               f"{failure.logical}: {failure.reason}")
    log.stack(f"{prefix}_IN_PROGRESS", f"The following resource(s) failed to {failure.action}: "
                                       f"[{failure.logical}]. Rollback requested by user.")
    left, unrestored = run.roll_back()
    resources = dict(previous["Resources"]) if previous else {}
    for logical, entry in left.items():
        # A replacement that could not be deleted sits beside the resource it was to replace (logical ids
        # are alphanumeric: '#' never clashes), so delete() still finds it.
        resources[logical if logical not in resources else f"{logical}#replacement"] = entry
    if left:
        message += (" The rollback could not delete " + ", ".join(f"{logical} ({e['PhysicalResourceId']})"
                                                                  for logical, e in left.items())
                    + ": delete the stack to remove them.")
    if unrestored:
        message += f" The rollback could not restore [{', '.join(unrestored)}] to their previous properties."
    status = f"{prefix}_FAILED" if left or unrestored else f"{prefix}_COMPLETE"
    log.stack(status)
    now = utc_now().isoformat()
    if previous:
        record = {**previous, "StackStatus": status, "Resources": resources, "Events": log.events,
                  "LastUpdatedTime": now}
    else:
        record = _record(run.stack_name, run.stack_id, status, plan.template.description, plan.parameters, {},
                         resources, log.events, now, None)
    raise StackError(message, status, record)


def _record(stack_name, identifier, status, description, parameters, outputs, resources, events, created,
            updated) -> dict:
    record = {"StackName": stack_name, "StackId": identifier, "StackStatus": status, "Description": description,
              "Parameters": dict(parameters), "Outputs": dict(outputs), "Resources": dict(resources),
              "Events": list(events), "CreationTime": created}
    if updated:
        record["LastUpdatedTime"] = updated
    return record


def _region_and_account(identifier: str) -> tuple[str, str]:
    parts = identifier.split(":")
    if len(parts) < 6 or parts[2] != "cloudformation":
        raise StackError(f"The record's StackId {identifier!r} is not a stack's ARN.")
    return parts[3], parts[4]
