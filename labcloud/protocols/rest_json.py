"""REST-JSON (sagemaker-runtime's InvokeEndpoint, and the REST services to come): the operation is the
method and the path. A service of this protocol lists its routes in its ServiceDefinition (method, path
regex) and maps each to a handler in `self.routes`; the gateway hands over the path match.

Handlers return (status, headers, body) or raise an AWS error, serialized here. Answers go straight
through WSGI, without a Response object: InvokeEndpoint is the hot path of every prediction.
"""

from __future__ import annotations

import uuid
from typing import Callable

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from labcloud.core.errors import AWSError
from labcloud.platform.service import Service
from labcloud.protocols.errors import error_response

ROUTE_MATCH = "labcloud.route_match"  # the environ key the gateway puts the path match under

Handler = Callable[[Request, dict], tuple[int, dict, bytes]]


class RestJsonService(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.routes: dict[str, Handler] = {}  # the route's path regex -> its handler

    def __call__(self, environ, start_response):
        match = environ[ROUTE_MATCH]
        request = Request(environ)
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = self.routes[match.re.pattern](request, match.groupdict())
        except AWSError as err:
            status, headers, body = error_response(err)
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       [*headers.items(), ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))])
        return [body]
