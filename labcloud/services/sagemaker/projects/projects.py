"""SageMaker Projects: CreateProject, DescribeProject, ListProjects, UpdateProject, DeleteProject.

A project is a template's stack: CreateProject answers at once (ProjectStatus Pending) and a
ProjectWorker deploys the template (worker.py); DescribeProject follows it to CreateCompleted, or to
CreateFailed with the reason in ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage
(and, for TemplateProviders, in the template's StackDetail.StatusMessage), where AWS shows it. The
templates labcloud ships are published to the seed-code bucket when the service starts.
"""

from __future__ import annotations

import copy
import secrets
import string

from labcloud.core.clock import utc_now
from labcloud.core.errors import ValidationException
from labcloud.platform.background import Workers
from labcloud.protocols.pagination import list_page
from labcloud.runtime import project_templates
from labcloud.services.sagemaker.family import ResourceFamily
from labcloud.services.sagemaker.projects import templates
from labcloud.services.sagemaker.projects.lifecycle import BUSY, PROJECT
from labcloud.services.sagemaker.projects.records import Project
from labcloud.services.sagemaker.projects.worker import ProjectWorker

KIND = "projects"
_ID_CHARS = string.ascii_lowercase + string.digits
_SUMMARY = ["ProjectName", "ProjectDescription", "ProjectArn", "ProjectId", "CreationTime", "ProjectStatus"]


