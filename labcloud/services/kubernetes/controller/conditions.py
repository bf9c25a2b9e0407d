"""ACK's conditions on a resource's status, and which SageMaker errors are which:

    ACK.ResourceSynced   True once SageMaker's resource matches the spec and its work is done (a job ended,
                         an endpoint InService or Failed); False while it runs or after a terminal error;
                         Unknown while the controller retries a recoverable one
    ACK.Terminal         True: an error only a change of the spec fixes (the API's code and message), or a
                         status SageMaker cannot leave (an Endpoint or ModelPackage Failed)
    ACK.Recoverable      True: an error that may pass (throttling, a resource it refers to not there yet);
                         the controller tries again, waiting longer each time
    Ready                the summary the ACK runtime writes: False with Terminal's or Recoverable's message
                         when either holds, else ResourceSynced's status

A condition's lastTransitionTime moves only when its status does, as Kubernetes' conditions do.
"""

from __future__ import annotations

import re

from labcloud.services.kubernetes.objects import now

SYNCED, TERMINAL, RECOVERABLE, READY = "ACK.ResourceSynced", "ACK.Terminal", "ACK.Recoverable", "Ready"
# The ACK runtime's own words for ResourceSynced.
SYNCED_MESSAGE = "Resource synced successfully"
NOT_SYNCED_MESSAGE = "Resource not synced"
UNKNOWN_MESSAGE = "Unable to determine if desired resource state matches latest observed state"

# Codes a spec change is needed to get past (the rest are tried again).
TERMINAL_CODES = {"ValidationException", "InvalidParameterValue", "InvalidParameterCombination",
                  "MissingParameter", "ResourceInUse", "ParamValidationError", "NotImplemented"}
# A ValidationException that names a resource not there yet: applying a Model, its EndpointConfig and an
# Endpoint in one file reaches SageMaker in any order, and the next try finds what was missing.
_MISSING_REFERENCE = re.compile(r"could not find|cannot find|does not exist|not found", re.I)


def names_a_missing_resource(message: str) -> bool:
    return bool(_MISSING_REFERENCE.search(message))


def is_terminal(code: str, message: str) -> bool:
    if code != "ValidationException":
        return code in TERMINAL_CODES
    return not names_a_missing_resource(message)


def set_condition(status: dict, kind: str, value: bool | None, reason: str | None = None,
                  message: str | None = None) -> None:
    """Set a condition True, False or (value None) Unknown."""
    conditions = status.setdefault("conditions", [])
    text = "Unknown" if value is None else "True" if value else "False"
    for condition in conditions:
        if condition.get("type") == kind:
            if condition.get("status") != text:
                condition["lastTransitionTime"] = now()
            condition["status"] = text
            _words(condition, reason, message)
            return
    condition = {"type": kind, "status": text, "lastTransitionTime": now()}
    _words(condition, reason, message)
    conditions.append(condition)


def _words(condition: dict, reason: str | None, message: str | None) -> None:
    for key, value in (("reason", reason), ("message", message)):
        if value:
            condition[key] = value
        else:
            condition.pop(key, None)


def drop_condition(status: dict, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions", []) if c.get("type") != kind]


def condition(status: dict | None, kind: str) -> dict | None:
    return next((c for c in (status or {}).get("conditions", []) if c.get("type") == kind), None)


def holds(status: dict | None, kind: str) -> bool:
    found = condition(status, kind)
    return found is not None and found.get("status") == "True"


def set_ready(status: dict) -> None:
    """Ready from the other conditions, as the ACK runtime derives it after each reconcile."""
    terminal, recoverable, synced = (condition(status, kind) for kind in (TERMINAL, RECOVERABLE, SYNCED))
    if terminal and terminal.get("status") == "True":
        set_condition(status, READY, False, TERMINAL, terminal.get("message"))
    elif recoverable and recoverable.get("status") == "True":
        set_condition(status, READY, False, RECOVERABLE, recoverable.get("message"))
    elif synced:
        value = {"True": True, "False": False}.get(synced.get("status"))
        set_condition(status, READY, value, synced.get("reason"), synced.get("message"))
    else:
        set_condition(status, READY, None, None, UNKNOWN_MESSAGE)
