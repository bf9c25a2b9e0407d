"""SageMaker Pipelines: CreatePipeline ... DescribePipelineDefinitionForExecution.

A pipeline holds its definition (checked as a graph when it is created or updated: definition.py); each
StartPipelineExecution runs it as an ExecutionWorker (executor.py), whose steps call SageMaker's own
operations. Executions and their steps follow lifecycle.py, are saved at every change, resume after a
restart, and emit "SageMaker Model Building Pipeline Execution Status Change" and "... Execution Step
Status Change" on the default event bus.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import string

from labcloud.core.clock import utc_now
from labcloud.core.errors import ValidationException
from labcloud.platform.background import Workers
from labcloud.protocols.pagination import list_page, paginate
from labcloud.services.sagemaker.family import ResourceFamily
from labcloud.services.sagemaker.pipelines import definition as definitions
from labcloud.services.sagemaker.pipelines.events import PipelineEvents
from labcloud.services.sagemaker.pipelines.executor import ExecutionWorker
from labcloud.services.sagemaker.pipelines.expressions import text
from labcloud.services.sagemaker.pipelines.lifecycle import EXECUTION, STEP, STEP_DONE
from labcloud.services.sagemaker.pipelines.records import Pipeline, PipelineExecution, StepRun
from labcloud.services.sagemaker.exceptions import ResourceNotFound

WORKER_JOIN_SECONDS = 30
_ID_CHARS = string.ascii_lowercase + string.digits
_STEP_FIELDS = {"properties", "cache_key", "job_name"}


class Pipelines(ResourceFamily):
    def __init__(self, ctx, store, call, tags):
        super().__init__(ctx, store)
        self.tags = tags  # the Tags family: a pipeline's Tags are listed by ListTags
        self.call = call  # a SageMaker operation by name, validated as a request from the wire
        self.pipelines: dict[str, Pipeline] = {}
        self.executions: dict[str, PipelineExecution] = {}  # by execution ARN
        # ClientRequestToken -> what the request made, so that botocore's retry of a request whose answer
        # was lost returns the same pipeline or execution (idempotent, as on AWS). In memory: retries come
        # within seconds.
        self.request_tokens: dict[tuple, str] = {}
        self.workers = Workers()
        self.events = PipelineEvents(ctx)

    def now(self) -> dt.datetime:
        return utc_now()

    # -- life of the family ----------------------------------------------------------------------------
    def start(self) -> None:
        self.pipelines = {n: Pipeline(d) for n, d in self.store.load_all("pipelines").items()}
        self.executions = {r["description"]["PipelineExecutionArn"]: PipelineExecution.from_store(r)
                           for r in self.store.load_all("pipeline-executions").values()}
        for arn, execution in self.executions.items():
            if execution.status == "Stopping":
                self.execution_status(arn, "Stopped")
            elif execution.status == "Executing":
                self.workers.launch(ExecutionWorker(self, arn))

    def shutdown(self) -> None:
        self.workers.shutdown(WORKER_JOIN_SECONDS)

    def status(self) -> dict:
        with self.lock:
            return {"pipeline_executions_running": sorted(a for a, e in self.executions.items()
                                                          if e.status in ("Executing", "Stopping"))}

    # -- records, for the workers ----------------------------------------------------------------------
    def _save_execution(self, arn: str) -> None:
        with self.lock:
            record = self.executions[arn].to_store()
        self.store.save("pipeline-executions", arn.rsplit("/", 1)[-1], record)

    def execution(self, arn: str) -> PipelineExecution:
        with self.lock:
            return copy.deepcopy(self.executions[arn])

    def execution_status(self, arn: str, status: str, failure: str | None = None) -> None:
        with self.lock:
            description = self.executions[arn].description
            previous = description["PipelineExecutionStatus"]
            if previous == status:
                return
            EXECUTION.check(previous, status)
            description["PipelineExecutionStatus"] = status
            description["LastModifiedTime"] = utc_now()
            if failure:
                description["FailureReason"] = failure
            elif status == "Executing":
                description.pop("FailureReason", None)
            event = copy.deepcopy(description)
        self._save_execution(arn)
        self.events.execution(event, previous)

    def step_status(self, arn: str, name: str, status: str, **fields) -> None:
        """Move a step along its life cycle (creating its record when it starts) and set its fields:
        members of PipelineExecutionStep (Metadata, FailureReason, ...) and StepRun's own (properties, ...)."""
        with self.lock:
            execution = self.executions[arn]
            step = execution.steps.get(name)
            if step is None:
                step = execution.steps[name] = StepRun(self._new_step(execution, name))
            previous = step.status
            if previous != status:
                STEP.check(previous, status)
            if status == "Starting" and previous != "Starting":
                step.description.update(StartTime=utc_now())
                for key in ("EndTime", "FailureReason", "CacheHitResult"):
                    step.description.pop(key, None)
            step.description["StepStatus"] = status
            if status in STEP_DONE:
                step.description["EndTime"] = utc_now()
            for key, value in fields.items():
                if key in _STEP_FIELDS:
                    setattr(step, key, value)
                elif value is not None:
                    step.description[key] = value
            event = (copy.deepcopy(step.description), previous, copy.deepcopy(execution.description))
        self._save_execution(arn)
        if previous != status:
            self.events.step(*event)

    def _new_step(self, execution: PipelineExecution, name: str) -> dict:
        spec = definitions.parse(execution.definition).steps[name].raw
        step = {"StepName": name, "StepStatus": "Starting", "StartTime": utc_now(), "Metadata": {},
                "AttemptCount": 1}
        for key in ("DisplayName", "Description"):
            if spec.get(key):
                step[f"Step{key}"] = spec[key]
        return step

    def cached_step(self, pipeline_arn: str, name: str, key: str, expire, current: str):
        """(source execution ARN, its StepRun) of the newest earlier Succeeded run of this step with the
        same cache key that has not expired, or None."""
        now = utc_now()
        with self.lock:
            candidates = [(e.description["CreationTime"], arn, e.steps[name]) for arn, e in self.executions.items()
                          if arn != current and e.description["PipelineArn"] == pipeline_arn and name in e.steps
                          and e.steps[name].status == "Succeeded" and e.steps[name].cache_key == key
                          and (expire is None or now - e.steps[name].description["EndTime"] <= expire)]
            if not candidates:
                return None
            _, arn, step = max(candidates, key=lambda c: c[0])
            source = step.description.get("CacheHitResult", {}).get("SourcePipelineExecutionArn", arn)
            return source, copy.deepcopy(step)

    # -- pipelines -------------------------------------------------------------------------------------
    def _definition_text(self, params: dict) -> str:
        if params.get("PipelineDefinition"):
            return params["PipelineDefinition"]
        location = params.get("PipelineDefinitionS3Location")
        if not location:
            raise ValidationException("Either PipelineDefinition or PipelineDefinitionS3Location must be given.")
        extra = {"VersionId": location["VersionId"]} if location.get("VersionId") else {}
        try:
            body = self.ctx.client("s3").get_object(Bucket=location["Bucket"], Key=location["ObjectKey"], **extra)
        except Exception as err:  # noqa: BLE001 - botocore's ClientError: not there
            raise ValidationException(f"Cannot read the pipeline definition from s3://{location['Bucket']}/"
                                      f"{location['ObjectKey']}: {err}") from None
        return body["Body"].read().decode()

    def _pipeline(self, name: str) -> Pipeline:
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            raise ResourceNotFound(f"Pipeline '{self.arn('pipeline', name)}' does not exist.")
        return pipeline

    def create_pipeline(self, params: dict) -> dict:
        name = params["PipelineName"]
        text = self._definition_text(params)
        definitions.parse(text)
        now, arn = utc_now(), self.arn("pipeline", name)
        description = {"PipelineArn": arn, "PipelineName": name, "PipelineDisplayName": params.get("PipelineDisplayName") or name,
                       "PipelineDefinition": text, "RoleArn": params["RoleArn"], "PipelineStatus": "Active",
                       "CreationTime": now, "LastModifiedTime": now}
        for key in ("PipelineDescription", "ParallelismConfiguration"):
            if params.get(key):
                description[key] = params[key]
        token = params.get("ClientRequestToken")
        with self.lock:
            if name in self.pipelines:
                if token and self.request_tokens.get(("CreatePipeline", token)) == arn:
                    return {"PipelineArn": arn}  # a retry of the request that made it
                # The SDK's Pipeline.upsert() updates instead when the message says "already exists".
                raise ValidationException(f"Pipeline names must be unique within an AWS account and region. "
                                          f"Pipeline with name ({name}) already exists ({arn}).")
            if token:
                self.request_tokens[("CreatePipeline", token)] = arn
            self.pipelines[name] = Pipeline(description)
            self.store.save("pipelines", name, description)
        self.tags.tag(arn, params.get("Tags"))
        return {"PipelineArn": arn}

    def update_pipeline(self, params: dict) -> dict:
        name = params["PipelineName"]
        text = self._definition_text(params) if (params.get("PipelineDefinition")
                                                 or params.get("PipelineDefinitionS3Location")) else None
        if text is not None:
            definitions.parse(text)
        with self.lock:
            description = self._pipeline(name).description
            if text is not None:
                description["PipelineDefinition"] = text
            for key in ("PipelineDisplayName", "PipelineDescription", "RoleArn", "ParallelismConfiguration"):
                if params.get(key):
                    description[key] = params[key]
            description["LastModifiedTime"] = utc_now()
            self.store.save("pipelines", name, description)
        return {"PipelineArn": description["PipelineArn"]}

    def describe_pipeline(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._pipeline(params["PipelineName"]).description)

    def list_pipelines(self, params: dict) -> dict:
        with self.lock:
            records = [copy.deepcopy(p.description) for p in self.pipelines.values()]
        prefix = params.get("PipelineNamePrefix")
        records = [r for r in records if not prefix or r["PipelineName"].startswith(prefix)]
        filters = {**params, "CreationTimeAfter": params.get("CreatedAfter"),
                   "CreationTimeBefore": params.get("CreatedBefore")}
        return list_page(records, filters, "ListPipelines", name_key="PipelineName", result_key="PipelineSummaries",
                         fields=["PipelineArn", "PipelineName", "PipelineDisplayName", "PipelineDescription",
                                 "RoleArn", "CreationTime", "LastModifiedTime", "LastRunTime"], default_max=50)

    def delete_pipeline(self, params: dict) -> dict:
        name = params["PipelineName"]
        with self.lock:
            arn = self._pipeline(name).description["PipelineArn"]
            del self.pipelines[name]
            self.store.delete("pipelines", name)
        self.tags.forget(arn)
        return {"PipelineArn": arn}

    # -- executions ------------------------------------------------------------------------------------
    def _execution(self, arn: str) -> PipelineExecution:
        execution = self.executions.get(arn)
        if execution is None:
            raise ResourceNotFound(f"Pipeline execution '{arn}' does not exist.")
        return execution

    def start_pipeline_execution(self, params: dict) -> dict:
        token = params.get("ClientRequestToken")
        with self.lock:
            pipeline = copy.deepcopy(self._pipeline(params["PipelineName"]).description)
            started = self.request_tokens.get(("StartPipelineExecution", pipeline["PipelineArn"], token))
            if token and started in self.executions:
                return {"PipelineExecutionArn": started}  # a retry of the request that started it
        definition = definitions.parse(pipeline["PipelineDefinition"])
        unsupported = definition.unsupported()
        if unsupported:
            raise ValidationException(
                "labcloud cannot run these steps offline: " + ", ".join(f"{s.name} (type {s.type})" for s in unsupported)
                + f". It runs the step types {', '.join(sorted(definitions.RUNNABLE))}.")
        values = definition.parameter_values(params.get("PipelineParameters"))
        execution_id = "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        arn = f"{pipeline['PipelineArn']}/execution/{execution_id}"
        now = utc_now()
        description = {"PipelineArn": pipeline["PipelineArn"], "PipelineExecutionArn": arn,
                       "PipelineExecutionDisplayName": params.get("PipelineExecutionDisplayName") or f"execution-{int(now.timestamp() * 1000)}",
                       "PipelineExecutionStatus": "Executing", "CreationTime": now, "LastModifiedTime": now,
                       "PipelineExperimentConfig": {"ExperimentName": pipeline["PipelineName"], "TrialName": execution_id}}
        for key in ("PipelineExecutionDescription", "ParallelismConfiguration"):
            if params.get(key) or (key == "ParallelismConfiguration" and pipeline.get(key)):
                description[key] = params.get(key) or pipeline.get(key)
        with self.lock:
            if token:
                self.request_tokens[("StartPipelineExecution", pipeline["PipelineArn"], token)] = arn
            self.executions[arn] = PipelineExecution(description, pipeline["PipelineDefinition"], values)
            self.pipelines[pipeline["PipelineName"]].description["LastRunTime"] = now
            self.store.save("pipelines", pipeline["PipelineName"], self.pipelines[pipeline["PipelineName"]].description)
        self._save_execution(arn)
        self.events.execution(copy.deepcopy(description), None)
        self.workers.launch(ExecutionWorker(self, arn))
        return {"PipelineExecutionArn": arn}

    def describe_pipeline_execution(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._execution(params["PipelineExecutionArn"]).description)

    def list_pipeline_executions(self, params: dict) -> dict:
        with self.lock:
            pipeline_arn = self._pipeline(params["PipelineName"]).description["PipelineArn"]
            records = [{**e.description, "StartTime": e.description["CreationTime"],
                        "PipelineExecutionFailureReason": e.description.get("FailureReason")}
                       for e in self.executions.values() if e.description["PipelineArn"] == pipeline_arn]
        filters = {"CreationTimeAfter": params.get("CreatedAfter"), "CreationTimeBefore": params.get("CreatedBefore"),
                   "SortOrder": params.get("SortOrder"), "NextToken": params.get("NextToken"),
                   "MaxResults": params.get("MaxResults"),
                   "SortBy": "CreationTime" if params.get("SortBy") in (None, "CreationTime") else "Name"}
        records = [{k: v for k, v in r.items() if v is not None} for r in copy.deepcopy(records)]
        return list_page(records, filters, "ListPipelineExecutions", name_key="PipelineExecutionDisplayName",
                         result_key="PipelineExecutionSummaries",
                         fields=["PipelineExecutionArn", "StartTime", "PipelineExecutionStatus",
                                 "PipelineExecutionDescription", "PipelineExecutionDisplayName",
                                 "PipelineExecutionFailureReason"], default_max=50)

    def list_pipeline_execution_steps(self, params: dict) -> dict:
        with self.lock:
            steps = [copy.deepcopy(s.description) for s in self._execution(params.get("PipelineExecutionArn", "")).steps.values()]
        steps.sort(key=lambda s: s["StartTime"], reverse=(params.get("SortOrder") or "Descending") == "Descending")
        page, token = paginate(steps, params, "ListPipelineExecutionSteps", default_max=50)
        return {"PipelineExecutionSteps": page, **({"NextToken": token} if token else {})}

    def stop_pipeline_execution(self, params: dict) -> dict:
        arn = params["PipelineExecutionArn"]
        with self.lock:
            status = self._execution(arn).status
        if status != "Executing":
            raise ValidationException(f"Pipeline execution '{arn}' is {status}; only an Executing execution can "
                                      "be stopped.")
        self.execution_status(arn, "Stopping")
        self.workers.stop(arn)
        return {"PipelineExecutionArn": arn}

    def retry_pipeline_execution(self, params: dict) -> dict:
        arn = params["PipelineExecutionArn"]
        with self.lock:
            execution = self._execution(arn)
            if execution.status != "Failed":
                raise ValidationException(f"Pipeline execution '{arn}' is {execution.status}; only a Failed "
                                          "execution can be retried.")
            if params.get("ParallelismConfiguration"):
                execution.description["ParallelismConfiguration"] = params["ParallelismConfiguration"]
        self.execution_status(arn, "Executing")  # its Succeeded steps stand; the others run again
        self.workers.launch(ExecutionWorker(self, arn))
        return {"PipelineExecutionArn": arn}

    def list_pipeline_parameters_for_execution(self, params: dict) -> dict:
        with self.lock:
            values = self._execution(params["PipelineExecutionArn"]).parameters
        items = [{"Name": n, "Value": text(v)} for n, v in values.items()]
        page, token = paginate(items, params, "ListPipelineParametersForExecution", default_max=50)
        return {"PipelineParameters": page, **({"NextToken": token} if token else {})}

    def describe_pipeline_definition_for_execution(self, params: dict) -> dict:
        with self.lock:
            execution = self._execution(params["PipelineExecutionArn"])
            return {"PipelineDefinition": execution.definition, "CreationTime": execution.description["CreationTime"]}
