"""A build as BatchGetBuilds answers it, with labcloud's bookkeeping beside, as declared fields. Saved as
{"build": ..., "run": ...}."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields


def _known(cls, saved: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in (saved or {}).items() if k in names}


@dataclass
class BuildRun:
    buildspec: str | None = None  # the buildspec to run (inline text, a file name, or an S3 ARN)
    artifacts: dict | None = None  # where the artifacts go: the project's artifacts or artifactsOverride
    secondary_artifacts: list = field(default_factory=list)  # the same for each secondary artifact
    log_group: str | None = None  # its CloudWatch Logs (None: disabled)
    log_stream: str | None = None
    stop_reason: str | None = None  # once a stop began: "StopBuild"
    idempotency_token: str | None = None
    request_digest: str | None = None  # of the StartBuild request, for a retry with the same token


@dataclass
class Build:
    description: dict  # BatchGetBuilds' build
    run: BuildRun = field(default_factory=BuildRun)

    @property
    def status(self) -> str:
        return self.description["buildStatus"]

    def to_store(self) -> dict:
        return copy.deepcopy({"build": self.description, "run": asdict(self.run)})

    @classmethod
    def from_store(cls, saved: dict) -> "Build":
        return cls(saved["build"], BuildRun(**_known(BuildRun, saved.get("run"))))
