"""CodeCommit's own error shapes, as botocore's model names them (every one a 400)::

    AWSError
    ├── repositories   RepositoryNameRequiredException, RepositoryNamesRequiredException,
    │                  InvalidRepositoryNameException, RepositoryNameExistsException,
    │                  RepositoryDoesNotExistException, MaximumRepositoryNamesExceededException
    ├── branches       BranchNameRequiredException, InvalidBranchNameException,
    │                  BranchNameExistsException, BranchDoesNotExistException
    ├── commits        CommitIdRequiredException, InvalidCommitIdException,
    │                  CommitDoesNotExistException (CreateBranch), CommitIdDoesNotExistException (GetCommit)
    ├── listing        InvalidSortByException, InvalidOrderException, InvalidContinuationTokenException
    ├── tags           InvalidSystemTagUsageException, TooManyTagsException
    └── labcloud       OperationNotAllowedException: the git program is missing, or git failed
"""

from __future__ import annotations

from labcloud.core.errors import AWSError


class RepositoryNameRequiredException(AWSError):
    code = "RepositoryNameRequiredException"


class RepositoryNamesRequiredException(AWSError):
    code = "RepositoryNamesRequiredException"


class InvalidRepositoryNameException(AWSError):
    code = "InvalidRepositoryNameException"


class RepositoryNameExistsException(AWSError):
    code = "RepositoryNameExistsException"


class RepositoryDoesNotExistException(AWSError):
    code = "RepositoryDoesNotExistException"


class MaximumRepositoryNamesExceededException(AWSError):
    code = "MaximumRepositoryNamesExceededException"


class BranchNameRequiredException(AWSError):
    code = "BranchNameRequiredException"


class InvalidBranchNameException(AWSError):
    code = "InvalidBranchNameException"


class BranchNameExistsException(AWSError):
    code = "BranchNameExistsException"


class BranchDoesNotExistException(AWSError):
    code = "BranchDoesNotExistException"


class CommitIdRequiredException(AWSError):
    code = "CommitIdRequiredException"


class InvalidCommitIdException(AWSError):
    code = "InvalidCommitIdException"


class CommitDoesNotExistException(AWSError):
    code = "CommitDoesNotExistException"


class CommitIdDoesNotExistException(AWSError):
    code = "CommitIdDoesNotExistException"


class InvalidSortByException(AWSError):
    code = "InvalidSortByException"


class InvalidOrderException(AWSError):
    code = "InvalidOrderException"


class InvalidContinuationTokenException(AWSError):
    code = "InvalidContinuationTokenException"


class InvalidSystemTagUsageException(AWSError):
    code = "InvalidSystemTagUsageException"


class TooManyTagsException(AWSError):
    code = "TooManyTagsException"


class OperationNotAllowedException(AWSError):
    """labcloud's answer when it cannot do what AWS would (no git program): a 400, so clients do not
    retry what cannot succeed until someone installs git."""

    code = "OperationNotAllowedException"
