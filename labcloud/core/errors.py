"""AWS errors as labcloud returns them.

Every fault a client can cause is raised as one of these and serialized in one place
(labcloud.protocols.errors), so a learner sees AWS's own error code and a message that says what to fix.
These are the errors every AWS JSON service shares; each service's own error shapes are in its folder's
exceptions.py (ResourceInUse in services/sagemaker, ModelError in services/sagemaker_runtime, ...)::

    AWSError                      code            HTTP
    ├── ValidationException       ValidationException   400
    ├── UnknownOperationException UnknownOperationException 400
    ├── SerializationException    SerializationException 400  (a JSON value of the wrong type)
    ├── InvalidSignatureException InvalidSignatureException 403 (signed for another service)
    ├── RequestEntityTooLarge     RequestEntityTooLargeException 413 (a body past the service's bound)
    ├── ServiceUnavailable        ServiceUnavailable    503  (a service still loading its state, or busy)
    ├── NotImplementedFault       NotImplemented        501  (what moto or labcloud does not implement)
    └── InternalFailure           InternalFailure       500

coded(code, status, message) makes one with a code no class names (S3's, the authentication errors).
"""

from __future__ import annotations


class AWSError(Exception):
    code = "InternalFailure"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def extra_fields(self) -> dict:
        """Members of the error shape beyond the message (botocore puts them in the error response)."""
        return {}



def coded(code: str, status: int, message: str) -> AWSError:
    """An AWSError with a code and status of its own: for the codes no class here names (S3's, the
    authentication errors)."""
    err = AWSError(message)
    err.code, err.status = code, status
    return err

class ValidationException(AWSError):
    code = "ValidationException"


class UnknownOperationException(AWSError):
    code = "UnknownOperationException"


class SerializationException(AWSError):
    code = "SerializationException"


class InvalidSignatureException(AWSError):
    code = "InvalidSignatureException"
    status = 403


class RequestEntityTooLarge(AWSError):
    code = "RequestEntityTooLargeException"
    status = 413


class NotImplementedFault(AWSError):
    code = "NotImplemented"
    status = 501  # not retried by botocore, unlike 500: the learner sees it at once


class ServiceUnavailable(AWSError):
    code = "ServiceUnavailable"
    status = 503


class InternalFailure(AWSError):
    code = "InternalFailure"
    status = 500
