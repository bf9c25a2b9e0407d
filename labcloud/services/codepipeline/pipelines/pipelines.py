"""Pipelines: CreatePipeline, GetPipeline, UpdatePipeline, DeletePipeline, ListPipelines.

A pipeline's record keeps every version of its declaration (GetPipeline takes a version). CreatePipeline
starts a first execution, as CodePipeline does; DeletePipeline stops its executions and forgets them. The
executions themselves are the Executions family's (executions.py), told through `on_created` and
`on_deleted`.
"""

from __future__ import annotations

import copy
import threading
from typing import Callable

from labcloud.core.clock import utc_now
from labcloud.services.codepipeline.exceptions import (PipelineNameInUseException, PipelineNotFoundException,
                                                       PipelineVersionNotFoundException, ValidationException)
from labcloud.services.codepipeline.pipelines.paging import page
from labcloud.services.codepipeline.pipelines.records import Pipeline
from labcloud.services.codepipeline.pipelines.structure import normalize

KIND = "pipelines"


class Pipelines:
    def __init__(self, ctx, store, providers: dict):
        self.ctx, self.store, self.providers = ctx, store, providers
        self.lock = threading.RLock()
        self.pipelines: dict[str, Pipeline] = {}
        self.on_created: Callable[[str], None] = lambda name: None
        self.on_deleted: Callable[[str], None] = lambda name: None

    def start(self) -> None:
        if self.store is not None:
            self.pipelines = {n: Pipeline.from_store(r) for n, r in self.store.load_all(KIND).items()}

    def arn(self, name: str) -> str:
        return self.ctx.arn("codepipeline", name)

    def _save(self, pipeline: Pipeline) -> None:
        if self.store is not None:
            self.store.save(KIND, pipeline.name, pipeline.to_store())

    # -- for the other families ------------------------------------------------------------------------
    def get(self, name: str) -> Pipeline:
        """A copy of the pipeline's record; PipelineNotFoundException if there is none."""
        with self.lock:
            pipeline = self.pipelines.get(name)
            if pipeline is None:
                raise PipelineNotFoundException(f"Account '{self.ctx.account_id}' does not have a pipeline with "
                                                f"name '{name}'")
            return copy.deepcopy(pipeline)

    def by_arn(self) -> dict[str, str]:
        """pipeline ARN -> pipeline name, for every pipeline."""
        with self.lock:
            return {p.arn: n for n, p in self.pipelines.items()}

    # -- the API ---------------------------------------------------------------------------------------
    def create_pipeline(self, params: dict) -> dict:
        declaration = normalize(params["pipeline"], self.providers, self.ctx.region)
        name = declaration["name"]
        declaration["version"] = 1
        now = utc_now()
        pipeline = Pipeline(declaration, self.arn(name), now, now, list(params.get("tags") or []),
                            {"1": copy.deepcopy(declaration)})
        with self.lock:
            if name in self.pipelines:
                raise PipelineNameInUseException(f"A pipeline with the name '{name}' already exists in account "
                                                 f"'{self.ctx.account_id}'")
            self.pipelines[name] = pipeline
            self._save(pipeline)
        self.on_created(name)
        answer = {"pipeline": copy.deepcopy(declaration)}
        if pipeline.tags:
            answer["tags"] = copy.deepcopy(pipeline.tags)
        return answer

    def get_pipeline(self, params: dict) -> dict:
        pipeline = self.get(params["name"])
        declaration = pipeline.declaration
        if params.get("version") is not None:
            declaration = pipeline.versions.get(str(params["version"]))
            if declaration is None:
                raise PipelineVersionNotFoundException(
                    f"Pipeline '{pipeline.name}' has no version {params['version']}; its latest version is "
                    f"{pipeline.version}.")
        return {"pipeline": declaration,
                "metadata": {"pipelineArn": pipeline.arn, "created": pipeline.created, "updated": pipeline.updated}}

    def update_pipeline(self, params: dict) -> dict:
        declaration = normalize(params["pipeline"], self.providers, self.ctx.region)
        name = declaration["name"]
        with self.lock:
            pipeline = self.pipelines.get(name)
            if pipeline is None:
                raise PipelineNotFoundException(f"Account '{self.ctx.account_id}' does not have a pipeline with "
                                                f"name '{name}'")
            given = params["pipeline"].get("version")
            if given is not None and given != pipeline.version:
                raise ValidationException(f"The pipeline version {given} is not the latest ({pipeline.version}): "
                                          f"GetPipeline again and send its declaration with your changes.")
            declaration["version"] = pipeline.version + 1
            pipeline.declaration = declaration
            pipeline.updated = utc_now()
            pipeline.versions[str(declaration["version"])] = copy.deepcopy(declaration)
            self._save(pipeline)
            return {"pipeline": copy.deepcopy(declaration)}

    def delete_pipeline(self, params: dict) -> dict:
        name = params["name"]
        with self.lock:
            if self.pipelines.pop(name, None) is None:
                return {}  # CodePipeline answers a delete of a missing pipeline without an error
            if self.store is not None:
                self.store.delete(KIND, name)
        self.on_deleted(name)
        return {}

    def list_pipelines(self, params: dict) -> dict:
        with self.lock:
            summaries = [{"name": p.name, "version": p.version, "pipelineType": p.declaration["pipelineType"],
                          "executionMode": p.declaration["executionMode"], "created": p.created,
                          "updated": p.updated} for p in self.pipelines.values()]
        summaries.sort(key=lambda s: s["name"])
        chunk, token = page(summaries, params, "ListPipelines", default_max=1000)
        answer = {"pipelines": chunk}
        if token:
            answer["nextToken"] = token
        return answer
