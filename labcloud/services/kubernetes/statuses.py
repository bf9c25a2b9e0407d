"""Kubernetes' error answers: a `Status` object (kind Status, status Failure, reason, code, details), worded
as a real API server words them for a custom resource, so kubectl prints what a learner will see at work:

    Error from server (NotFound): trainingjobs.sagemaker.services.k8s.aws "x" not found
    The TrainingJob "x" is invalid: spec.roleARN: Required value
"""

from __future__ import annotations


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> KubeError:
    return KubeError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
                     {"name": name, "group": group, "kind": resource})


def already_exists(resource: str, group: str, name: str) -> KubeError:
    return KubeError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                     {"name": name, "group": group, "kind": resource})


def conflict(resource: str, group: str, name: str) -> KubeError:
    return KubeError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": '
                                      "the object has been modified; please apply your changes to the latest "
                                      "version and try again", {"name": name, "group": group, "kind": resource})


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def invalid(kind: str, group: str, name: str, causes: list[dict]) -> KubeError:
    """422: causes are {reason, message, field}, e.g. FieldValueRequired / "Required value" / spec.roleARN."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    listed = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return KubeError(422, "Invalid", f'{kind}.{group} "{name}" is invalid: {listed}' if group else
                     f'{kind} "{name}" is invalid: {listed}',
                     {"name": name, "group": group, "kind": kind, "causes": causes})


def method_not_allowed(method: str, what: str) -> KubeError:
    return KubeError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource "
                                              f"({method} {what})")


def unsupported_media_type(content_type: str) -> KubeError:
    return KubeError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted '
                                                  f'media types include: application/json-patch+json, '
                                                  f'application/merge-patch+json, application/apply-patch+yaml '
                                                  f'(this request sent {content_type or "no Content-Type"})')


def gone(message: str) -> KubeError:
    return KubeError(410, "Expired", message)
