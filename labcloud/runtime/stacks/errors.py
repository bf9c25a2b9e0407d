"""How a stack operation fails, in CloudFormation's words.

    StackError                 a deploy or delete that failed; `record` is what the stack is now
    ResourceFailure            (internal) one resource's create, update or delete failed; the engine turns it
                               into a *_FAILED event and a StackError after rolling back

A resource handler reports a failed AWS call as CloudFormation's resource handlers do::

    Resource handler returned message: "Could not find model "m"." (Service: SageMaker, Status Code: 400,
    Error Code: ValidationException)
"""

from __future__ import annotations


class StackError(Exception):
    """A stack operation that failed. `status` is where the stack ended (ROLLBACK_COMPLETE,
    UPDATE_ROLLBACK_COMPLETE, ROLLBACK_FAILED, DELETE_FAILED, or None for a template refused before anything
    was made); `record`, when not None, is the stack as it now is (its events included): a record delete()
    accepts, e.g. to remove what a failed rollback left."""

    def __init__(self, message: str, status: str | None = None, record: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.record = record

    @property
    def events(self) -> list[dict]:
        return list((self.record or {}).get("Events", []))


class ResourceFailure(Exception):
    """One resource operation failed with `reason`. `created` is (physical id, attributes) of what the
    handler made before it failed (an endpoint that never reached InService, a repository the seed code
    could not be pushed to): the rollback deletes it."""

    def __init__(self, reason: str, created: tuple[str, dict] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.created = created


def template_error(message: str) -> StackError:
    return StackError(f"Template format error: {message}")


def handler_message(err: Exception, service_label: str) -> str:
    """A failed AWS call as CloudFormation's resource handlers word it."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        return (f'Resource handler returned message: "{error.get("Message", "")}" (Service: {service_label}, '
                f'Status Code: {status}, Error Code: {error.get("Code", "")})')
    return f'Resource handler returned message: "{err}" (Service: {service_label})'
