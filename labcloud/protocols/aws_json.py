"""AWS JSON 1.1, the protocol of SageMaker's control plane (and CloudWatch Logs, CodeBuild, ...).

A request is a JSON object POSTed with `X-Amz-Target: <Prefix>.<Operation>`. A service of this protocol
declares its operations as an explicit table, operation name -> callable(params) -> response dict; the
layer parses the body, checks it against botocore's model of the service (protocols.validation, in AWS's
wording), calls the operation and serializes its answer or its AWS error. Nothing else is reachable.
"""

from __future__ import annotations

from typing import Callable

from werkzeug.wrappers import Request, Response

from labcloud.core.errors import AWSError, SerializationException, UnknownOperationException, ValidationException
from labcloud.platform.service import CONTROL_PLANE_MAX_BYTES, Service
from labcloud.protocols import json_codec
from labcloud.protocols.errors import JSON_11, error_response
from labcloud.protocols.rest_json import ROUTE_MATCH
from labcloud.protocols.validation import service_model, validate_request

Operation = Callable[[dict], dict]


def parse_params(body: bytes) -> dict:
    params = json_codec.loads(body)  # strict: NaN, 1e400 and deep nesting are SerializationExceptions
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


class JsonService(Service):
    """A service spoken to in AWS JSON 1.1. Subclasses set `botocore_name` and build `self.operations`."""

    botocore_name: str = ""
    # Members an operation needs although botocore's model leaves them optional (AWS refuses the request
    # without them): operation -> member names, checked as the model's required members are.
    also_required: dict[str, tuple[str, ...]] = {}

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.operations: dict[str, Operation] = {}

    def max_request_bytes(self, environ) -> int | None:
        """JSON requests are bounded; a REST route the service also has (CodeCommit's git pushes) is not."""
        return None if environ.get(ROUTE_MATCH) is not None else CONTROL_PLANE_MAX_BYTES

    def check_operations(self) -> None:
        """Every operation in the table is one of the service's (catches a typo at start-up, not at call)."""
        unknown = set(self.operations) - set(service_model(self.botocore_name).operation_names)
        if unknown:
            raise ValueError(f"{self.name}: {sorted(unknown)} are not operations of {self.botocore_name}")

    def invoke(self, operation: str, params: dict) -> dict:
        """One of the service's operations called from inside labcloud (a pipeline step's request), checked
        as a request from the wire is; raises its AWSError."""
        validate_request(operation, params, self.botocore_name)
        missing = [name for name in self.also_required.get(operation, ()) if params.get(name) is None]
        if missing:
            errors = [f"Value null at '{name[:1].lower() + name[1:]}' failed to satisfy constraint: Member must "
                      "not be null" for name in missing]
            noun = "error" if len(errors) == 1 else "errors"
            raise ValidationException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
        handler = self.operations.get(operation)
        if handler is None:
            raise UnknownOperationException(
                f"The operation {operation} is not supported by labcloud's {self.definition.name}.")
        return handler(params) or {}

    def dispatch(self, operation: str, body: bytes) -> tuple[int, dict, bytes]:
        try:
            result = self.invoke(operation, parse_params(body))
        except AWSError as err:
            return error_response(err)
        return 200, {"Content-Type": JSON_11}, json_codec.dumps(result)

    def __call__(self, environ, start_response):
        request = Request(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.partition(".")[2]
        if not operation:  # "SageMaker" or "SageMaker.": the registry matched the prefix alone
            err = UnknownOperationException(f"X-Amz-Target {target[:100]!r} names no operation: send "
                                            f"'<prefix>.<Operation>', e.g. '{target.partition('.')[0]}.<Operation>'.")
            status, headers, body = error_response(err)
            return Response(body, status=status, headers=headers)(environ, start_response)
        status, headers, body = self.dispatch(operation, request.get_data())
        return Response(body, status=status, headers=headers)(environ, start_response)
