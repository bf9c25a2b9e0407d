"""The record of a processing job: its DescribeProcessingJob answer, and labcloud's bookkeeping of its runs
as declared fields. Saved together as {"job": ..., "run": ..., "tags": ...}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labcloud.services.sagemaker.job_family import JobRecord, RunStateBase


@dataclass
class RunState(RunStateBase):
    log_stream: str | None = None  # its CloudWatch Logs stream, made when the job first starts
    stop_reason: str | None = None  # once a stop began: "StopProcessingJob" or "MaxRuntimeInSeconds"
    runs: int = 0  # how many times its container started (a restart of labcloud runs it again)
    fallback_noted: bool = False  # its log said once that it runs without a private /opt/ml


@dataclass
class ProcessingJob(JobRecord):
    RUN_TYPE: ClassVar[type] = RunState

    @property
    def status(self) -> str:
        return self.description["ProcessingJobStatus"]
