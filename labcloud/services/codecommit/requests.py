"""The checks CodeCommit makes before botocore's model is consulted, with its own error codes: a missing or
malformed repository name is RepositoryNameRequiredException / InvalidRepositoryNameException (never the
generic ValidationException the model's pattern would give), a sortBy or order outside its enum is
InvalidSortByException / InvalidOrderException, a missing branch name or commit id its *Required error.
"""

from __future__ import annotations

import re

from labcloud.protocols.validation import service_model
from labcloud.services.codecommit.exceptions import (BranchNameRequiredException, CommitIdRequiredException,
                                                     InvalidBranchNameException, InvalidCommitIdException,
                                                     InvalidOrderException, InvalidRepositoryNameException,
                                                     InvalidSortByException, MaximumRepositoryNamesExceededException,
                                                     RepositoryNameRequiredException,
                                                     RepositoryNamesRequiredException)

MAX_NAME_CHARS = 100
MAX_BATCH_NAMES = 100
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # the model's [\w\.-]+, \w being ASCII as in Java
_SORT_BY = ("repositoryName", "lastModifiedDate")
_ORDER = ("ascending", "descending")


def check_repository_name(name: str) -> None:
    if not (0 < len(name) <= MAX_NAME_CHARS and _NAME.match(name)) or name.lower().endswith(".git"):
        raise InvalidRepositoryNameException(
            f"The repository name {name!r} is not valid: a repository name is 1 to {MAX_NAME_CHARS} letters, "
            "digits, periods, underscores and dashes, and does not end in .git.")


def precheck(operation: str, params: dict) -> None:
    members = service_model("codecommit").operation_model(operation).input_shape.members
    if "repositoryName" in members:
        name = params.get("repositoryName")
        if name is None or name == "":
            raise RepositoryNameRequiredException("A repository name is required: pass repositoryName.")
        if isinstance(name, str):  # another type is the model's SerializationException
            check_repository_name(name)
    if "repositoryNames" in members and isinstance(params.get("repositoryNames", []), list):
        names = params.get("repositoryNames") or []
        if not names:
            raise RepositoryNamesRequiredException("At least one repository name is required in repositoryNames.")
        if len(names) > MAX_BATCH_NAMES:
            raise MaximumRepositoryNamesExceededException(
                f"{len(names)} repository names were given; at most {MAX_BATCH_NAMES} are allowed in one request.")
        for name in names:
            if isinstance(name, str):
                check_repository_name(name)
    if operation in ("GetBranch", "CreateBranch", "UpdateDefaultBranch"):
        key = "defaultBranchName" if operation == "UpdateDefaultBranch" else "branchName"
        if not params.get(key):
            raise BranchNameRequiredException(f"A branch name is required: pass {key}.")
        if isinstance(params[key], str) and "\0" in params[key]:  # (git is never asked: no NUL goes to a process)
            raise InvalidBranchNameException(f"The branch name {params[key]!r} is not valid.")
    if operation in ("CreateBranch", "GetCommit") and not params.get("commitId"):
        raise CommitIdRequiredException("A commit ID is required: pass commitId.")
    if isinstance(params.get("commitId"), str) and "\0" in params["commitId"]:
        raise InvalidCommitIdException(f"The commit ID {params['commitId']!r} is not valid.")
    if params.get("sortBy") is not None and params["sortBy"] not in _SORT_BY:
        raise InvalidSortByException(f"The sortBy value {params['sortBy']!r} is not valid: use one of "
                                     f"{', '.join(_SORT_BY)}.")
    if params.get("order") is not None and params["order"] not in _ORDER:
        raise InvalidOrderException(f"The order value {params['order']!r} is not valid: use one of "
                                    f"{', '.join(_ORDER)}.")
