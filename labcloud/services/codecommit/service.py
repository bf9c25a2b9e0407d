"""labcloud's CodeCommit: the JSON API (operations.py) and the git endpoint (git_http.py) of one family of
repositories (repositories/), each a bare git repository that the ordinary `git` clones and pushes.

    X-Amz-Target: CodeCommit_20150413.<Operation>     -> JsonService: precheck, validation, the table
    GET  /v1/repos/<name>/info/refs?service=git-...    -> GitHttp -> git http-backend
    POST /v1/repos/<name>/git-upload-pack | git-receive-pack

Other services reach the repositories as ctx.services.service("codecommit").repositories (clone_url,
seed, archive, head: see repositories/repositories.py).
"""

from __future__ import annotations

from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.aws_json import JsonService
from labcloud.protocols.rest_json import ROUTE_MATCH
from labcloud.services.codecommit.git_http import ROUTES, GitHttp
from labcloud.services.codecommit.operations import OPERATIONS
from labcloud.services.codecommit.repositories.repositories import Repositories, git_errors
from labcloud.services.codecommit.requests import precheck


class CodeCommitService(JsonService):
    botocore_name = "codecommit"

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.repositories = Repositories(ctx, self.store)
        self.git_http = GitHttp(self.repositories, self._fallback)
        self.operations = {operation: getattr(getattr(self, family), method)
                           for operation, (family, method) in
                           ((op, target.split(".")) for op, target in OPERATIONS.items())}
        self.check_operations()

    def start(self) -> None:
        self.repositories.start()

    def status(self) -> dict:
        return self.repositories.status()

    def invoke(self, operation: str, params: dict) -> dict:
        if operation in self.operations:  # (an unknown one gets the protocol's own answer)
            precheck(operation, params)
        with git_errors():
            return super().invoke(operation, params)

    def __call__(self, environ, start_response):
        if environ.get(ROUTE_MATCH) is not None:  # one of ROUTES: git, most likely
            return self.git_http(environ, start_response)
        return super().__call__(environ, start_response)

    def _fallback(self, environ, start_response):
        for service in self.ctx.services.services:
            if service.definition.routes.fallback:
                return service(environ, start_response)
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]


# Git's requests are unsigned; an S3 request signed for "s3" never matches the git routes.
SERVICE = ServiceDefinition(name="codecommit",
                            routes=Routes(json_target_prefix="CodeCommit_20150413", rest_paths=ROUTES,
                                          signing_names=("codecommit",)),
                            factory=CodeCommitService, store_root="codecommit", health_names=("codecommit",))
