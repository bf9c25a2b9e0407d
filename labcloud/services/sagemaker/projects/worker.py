"""Provisioning a project: the template's stack deployed, updated or deleted by the template engine
(labcloud.runtime.stacks), on a thread of its own. Creating the MLOps template's stack pushes the seed
code to two repositories and makes the build and deploy pipelines, which start their first runs."""

from __future__ import annotations

import enum

from labcloud.platform.background import Worker


class Outcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"


class ProjectWorker(Worker):
    def __init__(self, family, name: str):
        super().__init__(family.ctx, name, "project")
        self.family = family
        self.name = name

    def run(self) -> Outcome:
        from labcloud.runtime import stacks  # the engine imports its resource handlers: only when needed

        project = self.family.snapshot(self.name)
        operation = project.operation
        stack_name = self.family.stack_name(project)
        try:
            if operation == "delete":
                if project.stack:
                    stacks.delete(project.stack, self.ctx.client)
                self.family.deleted(self.name)
                return Outcome.DONE
            self.family.moved(self.name, "CreateInProgress" if operation == "create" else None)
            record = stacks.deploy(stack_name, project.template_text, project.parameters, self.ctx.client,
                                   previous=project.stack, region=self.ctx.region, account_id=self.ctx.account_id)
        except stacks.StackError as err:
            self.family.failed_with(self.name, str(err))
            return Outcome.FAILED
        self.family.provisioned(self.name, record)
        return Outcome.DONE

    def failed(self, err: Exception) -> None:
        self.family.failed_with(self.name, f"labcloud could not provision the project: {err}")
