"""The one HTTP endpoint: each request goes to the service the registry routes it to, or to an admin route.

    client ──► Gateway ──► /_labcloud/*, /_localstack/health       → admin.py
                      └──► registry.route(request)                → a service (labcloud/services/*)

A service that is still loading its saved state answers 503 (clients retry it): until then an answer
could deny a job that exists. The gateway names no service.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from labcloud.core.errors import ServiceUnavailable
from labcloud.protocols.errors import error_response
from labcloud.protocols.rest_json import ROUTE_MATCH
from labcloud.server import admin

_LOADING = error_response(ServiceUnavailable("labcloud is loading its saved state; retry in a moment."))


class Gateway:
    def __init__(self, ctx, registry):
        self.ctx = ctx
        self.registry = registry

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(admin.PREFIXES):
            return admin.respond(self.ctx, self.registry, path)(environ, start_response)
        service, match = self.registry.route(environ)
        if service is None:
            return Response(b"", status=404)(environ, start_response)
        if service.definition.gated and not service.ready.is_set():
            status, headers, body = _LOADING
            return Response(body, status=status, headers=headers)(environ, start_response)
        if match is not None:
            environ[ROUTE_MATCH] = match
        return service(environ, start_response)
