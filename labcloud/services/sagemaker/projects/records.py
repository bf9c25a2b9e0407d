"""The record of a project: its DescribeProject answer, and what labcloud keeps beside it: the template it
was provisioned from, the parameters, and the stack record the template engine returned (what the
project's resources are, for an update or a delete). Saved together."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields


@dataclass
class Project:
    description: dict  # DescribeProject
    template_text: str = ""
    parameters: dict = field(default_factory=dict)  # the template's parameters, as the stack got them
    stack: dict | None = None  # labcloud.runtime.stacks' record of the project's resources
    operation: str | None = None  # what the worker does now: "create", "update" or "delete"

    @property
    def status(self) -> str:
        return self.description["ProjectStatus"]

    @property
    def name(self) -> str:
        return self.description["ProjectName"]

    def to_store(self) -> dict:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_store(cls, saved: dict) -> "Project":
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})
