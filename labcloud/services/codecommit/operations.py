"""The CodeCommit API that labcloud serves: every operation, and the family method that answers it.

Only what is listed here is reachable from the wire. Each method takes the request's parameters as a dict
and returns the response as a dict (datetimes allowed; the protocol layer serializes them).
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {
    # repositories/: repositories
    "CreateRepository": "repositories.create_repository",
    "GetRepository": "repositories.get_repository",
    "BatchGetRepositories": "repositories.batch_get_repositories",
    "ListRepositories": "repositories.list_repositories",
    "DeleteRepository": "repositories.delete_repository",
    "UpdateRepositoryDescription": "repositories.update_repository_description",
    "UpdateDefaultBranch": "repositories.update_default_branch",
    # repositories/: branches and commits
    "GetBranch": "repositories.get_branch",
    "ListBranches": "repositories.list_branches",
    "CreateBranch": "repositories.create_branch",
    "GetCommit": "repositories.get_commit",
}
