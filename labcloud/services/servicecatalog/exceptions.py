"""Service Catalog's own error shapes (botocore's model names them), beside the ones every service shares."""

from __future__ import annotations

from labcloud.core.errors import AWSError

__all__ = ["InvalidParametersException", "ResourceNotFoundException"]


class ResourceNotFoundException(AWSError):
    code = "ResourceNotFoundException"


class InvalidParametersException(AWSError):
    code = "InvalidParametersException"
