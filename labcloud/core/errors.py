"""AWS errors as labcloud returns them.

Every fault a client can cause is raised as one of these and serialized in one place (the gateway),
so a learner sees AWS's own error code and a message that says what to fix::

    AWSError                      code            HTTP
    ├── ValidationException       ValidationException   400
    ├── ResourceNotFound          ResourceNotFound      400
    ├── ResourceInUse             ResourceInUse         400
    ├── ResourceLimitExceeded     ResourceLimitExceeded 400
    ├── ConflictException         ConflictException     409
    ├── UnknownOperationException UnknownOperationException 400
    ├── SerializationException    SerializationException 400  (a JSON value of the wrong type)
    ├── ModelError                ModelError            424  (sagemaker-runtime)
    ├── ServiceUnavailable        ServiceUnavailable    503  (sagemaker-runtime)
    └── InternalFailure           InternalFailure       500
"""

from __future__ import annotations

import json


class AWSError(Exception):
    code = "InternalFailure"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def extra_fields(self) -> dict:
        """Members of the error shape beyond the message (botocore puts them in the error response)."""
        return {}

    def json_body(self) -> bytes:
        """The body of an error in AWS's JSON protocols (json 1.1 and rest-json)."""
        body = {"__type": self.code, "message": self.message}
        body.update(self.extra_fields())
        return json.dumps(body).encode()

    def headers(self) -> dict:
        return {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-ErrorType": self.code,
        }


class ValidationException(AWSError):
    code = "ValidationException"


class ResourceNotFound(AWSError):
    code = "ResourceNotFound"


class ResourceInUse(AWSError):
    code = "ResourceInUse"


class ResourceLimitExceeded(AWSError):
    code = "ResourceLimitExceeded"


class ConflictException(AWSError):
    code = "ConflictException"
    status = 409


class UnknownOperationException(AWSError):
    code = "UnknownOperationException"


class SerializationException(AWSError):
    code = "SerializationException"


class ServiceUnavailable(AWSError):
    code = "ServiceUnavailable"
    status = 503


class InternalFailure(AWSError):
    code = "InternalFailure"
    status = 500


class ModelError(AWSError):
    """InvokeEndpoint: a container answered with an error (AWS carries its status and message)."""

    code = "ModelError"
    status = 424

    def __init__(self, message: str, original_status_code: int, original_message: str, log_stream_arn: str = ""):
        super().__init__(message)
        self.original_status_code = original_status_code
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn

    def extra_fields(self) -> dict:
        fields = {"OriginalStatusCode": self.original_status_code, "OriginalMessage": self.original_message}
        if self.log_stream_arn:
            fields["LogStreamArn"] = self.log_stream_arn
        return fields
