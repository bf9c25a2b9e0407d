"""The records of SageMaker Pipelines: pipelines, their executions, and each execution's steps."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field


@dataclass
class Pipeline:
    description: dict  # DescribePipeline (PipelineDefinition as the JSON text)

    @property
    def name(self) -> str:
        return self.description["PipelineName"]


@dataclass
class StepRun:
    """One step of an execution: what ListPipelineExecutionSteps says of it, and what later steps read."""
    description: dict  # a PipelineExecutionStep: StepName, StepStatus, StartTime, Metadata, AttemptCount, ...
    properties: dict | None = None  # the Describe* answer of what the step made ({"Get": "Steps.X..."} reads it)
    cache_key: str | None = None  # the step's arguments as a cache lookup compares them
    job_name: str | None = None  # the job, model or package it made (a restart picks a running job up again)

    @property
    def status(self) -> str:
        return self.description["StepStatus"]


@dataclass
class PipelineExecution:
    description: dict  # DescribePipelineExecution
    definition: str  # the definition it runs (DescribePipelineDefinitionForExecution)
    parameters: dict  # parameter name -> its value in this execution
    steps: dict[str, StepRun] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return self.description["PipelineExecutionArn"]

    @property
    def status(self) -> str:
        return self.description["PipelineExecutionStatus"]

    def to_store(self) -> dict:
        return copy.deepcopy({"description": self.description, "definition": self.definition,
                              "parameters": self.parameters,
                              "steps": {n: asdict(s) for n, s in self.steps.items()}})

    @classmethod
    def from_store(cls, saved: dict) -> "PipelineExecution":
        return cls(saved["description"], saved["definition"], saved["parameters"],
                   {n: StepRun(**s) for n, s in saved.get("steps", {}).items()})
