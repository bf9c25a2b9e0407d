"""Running one pipeline execution: its steps as a graph, those whose inputs do not depend on each other
at the same time (at most ParallelismConfiguration.MaxParallelExecutionSteps), each step on its own thread.

A step starts once every step it depends on has Succeeded (a Condition step's IfSteps only when its
Outcome is True, its ElseSteps only when False); a step whose dependency did not succeed never runs. Once
a step has failed, or the execution is being stopped, no new step starts; the running ones finish (a
stop stops their jobs) and the execution ends Failed or Stopped. When labcloud stops, the execution is
left Executing and resumed at the next start: finished steps keep their results, a job that was running
is followed again (its own family resumed it).
"""

from __future__ import annotations

import enum
import json
import re
import secrets
import threading

from labcloud.core.constants import failure_reason
from labcloud.core.errors import AWSError
from labcloud.platform.background import Worker
from labcloud.runtime.s3_transfer import split_s3_uri
from labcloud.services.sagemaker.pipelines import cache
from labcloud.services.sagemaker.pipelines.definition import StepSpec, parse
from labcloud.services.sagemaker.pipelines.expressions import Evaluator, StepFailure, follow, parse_path
from labcloud.services.sagemaker.pipelines.steps import JOBS, StepEnv, StepResult, run_step

DEFAULT_MAX_PARALLEL = 50
STEP_FAILURE = "Step failure: One or multiple steps failed."


