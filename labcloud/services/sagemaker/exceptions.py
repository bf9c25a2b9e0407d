"""SageMaker's own error shapes (botocore's model names them), beside the ones every JSON service shares."""

from __future__ import annotations

from labcloud.core.errors import AWSError, ValidationException

__all__ = ["ConflictException", "ResourceInUse", "ResourceLimitExceeded", "ResourceNotFound",
           "ValidationException", "already_exists", "not_found"]


class ResourceNotFound(AWSError):
    code = "ResourceNotFound"


class ResourceInUse(AWSError):
    code = "ResourceInUse"


class ResourceLimitExceeded(AWSError):
    code = "ResourceLimitExceeded"


class ConflictException(AWSError):
    code = "ConflictException"
    status = 409


def not_found(kind: str, arn: str) -> ValidationException:
    """What SageMaker answers for a model, endpoint config or endpoint that does not exist."""
    return ValidationException(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Cannot create already existing {kind} "{arn}".')
