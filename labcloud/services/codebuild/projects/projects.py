"""Build projects: CreateProject, BatchGetProjects, ListProjects, UpdateProject, DeleteProject.

A project's record is BatchGetProjects' answer, with CodeBuild's defaults filled in (a 60-minute timeout,
CloudWatch Logs on, no cache, ...), saved at every change. Deleting a project leaves its builds, as in
CodeBuild. The builds family asks the project for a build's settings and its next buildNumber.
"""

from __future__ import annotations

import copy
import threading

from labcloud.core.clock import utc_now
from labcloud.services.codebuild.exceptions import (AccountLimitExceededException, ResourceAlreadyExistsException,
                                                    ResourceNotFoundException)
from labcloud.services.codebuild.paging import page
from labcloud.services.codebuild.projects.records import Project
from labcloud.services.codebuild.projects.validation import check_project

KIND = "projects"
MAX_PROJECTS = 5000  # CodeBuild's quota of build projects per region
_SETTINGS = ("description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts",
             "secondaryArtifacts", "cache", "environment", "serviceRole", "timeoutInMinutes",
             "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "logsConfig", "fileSystemLocations",
             "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit")
_SORT_KEYS = {"NAME": "name", "CREATED_TIME": "created", "LAST_MODIFIED_TIME": "lastModified"}


def _with_defaults(project: dict, ctx) -> dict:
    environment = project["environment"]
    environment.setdefault("environmentVariables", [])
    environment.setdefault("privilegedMode", False)
    environment.setdefault("imagePullCredentialsType", "CODEBUILD")
    project.setdefault("secondarySources", [])
    project.setdefault("secondarySourceVersions", [])
    project.setdefault("secondaryArtifacts", [])
    project.setdefault("cache", {"type": "NO_CACHE"})
    project.setdefault("timeoutInMinutes", 60)
    project.setdefault("queuedTimeoutInMinutes", 480)
    project.setdefault("encryptionKey", f"arn:aws:kms:{ctx.region}:{ctx.account_id}:alias/aws/s3")
    project.setdefault("tags", [])
    logs = project.setdefault("logsConfig", {})
    logs.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    logs.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})
    project.setdefault("projectVisibility", "PRIVATE")
    return project


def project_name(name_or_arn: str) -> str:
    """A project's name, from its name or its ARN (arn:aws:codebuild:<region>:<account>:project/<name>)."""
    return name_or_arn.split(":project/", 1)[1] if ":project/" in name_or_arn else name_or_arn


class Projects:
    def __init__(self, ctx, store):
        self.ctx, self.store = ctx, store
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}

    def start(self) -> None:
        self.projects = {n: Project.from_store(r) for n, r in self.store.load_all(KIND).items()}

    def status(self) -> dict:
        with self.lock:
            return {"codebuild_project_count": len(self.projects)}

    def arn(self, name: str) -> str:
        return self.ctx.arn("codebuild", f"project/{name}")

    def _save(self, name: str) -> None:
        self.store.save(KIND, name, self.projects[name].to_store())

    def _missing(self, name: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(f"Project cannot be found: {self.arn(name)}")

    # -- for the builds family -------------------------------------------------------------------------
    def get(self, name_or_arn: str) -> dict:
        """A copy of the project; ResourceNotFoundException when there is none."""
        name = project_name(name_or_arn)
        with self.lock:
            if name not in self.projects:
                raise self._missing(name)
            return copy.deepcopy(self.projects[name].description)

    def exists(self, name: str) -> bool:
        with self.lock:
            return name in self.projects

    def next_build_number(self, name: str) -> int:
        with self.lock:
            record = self.projects[name]
            record.run.builds_started += 1
            self._save(name)
            return record.run.builds_started

    # -- the API ---------------------------------------------------------------------------------------
    def create_project(self, params: dict) -> dict:
        name = params["name"]
        now = utc_now()
        project = {"name": name, "arn": self.arn(name)}
        project.update({k: copy.deepcopy(params[k]) for k in _SETTINGS if params.get(k) is not None})
        project.update({"created": now, "lastModified": now,
                        "badge": {"badgeEnabled": bool(params.get("badgeEnabled"))}})
        _with_defaults(project, self.ctx)
        check_project(project)
        with self.lock:
            if name in self.projects:
                raise ResourceAlreadyExistsException(f"Project already exists: {self.arn(name)}")
            if len(self.projects) >= MAX_PROJECTS:
                raise AccountLimitExceededException(f"Cannot have more than {MAX_PROJECTS} build projects in "
                                                    f"this account and region; delete some first.")
            self.projects[name] = Project(project)
            self._save(name)
            return {"project": copy.deepcopy(project)}

    def batch_get_projects(self, params: dict) -> dict:
        found, missing = [], []
        with self.lock:
            for given in params["names"]:
                name = project_name(given)
                if name in self.projects:
                    found.append(copy.deepcopy(self.projects[name].description))
                else:
                    missing.append(given)
        return {"projects": found, "projectsNotFound": missing}

    def list_projects(self, params: dict) -> dict:
        key = _SORT_KEYS[params.get("sortBy") or "NAME"]
        with self.lock:
            records = [r.description for r in self.projects.values()]
            records.sort(key=lambda r: r[key], reverse=(params.get("sortOrder") or "ASCENDING") == "DESCENDING")
            names = [r["name"] for r in records]
        return page(names, params, "ListProjects", "projects")

    def update_project(self, params: dict) -> dict:
        name = project_name(params["name"])
        with self.lock:
            if name not in self.projects:
                raise self._missing(name)
            project = copy.deepcopy(self.projects[name].description)
            project.update({k: copy.deepcopy(params[k]) for k in _SETTINGS if params.get(k) is not None})
            if params.get("badgeEnabled") is not None:
                project["badge"] = {"badgeEnabled": params["badgeEnabled"]}
            project["lastModified"] = utc_now()
            _with_defaults(project, self.ctx)
            check_project(project)
            self.projects[name].description = project
            self._save(name)
            return {"project": copy.deepcopy(project)}

    def delete_project(self, params: dict) -> dict:
        # CodeBuild answers a delete of a project that is not there with success too; builds stay.
        name = project_name(params["name"])
        with self.lock:
            if self.projects.pop(name, None) is not None:
                self.store.delete(KIND, name)
        return {}
