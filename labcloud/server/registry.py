"""The services of one server, built from their definitions, and the routing of a request to one of them.

A request goes to the service whose JSON target prefix it names (X-Amz-Target), else to the first whose
REST paths match it, else to the fallback service (the one that serves the rest of AWS).
"""

from __future__ import annotations

import importlib
import re

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
        """The service a request goes to, with the REST path match (None for JSON targets and the fallback)."""
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            service = self._by_target.get(target.partition(".")[0])
            if service is not None:
                return service, None
        if self._rest:
            method, path, scope = environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), signed_for(environ)
            for service in self._rest:
                match = service.definition.routes.rest_match(method, path, scope)
                if match:
                    return service, match
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
