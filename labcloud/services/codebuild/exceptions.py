"""CodeBuild's own error shapes (botocore's model names them), beside the ones every JSON service shares::

    AWSError (labcloud.core.errors)
    ├── InvalidInputException           a request CodeBuild cannot act on (what to fix is in the message)
    ├── ResourceNotFoundException       no such project or build
    ├── ResourceAlreadyExistsException  CreateProject of a name in use
    └── AccountLimitExceededException   too many projects, or builds beyond a project's concurrentBuildLimit
"""

from __future__ import annotations

from labcloud.core.errors import AWSError


class InvalidInputException(AWSError):
    code = "InvalidInputException"


class ResourceNotFoundException(AWSError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(AWSError):
    code = "ResourceAlreadyExistsException"


class AccountLimitExceededException(AWSError):
    code = "AccountLimitExceededException"
