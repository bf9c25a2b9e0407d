"""The record of a training job: its DescribeTrainingJob answer, and labcloud's bookkeeping of its
attempts as declared fields. Saved together as {"job": ..., "run": ..., "tags": ...}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labcloud.services.sagemaker.job_family import JobRecord, RunStateBase


@dataclass
class RunState(RunStateBase):
    log_stream: str | None = None  # its CloudWatch Logs stream, made when the job first starts
    interruptions: int = 0  # spot interruptions so far (a tag's count is honoured across restarts)
    container_seconds: float = 0.0  # how long the container ran over all attempts: TrainingTimeInSeconds
    attempt_seconds: float = 0.0  # the running attempt's seconds at its last heartbeat: a crash loses no more
    stop_reason: str | None = None  # once a stop began: Stopped, MaxRuntimeExceeded or MaxWaitTimeExceeded
    fallback_noted: bool = False  # its log said once that it runs without a private /opt/ml


@dataclass
class TrainingJob(JobRecord):
    RUN_TYPE: ClassVar[type] = RunState

    @property
    def status(self) -> str:
        return self.description["TrainingJobStatus"]

    @property
    def secondary_status(self) -> str:
        return self.description["SecondaryStatus"]
