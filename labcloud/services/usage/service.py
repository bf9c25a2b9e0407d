"""labcloud's own usage API: what this lab cloud's SageMaker jobs and endpoints used, for `labcloud bill`
(labcloud/billing). Not an AWS API (AWS meters usage in its billing systems, which no SDK call of a lab
reaches); it speaks AWS JSON 1.1 so that it routes like the others, by its target prefix:

    POST /  X-Amz-Target: Labcloud_Usage.ListUsage  {}  ->  {"Now": "<ISO 8601>", "Usage": [<row>, ...]}

A row is services/sagemaker/usage.py's UsageRow as JSON. The records themselves live in the SageMaker
service (its jobs' descriptions and its endpoints' usage records); this service only answers for them.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from labcloud.core.clock import utc_now
from labcloud.core.errors import AWSError, UnknownOperationException
from labcloud.platform.service import Routes, Service, ServiceDefinition
from labcloud.protocols.errors import JSON_11, error_response
from labcloud.protocols.aws_json import parse_params

TARGET_PREFIX = "Labcloud_Usage"


class UsageService(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.sagemaker = None  # found when the server starts
        self.operations = {"ListUsage": self.list_usage}

    def start(self) -> None:
        self.sagemaker = self.ctx.services.service("sagemaker")

    def list_usage(self, params: dict) -> dict:
        now = utc_now()
        return {"Now": now.isoformat(), "Usage": [row.to_json() for row in self.sagemaker.usage(now)]}

    def __call__(self, environ, start_response):
        operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[2]
        try:
            handler = self.operations.get(operation)
            if handler is None:
                raise UnknownOperationException(f"labcloud's usage API has no operation {operation!r}; "
                                                f"it has {', '.join(sorted(self.operations))}.")
            status, headers = 200, {"Content-Type": JSON_11}
            body = json.dumps(handler(parse_params(Request(environ).get_data()))).encode()
        except AWSError as err:
            status, headers, body = error_response(err)
        return Response(body, status=status, headers=headers)(environ, start_response)


SERVICE = ServiceDefinition(name="usage", routes=Routes(json_target_prefix=TARGET_PREFIX), factory=UsageService)
