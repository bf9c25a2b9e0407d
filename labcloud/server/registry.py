"""The services of one server, built from their definitions, and the routing of a request to one of them.

A request goes to the service whose JSON target prefix it names (X-Amz-Target), else to the first whose
REST paths match it, else to the fallback service (the one that serves the rest of AWS).

Targets are matched as AWS matches them, exactly: a prefix no service of labcloud's has (`sagemaker.X`,
`Foo.Bar`) goes to the fallback only if it says it serves that target for the request's signature (an
operation of the AWS service the request was signed for), else it is UnknownOperationException, raised
here. A REST request that matches no operation but one of a service's owned paths, or an operation's
route signed for another service where the service refuses those, goes to that service without a match,
to be answered with its own error.
"""

from __future__ import annotations

import importlib
import re

from labcloud.core.errors import UnknownOperationException
from labcloud.platform.service import Service, ServiceDefinition

_SCOPE_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/aws4_request")


def load_definition(spec: str) -> ServiceDefinition:
    """'package.module:NAME' -> the ServiceDefinition it names."""
    module_name, _, attribute = spec.partition(":")
    definition = getattr(importlib.import_module(module_name), attribute or "SERVICE")
    if not isinstance(definition, ServiceDefinition):
        raise TypeError(f"{spec} is not a ServiceDefinition")
    return definition


def signed_for(environ: dict) -> str | None:
    """The service a SigV4 request was signed for (its credential scope), or None when unsigned."""
    match = _SCOPE_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("service") if match else None


class Registry:
    def __init__(self, ctx, definitions: list[ServiceDefinition]):
        names = [d.name for d in definitions]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique: {names}")
        fallbacks = [d for d in definitions if d.routes.fallback]
        if len(fallbacks) > 1:
            raise ValueError(f"at most one fallback service: {[d.name for d in fallbacks]}")
        self.services: list[Service] = [d.factory(ctx, d) for d in definitions]
        self._by_target = {s.definition.routes.json_target_prefix: s for s in self.services
                           if s.definition.routes.json_target_prefix}
        self._rest = [s for s in self.services if s.definition.routes.rest_paths]
        self._fallback = next((s for s in self.services if s.definition.routes.fallback), None)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service named {name}")

    def route(self, environ: dict) -> tuple[Service | None, re.Match | None]:
        """The service a request goes to, with the REST path match (None for JSON targets and the fallback);
        UnknownOperationException for a target that no service serves."""
        target = environ.get("HTTP_X_AMZ_TARGET")
        scope = signed_for(environ)
        if target:
            prefix, _, operation = target.partition(".")
            service = self._by_target.get(prefix)
            if service is not None:
                return service, None
            if self._fallback is None or not self._fallback.serves_target(prefix, operation, scope):
                raise UnknownOperationException(
                    f"No AWS service labcloud serves has the operation X-Amz-Target {target[:200]!r}"
                    + (f" (the request is signed for {scope[:64]!r})." if scope else " (the request is unsigned)."))
            return self._fallback, None
        if self._rest:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            for service in self._rest:
                routes = service.definition.routes
                match = routes.rest_match(method, path, scope)
                if match:
                    return service, match
                if routes.owns(path, scope) or (routes.refuse_foreign_signatures and routes.rest_match(
                        method, path, scope, any_signature=True)):
                    return service, None
        return self._fallback, None

    @property
    def ready(self) -> bool:
        return all(s.ready.is_set() for s in self.services)

    def health_names(self) -> list[str]:
        return [name for s in self.services for name in s.definition.health_names]

    def status(self) -> dict:
        report = {}
        for service in self.services:
            report.update(service.status())
        return report
