"""The record of a processing job: its DescribeProcessingJob answer, and labcloud's bookkeeping of its runs
as declared fields. Saved together as {"job": ..., "run": ..., "tags": ...}."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields


@dataclass
class RunState:
    log_stream: str | None = None  # its CloudWatch Logs stream, made when the job first starts
    stop_reason: str | None = None  # once a stop began: "StopProcessingJob" or "MaxRuntimeInSeconds"
    runs: int = 0  # how many times its container started (a restart of labcloud runs it again)
    fallback_noted: bool = False  # its log said once that it runs without a private /opt/ml

    @classmethod
    def from_store(cls, saved: dict) -> "RunState":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class ProcessingJob:
    description: dict  # DescribeProcessingJob
    run: RunState = field(default_factory=RunState)
    tags: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.description["ProcessingJobStatus"]

    def to_store(self) -> dict:
        return copy.deepcopy({"job": self.description, "run": asdict(self.run), "tags": self.tags})

    @classmethod
    def from_store(cls, saved: dict) -> "ProcessingJob":
        return cls(saved["job"], RunState.from_store(saved.get("run", {})), saved.get("tags", []))
