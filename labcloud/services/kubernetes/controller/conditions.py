"""ACK's conditions on a resource's status, and which SageMaker errors are which:

    ACK.ResourceSynced   True once SageMaker's resource matches the spec and its work is done (a job ended,
                         an endpoint InService or Failed); False while it runs or cannot be reached
    ACK.Terminal         True: an error only a change of the spec fixes (the API's code and message)
    ACK.Recoverable      True: an error that may pass (throttling, a resource it refers to not there yet);
                         the controller tries again, waiting longer each time

A condition's lastTransitionTime moves only when its status does, as Kubernetes' conditions do.
"""

from __future__ import annotations

import re

from labcloud.services.kubernetes.objects import now

SYNCED, TERMINAL, RECOVERABLE = "ACK.ResourceSynced", "ACK.Terminal", "ACK.Recoverable"

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


def set_condition(status: dict, kind: str, value: bool, reason: str | None = None, message: str | None = None
                  ) -> None:
    conditions = status.setdefault("conditions", [])
    text = "True" if value else "False"
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
