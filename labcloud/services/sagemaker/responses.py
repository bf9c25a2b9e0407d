"""SageMaker's wire layer: parse a JSON 1.1 request, validate it, call the backend, serialize."""

from __future__ import annotations

import json
import re

from labcloud.core.errors import AWSError, SerializationException, UnknownOperationException
from labcloud.protocols import json_codec as wire
from labcloud.protocols.validation import validate_request

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(operation: str) -> str:
    return _CAMEL.sub("_", operation).lower()


class SageMakerResponse:
    def __init__(self, backend):
        self.backend = backend

    def dispatch(self, target: str, body: bytes) -> tuple[int, dict, bytes]:
        """target is the X-Amz-Target header, e.g. 'SageMaker.CreateTrainingJob'."""
        operation = target.split(".", 1)[-1]
        try:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise SerializationException("The request body is not valid JSON.") from None
            if not isinstance(params, dict):
                raise SerializationException("The request body must be a JSON object.")
            handler = self.backend.handler(snake_case(operation))
            validate_request(operation, params)
            if handler is None:
                raise UnknownOperationException(
                    f"The operation {operation} is not supported by labcloud's SageMaker.")
            result = handler(params) or {}
        except AWSError as err:
            return err.status, err.headers(), err.json_body()
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, wire.dumps(result)
