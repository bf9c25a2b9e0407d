"""The record of a training job: its DescribeTrainingJob answer, and labcloud's bookkeeping of its
attempts as declared fields. Saved together as {"job": ..., "run": ..., "tags": ...}."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields


@dataclass
class RunState:
    log_stream: str | None = None  # its CloudWatch Logs stream, made when the job first starts
    interruptions: int = 0  # spot interruptions so far (a tag's count is honoured across restarts)
    container_seconds: float = 0.0  # how long the container ran over all attempts: TrainingTimeInSeconds
    stop_reason: str | None = None  # once a stop began: Stopped, MaxRuntimeExceeded or MaxWaitTimeExceeded
    fallback_noted: bool = False  # its log said once that it runs without a private /opt/ml

    @classmethod
    def from_store(cls, saved: dict) -> "RunState":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class TrainingJob:
    description: dict  # DescribeTrainingJob
    run: RunState = field(default_factory=RunState)
    tags: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.description["TrainingJobStatus"]

    @property
    def secondary_status(self) -> str:
        return self.description["SecondaryStatus"]

    def to_store(self) -> dict:
        return copy.deepcopy({"job": self.description, "run": asdict(self.run), "tags": self.tags})

    @classmethod
    def from_store(cls, saved: dict) -> "TrainingJob":
        return cls(saved["job"], RunState.from_store(saved.get("run", {})), saved.get("tags", []))
