"""A build project as BatchGetProjects answers it, with labcloud's bookkeeping beside, as declared
fields. Saved as {"project": ..., "run": ...}."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields


def _known(cls, saved: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in (saved or {}).items() if k in names}


@dataclass
class ProjectRun:
    builds_started: int = 0  # the last buildNumber given


@dataclass
class Project:
    description: dict  # BatchGetProjects' project
    run: ProjectRun = field(default_factory=ProjectRun)

    def to_store(self) -> dict:
        return copy.deepcopy({"project": self.description, "run": asdict(self.run)})

    @classmethod
    def from_store(cls, saved: dict) -> "Project":
        return cls(saved["project"], ProjectRun(**_known(ProjectRun, saved.get("run"))))