class Projects(ResourceFamily):
    def __init__(self, ctx, store, tags):
        super().__init__(ctx, store)
        self.tags = tags
        self.projects: dict[str, Project] = {}
        self.workers = Workers()

    def start(self) -> None:
        project_templates.publish(self.ctx.client("s3"), self.ctx.region)
        self.projects = {n: Project.from_store(r) for n, r in self.store.load_all(KIND).items()}
        for name, project in self.projects.items():
            if project.status in BUSY:  # the stack may be half made: say so rather than guess
                self.failed_with(name, "labcloud stopped while the project was being provisioned; delete the "
                                       "project and create it again.")

    def shutdown(self) -> None:
        self.workers.shutdown(30)

    def status(self) -> dict:
        with self.lock:
            return {"projects_in_progress": sorted(n for n, p in self.projects.items() if p.status in BUSY)}

    # -- for the worker --------------------------------------------------------------------------------
    def _save(self, name: str) -> None:
        with self.lock:
            record = self.projects[name].to_store()
        self.store.save(KIND, name, record)

    def snapshot(self, name: str) -> Project:
        with self.lock:
            return copy.deepcopy(self.projects[name])

    @staticmethod
    def stack_name(project: Project) -> str:
        return f"SC-{project.description['ProjectId']}" if project.description.get(
            "ServiceCatalogProvisioningDetails") else f"sagemaker-{project.name}-{project.description['ProjectId']}"

    def _move(self, project: Project, status: str) -> None:
        PROJECT.check(project.status, status)
        project.description["ProjectStatus"] = status
        project.description["LastModifiedTime"] = utc_now()

    def moved(self, name: str, status: str | None) -> None:
        if status is None:
            return
        with self.lock:
            self._move(self.projects[name], status)
        self._save(name)

    def _status_message(self, project: Project, message: str) -> None:
        details = project.description.get("ServiceCatalogProvisionedProductDetails")
        if details is not None:
            details["ProvisionedProductStatusMessage"] = message
        for provider in project.description.get("TemplateProviderDetails") or []:
            provider["CfnTemplateProviderDetail"].setdefault("StackDetail", {})["StatusMessage"] = message

    def provisioned(self, name: str, stack: dict) -> None:
        with self.lock:
            project = self.projects[name]
            project.stack = stack
            done = {"create": "CreateCompleted", "update": "UpdateCompleted"}[project.operation]
            self._move(project, done)
            project.operation = None
            self._status_message(project, f"{stack.get('StackStatus', 'CREATE_COMPLETE')}")
            for provider in project.description.get("TemplateProviderDetails") or []:
                provider["CfnTemplateProviderDetail"]["StackDetail"].update(
                    {"Name": stack["StackName"], "Id": stack.get("StackId", "")})
        self._save(name)

    def failed_with(self, name: str, message: str) -> None:
        with self.lock:
            project = self.projects.get(name)
            if project is None:
                return
            failed = {"Pending": "CreateFailed", "CreateInProgress": "CreateFailed", "UpdateInProgress": "UpdateFailed",
                      "DeleteInProgress": "DeleteFailed"}.get(project.status)
            if failed is None:
                return
            self._move(project, failed)
            project.operation = None
            self._status_message(project, message)
        self._save(name)

    def deleted(self, name: str) -> None:
        with self.lock:
            project = self.projects.pop(name)
        self.tags.forget(project.description["ProjectArn"])
        self.store.delete(KIND, name)

    # -- the API ---------------------------------------------------------------------------------------
    def _get(self, name: str) -> Project:
        project = self.projects.get(name)
        if project is None:
            raise ValidationException(f"Project {name} does not exist.")
        return project

    def create_project(self, params: dict) -> dict:
        name = params["ProjectName"]
        chosen = templates.choose(params, self.ctx.client("s3"))
        project_id = "p-" + "".join(secrets.choice(_ID_CHARS) for _ in range(12))
        parameters = templates.stack_parameters(chosen, name, project_id, self.ctx.region)
        arn = self.arn("project", name)
        now = utc_now()
        description = {"ProjectArn": arn, "ProjectName": name, "ProjectId": project_id, "ProjectStatus": "Pending",
                       "CreationTime": now, "LastModifiedTime": now}
        if params.get("ProjectDescription"):
            description["ProjectDescription"] = params["ProjectDescription"]
        if chosen.provider == "ServiceCatalog":
            description["ServiceCatalogProvisioningDetails"] = copy.deepcopy(params["ServiceCatalogProvisioningDetails"])
            description["ServiceCatalogProvisionedProductDetails"] = {
                "ProvisionedProductId": "pp-" + "".join(secrets.choice(_ID_CHARS) for _ in range(13)),
                "ProvisionedProductStatusMessage": ""}
        else:
            provider = copy.deepcopy(params["TemplateProviders"][0]["CfnTemplateProvider"])
            provider["StackDetail"] = {}
            description["TemplateProviderDetails"] = [{"CfnTemplateProviderDetail": provider}]
        with self.lock:
            if name in self.projects:
                raise ValidationException(f"Project {name} already exists ({self.projects[name].description['ProjectArn']}); "
                                          f"project names must be unique within an AWS account and region.")
            self.projects[name] = Project(description, chosen.text, parameters, None, "create")
        self._save(name)
        self.tags.tag(arn, params.get("Tags"))
        self.workers.launch(ProjectWorker(self, name))
        return {"ProjectArn": arn, "ProjectId": project_id}

    def describe_project(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(params["ProjectName"]).description)

    def list_projects(self, params: dict) -> dict:
        with self.lock:
            records = [copy.deepcopy(p.description) for p in self.projects.values()]
        return list_page(records, params, "ListProjects", name_key="ProjectName", result_key="ProjectSummaryList",
                         fields=_SUMMARY, status_key="ProjectStatus")

    def update_project(self, params: dict) -> dict:
        name = params["ProjectName"]
        with self.lock:
            project = self._get(name)
            if project.status in BUSY:
                raise ValidationException(f"Project {name} is {project.status}; update it once that has finished.")
            if params.get("ProjectDescription") is not None:
                project.description["ProjectDescription"] = params["ProjectDescription"]
            changes = {}
            for update in params.get("TemplateProvidersToUpdate") or []:
                changes.update({p["Key"]: p.get("Value", "") for p in
                                update.get("CfnTemplateProvider", {}).get("Parameters") or []})
            catalog = params.get("ServiceCatalogProvisioningUpdateDetails") or {}
            changes.update({p["Key"]: p.get("Value", "") for p in catalog.get("ProvisioningParameters") or []})
            unknown = sorted(set(changes) - templates.declared_parameters(project.template_text))
            if unknown:
                raise ValidationException(f"Parameters: {unknown} do not exist in the template")
            arn = project.description["ProjectArn"]
            if changes:
                project.parameters.update(changes)
                project.operation = "update"
                self._move(project, "UpdateInProgress")
            else:
                project.description["LastModifiedTime"] = utc_now()
        self._save(name)
        self.tags.tag(arn, params.get("Tags"))
        if changes:
            self.workers.launch(ProjectWorker(self, name))
        return {"ProjectArn": arn}

    def delete_project(self, params: dict) -> dict:
        name = params["ProjectName"]
        with self.lock:
            project = self._get(name)
            if project.status in BUSY:
                raise ValidationException(f"Project {name} is {project.status}; delete it once that has finished.")
            project.operation = "delete"
            self._move(project, "DeleteInProgress")
        self._save(name)
        self.workers.launch(ProjectWorker(self, name))
        return {}
