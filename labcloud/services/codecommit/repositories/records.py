"""The record of a repository: its metadata as GetRepository answers it (without the clone URLs, which
depend on where the server listens now), and its tags. Saved as {"repository": ..., "tags": ...}."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

# labcloud serves git over HTTP only; the address names that and can never resolve (.invalid, RFC 2606).
SSH_NOT_SERVED = "ssh://labcloud-serves-git-over-http-only.invalid/v1/repos/{name}"


@dataclass
class Repository:
    metadata: dict  # accountId, repositoryId, repositoryName, repositoryDescription?, defaultBranch?,
    # lastModifiedDate, creationDate, Arn
    tags: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.metadata["repositoryName"]

    @property
    def repository_id(self) -> str:
        return self.metadata["repositoryId"]

    @property
    def arn(self) -> str:
        return self.metadata["Arn"]

    @property
    def default_branch(self) -> str | None:
        return self.metadata.get("defaultBranch")

    def describe(self, clone_url_http: str) -> dict:
        """repositoryMetadata."""
        answer = copy.deepcopy(self.metadata)
        answer["cloneUrlHttp"] = clone_url_http
        answer["cloneUrlSsh"] = SSH_NOT_SERVED.format(name=self.name)
        return answer

    def to_store(self) -> dict:
        return copy.deepcopy({"repository": self.metadata, "tags": self.tags})

    @classmethod
    def from_store(cls, saved: dict) -> "Repository":
        return cls(saved["repository"], saved.get("tags", {}))
