"""CreateProject, BatchGetProjects, ListProjects: records in the service's own store root."""

from __future__ import annotations

from labcloud.core.clock import utc_now
from labcloud.core.errors import AWSError
from labcloud.protocols.aws_json import JsonService


class ResourceAlreadyExistsException(AWSError):
    code = "ResourceAlreadyExistsException"


class CodeBuildLite(JsonService):
    botocore_name = "codebuild"

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.projects: dict[str, dict] = {}
        self.operations = {"CreateProject": self.create_project, "BatchGetProjects": self.batch_get_projects,
                           "ListProjects": self.list_projects}
        self.check_operations()

    def start(self) -> None:
        self.projects = self.store.load_all("projects")

    def status(self) -> dict:
        return {"codebuild_projects": sorted(self.projects)}

    def create_project(self, params: dict) -> dict:
        name = params["name"]
        if name in self.projects:
            raise ResourceAlreadyExistsException(f"Project already exists: {name}")
        project = {"name": name, "arn": self.ctx.arn("codebuild", f"project/{name}"), "created": utc_now(),
                   "source": params["source"], "artifacts": params["artifacts"],
                   "environment": params["environment"], "serviceRole": params["serviceRole"]}
        self.projects[name] = project
        self.store.save("projects", name, project)
        return {"project": project}

    def batch_get_projects(self, params: dict) -> dict:
        names = params["names"]
        return {"projects": [self.projects[n] for n in names if n in self.projects],
                "projectsNotFound": [n for n in names if n not in self.projects]}

    def list_projects(self, params: dict) -> dict:
        return {"projects": sorted(self.projects)}
