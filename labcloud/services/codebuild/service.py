"""labcloud's CodeBuild: build projects and the builds that run them, wired explicitly, behind the
operations table.

    projects  Projects  (projects/)  the projects' records and their checks
    builds    Builds    (builds/)    builds that run buildspec.yml as local processes (BuildWorker each)
"""

from __future__ import annotations

from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.aws_json import JsonService
from labcloud.services.codebuild.builds.builds import Builds
from labcloud.services.codebuild.operations import OPERATIONS
from labcloud.services.codebuild.projects.projects import Projects


class CodeBuildService(JsonService):
    botocore_name = "codebuild"

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.projects = Projects(ctx, self.store)
        self.builds = Builds(ctx, self.store, self.projects)
        self.operations = {operation: getattr(getattr(self, family), method)
                           for operation, (family, method) in
                           ((op, target.split(".")) for op, target in OPERATIONS.items())}
        self.check_operations()

    def start(self) -> None:
        self.projects.start()
        self.builds.start()

    def shutdown(self) -> None:
        self.builds.shutdown()

    def status(self) -> dict:
        return {**self.projects.status(), **self.builds.status()}


SERVICE = ServiceDefinition(name="codebuild", routes=Routes(json_target_prefix="CodeBuild_20161006"),
                            factory=CodeBuildService, store_root="codebuild", health_names=("codebuild",))