class Executed(enum.Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"
    SHUT_DOWN = "shut down"  # left Executing: the next start resumes it


def job_name(execution_id: str, step: str) -> str:
    """pipelines-<execution id>-<step>-<random>, within SageMaker's 63 characters and name pattern; lower
    case, as ARNs are, so that the name in a step's Metadata ARN is the job's name."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")[:30].strip("-") or "step"
    return f"pipelines-{execution_id}-{cleaned}-{secrets.token_hex(5)}"


class ExecutionWorker(Worker):
    def __init__(self, family, arn: str):
        super().__init__(family.ctx, arn, "pipeline")
        self.family = family
        execution = family.execution(arn)
        self.description = execution.description
        self.definition = parse(execution.definition)
        self.parameters = execution.parameters
        limit = (execution.description.get("ParallelismConfiguration") or {}).get("MaxParallelExecutionSteps")
        self.max_parallel = int(limit or DEFAULT_MAX_PARALLEL)
        self.changed = threading.Condition()
        self.running: dict[str, threading.Thread] = {}
        # What earlier runs of this execution settled (a resume, a RetryPipelineExecution).
        self.results = {n: s.status for n, s in execution.steps.items() if s.status == "Succeeded"}
        self.outcomes = {n: s.description["Metadata"]["Condition"]["Outcome"] == "True"
                         for n, s in execution.steps.items()
                         if s.status == "Succeeded" and "Condition" in s.description.get("Metadata", {})}
        self.resume = {n for n, s in execution.steps.items() if s.status in ("Executing", "Stopping")
                       and s.job_name and self.definition.steps[n].type in JOBS}
        self.skipped: set[str] = set()

    # -- the graph -------------------------------------------------------------------------------------
    def run(self) -> Executed:
        with self.changed:
            while True:
                if self.ctx.shutting_down.is_set():
                    self._wait_running()
                    return Executed.SHUT_DOWN
                halted = self.stop_requested.is_set() or "Failed" in self.results.values()
                started = 0 if halted else self._start_ready()
                if not self.running and not started:
                    break
                self.changed.wait(0.1)
        return self._conclude()

    def _start_ready(self) -> int:
        started = 0
        for step in self.definition.steps.values():
            if len(self.running) >= self.max_parallel:
                break
            name = step.name
            if name in self.results or name in self.running or name in self.skipped:
                continue
            readiness = self._readiness(step)
            if readiness == "skip":
                self.skipped.add(name)
                started += 1  # the graph changed: look again
            elif readiness == "ready":
                thread = threading.Thread(target=self._run_step, args=(step,), name=f"pipeline-step-{name}",
                                          daemon=True)
                self.running[name] = thread
                thread.start()
                started += 1
        return started

    def _readiness(self, step: StepSpec) -> str:
        for dependency in step.depends_on:
            if dependency in self.skipped:
                return "skip"
            if dependency not in self.results:
                return "wait"
            if step.branch and step.branch[0] == dependency:
                if self.results[dependency] != "Succeeded" or self.outcomes.get(dependency) != step.branch[1]:
                    return "skip"
            elif self.results[dependency] != "Succeeded":
                return "skip"
        return "ready"

    def _wait_running(self) -> None:
        while self.running:
            self.changed.wait(0.1)

    def _conclude(self) -> Executed:
        failed = [n for n, status in self.results.items() if status == "Failed"]
        if failed:
            step = self.family.execution(self.key).steps[failed[0]]
            reason = step.description.get("FailureReason", "")
            fail_step = self.definition.steps[failed[0]].type == "Fail"
            self.family.execution_status(self.key, "Failed", reason if fail_step else
                                         failure_reason(f"{STEP_FAILURE} {failed[0]}: {reason}"))
            return Executed.FAILED
        if self.stop_requested.is_set():
            self.family.execution_status(self.key, "Stopped")
            return Executed.STOPPED
        self.family.execution_status(self.key, "Succeeded")
        return Executed.SUCCEEDED

    def failed(self, err: Exception) -> None:
        self.family.execution_status(self.key, "Failed", f"InternalServerError: labcloud could not run the "
                                                        f"pipeline: {err}")

    # -- one step --------------------------------------------------------------------------------------
    def _run_step(self, step: StepSpec) -> None:
        try:
            status = self._attempts(step)
        except Exception as err:  # noqa: BLE001 - a labcloud fault fails the step visibly
            status = "Failed"
            self.family.step_status(self.key, step.name, "Failed",
                                    FailureReason=f"InternalServerError: labcloud could not run the step: {err}")
        with self.changed:
            if status is not None:
                self.results[step.name] = status
                if status == "Succeeded" and step.type == "Condition":
                    metadata = self.family.execution(self.key).steps[step.name].description["Metadata"]
                    self.outcomes[step.name] = metadata["Condition"]["Outcome"] == "True"
            self.running.pop(step.name, None)
            self.changed.notify_all()

    def _attempts(self, step: StepSpec) -> str | None:
        attempt = 1
        attach = step.name in self.resume
        while True:
            name = self.family.execution(self.key).steps[step.name].job_name if attach else None
            name = name or job_name(self.description["PipelineExecutionArn"].rsplit("/", 1)[-1], step.name)
            self.family.step_status(self.key, step.name, "Starting", AttemptCount=attempt, job_name=name)
            if self._cache_hit(step):
                return "Succeeded"
            env = self._env(step, name)
            result = run_step(step.type, step.arguments, env, attach=attach)
            if self.ctx.shutting_down.is_set() and not self.stop_requested.is_set():
                return None  # left Executing: resumed at the next start
            delay = cache.retry_delay(step.retry_policies, result.error_type, attempt) \
                if result.status == "Failed" else None
            self._record(step, result)
            if delay is None or self.stop_requested.wait(delay) or self.ctx.shutting_down.is_set():
                return result.status
            attempt, attach = attempt + 1, False

    def _env(self, step: StepSpec, name: str) -> StepEnv:
        def started(metadata: dict) -> None:
            self.family.step_status(self.key, step.name, "Executing", Metadata=metadata)

        return StepEnv(call=self.family.call, evaluator=self._evaluator(step, name), stop=self.stop_requested,
                       shutting_down=self.ctx.shutting_down, job_name=name, execution_arn=self.key, started=started)

    def _record(self, step: StepSpec, result: StepResult) -> None:
        fields = {"Metadata": result.metadata, "properties": result.properties}
        if result.failure:
            fields["FailureReason"] = failure_reason(result.failure)
        if step.cache:
            fields["cache_key"] = self._key(step)
        self.family.step_status(self.key, step.name, result.status, **fields)

    def _cache_hit(self, step: StepSpec) -> bool:
        if not step.cache:
            return False
        try:
            key, expire = self._key(step), cache.duration(step.cache.get("ExpireAfter"))
        except (StepFailure, ValueError):
            return False  # the step itself will say what is wrong
        hit = self.family.cached_step(self.description["PipelineArn"], step.name, key, expire, self.key)
        if hit is None:
            return False
        source_arn, earlier = hit
        self.family.step_status(self.key, step.name, "Succeeded", Metadata=earlier.description.get("Metadata", {}),
                                properties=earlier.properties, cache_key=key,
                                CacheHitResult={"SourcePipelineExecutionArn": source_arn})
        return True

    def _key(self, step: StepSpec) -> str:
        unresolved = self._evaluator(step, None, keep_execution_variables=True)
        arguments = step.arguments
        if step.type == "Condition":
            arguments = {"Conditions": arguments.get("Conditions")}
        return cache.cache_key(step.type, unresolved.value(arguments))

    # -- values ----------------------------------------------------------------------------------------
    def _evaluator(self, step: StepSpec, name: str | None, keep_execution_variables: bool = False) -> Evaluator:
        def resolve(reference: str):
            kind, _, rest = reference.partition(".")
            if kind == "Parameters":
                return self.parameters[rest]
            if kind == "Execution":
                return f"{{{reference}}}" if keep_execution_variables else self._execution_variable(rest, step, name)
            step_name, _, path = rest.partition(".")
            properties = self.family.execution(self.key).steps[step_name].properties if \
                step_name in self.family.execution(self.key).steps else None
            if properties is None:
                raise StepFailure(f"Step {step.name} refers to {reference}, but step {step_name} has no properties.")
            return follow(properties, parse_path(path), f"{reference}")

        return Evaluator(resolve, self._property_file, self._s3_json)

    def _execution_variable(self, variable: str, step: StepSpec, name: str | None):
        description = self.description
        values = {"PipelineExecutionId": description["PipelineExecutionArn"].rsplit("/", 1)[-1],
                  "PipelineExecutionArn": description["PipelineExecutionArn"],
                  "PipelineArn": description["PipelineArn"],
                  "PipelineName": description["PipelineArn"].split(":pipeline/", 1)[-1].split("/")[0],
                  "StartDateTime": description["CreationTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "CurrentDateTime": self.family.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "TrainingJobName": name, "ProcessingJobName": name}
        return values[variable]

    def _property_file(self, step_name: str, file_name: str):
        spec = self.definition.steps[step_name].property_files.get(file_name)
        if spec is None:
            raise StepFailure(f"JsonGet: step {step_name} has no property file {file_name}")
        properties = self.family.execution(self.key).steps[step_name].properties or {}
        outputs = (properties.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        output = next((o for o in outputs if o.get("OutputName") == spec["OutputName"]), None)
        if output is None:
            raise StepFailure(f"JsonGet: step {step_name} has no output {spec['OutputName']} for property file "
                              f"{file_name}")
        return self._s3_json(output["S3Output"]["S3Uri"].rstrip("/") + "/" + spec["FilePath"])

    def _s3_json(self, uri: str):
        try:
            bucket, key = split_s3_uri(uri)
            body = self.ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return json.loads(body)
        except (ValueError, AWSError) as err:
            raise StepFailure(f"JsonGet: {uri} is not a JSON file: {err}") from None
        except Exception as err:  # noqa: BLE001 - botocore's ClientError: the object is not there
            raise StepFailure(f"JsonGet: cannot read {uri}: {err}") from None
