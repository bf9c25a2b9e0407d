"""The "CodeCommit Repository State Change" events of a push: one per reference it created, moved or
deleted, with the detail fields AWS documents (userguide, monitoring-events):

    event               referenceCreated | referenceUpdated | referenceDeleted
    repositoryName, repositoryId
    referenceType       branch | tag
    referenceName       main                      referenceFullName   refs/heads/main
    commitId            the new tip (not in referenceDeleted)
    oldCommitId         the old tip (referenceUpdated and referenceDeleted)
    callerUserArn       who pushed: labcloud's git endpoint takes no credentials, so the account's root

Source "aws.codecommit", resources [the repository's ARN], on the default bus and to in-process
subscribers (platform/events.py).
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "aws.codecommit"
DETAIL_TYPE = "CodeCommit Repository State Change"
_TYPES = (("refs/heads/", "branch"), ("refs/tags/", "tag"))


@dataclass(frozen=True)
class RefChange:
    full_name: str  # refs/heads/main
    old: str | None  # None: the reference is new
    new: str | None  # None: the reference was deleted

    @property
    def event(self) -> str:
        if self.old is None:
            return "referenceCreated"
        return "referenceDeleted" if self.new is None else "referenceUpdated"


def ref_changes(before: dict[str, str], after: dict[str, str]) -> list[RefChange]:
    """What changed between two snapshots of a repository's references (name -> object id), branches and
    tags only, in name order."""
    changes = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name) and _reference_type(name):
            changes.append(RefChange(name, before.get(name), after.get(name)))
    return changes


def detail(change: RefChange, repository_name: str, repository_id: str, caller_arn: str) -> dict:
    prefix, reference_type = _reference_type(change.full_name)
    body = {"event": change.event, "repositoryName": repository_name, "repositoryId": repository_id,
            "referenceType": reference_type, "referenceName": change.full_name[len(prefix):],
            "referenceFullName": change.full_name}
    if change.new is not None:
        body["commitId"] = change.new
    if change.old is not None:
        body["oldCommitId"] = change.old
    body["callerUserArn"] = caller_arn
    return body


def _reference_type(full_name: str) -> tuple[str, str] | None:
    for prefix, reference_type in _TYPES:
        if full_name.startswith(prefix):
            return prefix, reference_type
    return None
