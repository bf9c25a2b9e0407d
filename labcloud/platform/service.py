"""What a labcloud service is: how it declares itself, and what the server asks of it while it runs.

A service lives in a folder of its own under labcloud/services/ and declares itself in that folder's
`__init__.py` with a `ServiceDefinition`; labcloud/services/__init__.py lists the definitions, one line
each. The gateway, the server, health and `labcloud status` know services only through this interface.

Life of a service in a server (each step has a do-nothing default):

    prepare()    before the endpoint serves: state that needs no request (moto replays its journal)
    start()      the endpoint serves: load records, resume work (they may call other services)
    ready        set once start() has returned; a `gated` service answers 503 until then
    shutdown()   stop its work while the endpoint still answers (last checkpoints and logs go out)
    close()      the endpoint has stopped: release files
    status()     what runs now, as JSON-able lines for `labcloud status`
    __call__     a WSGI application: one request the gateway routed to it
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Routes:
    """How requests reach a service."""

    json_target_prefix: str | None = None  # AWS JSON 1.1: the X-Amz-Target header is "<prefix>.<Operation>"
    rest_paths: tuple[tuple[str, str], ...] = ()  # REST-JSON: (method, path regex), e.g. ("POST", "^/x/(?P<n>.+)$")
    signing_names: tuple[str, ...] = ()  # SigV4 scopes a REST request may be signed for (unsigned ones too)
    fallback: bool = False  # takes every request that no other service claims
    compiled: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "compiled", tuple((m, re.compile(p)) for m, p in self.rest_paths))

    def rest_match(self, method: str, path: str, signed_for: str | None) -> re.Match | None:
        if signed_for is not None and self.signing_names and signed_for not in self.signing_names:
            return None
        for wanted, pattern in self.compiled:
            if wanted == method:
                match = pattern.match(path)
                if match:
                    return match
        return None


@dataclass(frozen=True)
class ServiceDefinition:
    name: str  # e.g. "sagemaker"
    routes: Routes
    factory: Callable  # factory(ctx, definition) -> Service
    store_root: str | None = None  # the folder in the state directory that holds its records
    health_names: tuple[str, ...] = ()  # what /_localstack/health lists as running
    gated: bool = True  # answer 503 until start() has loaded its state


class Service:
    def __init__(self, ctx, definition: ServiceDefinition):
        self.ctx = ctx
        self.definition = definition
        self.ready = threading.Event()
        self.store = ctx.store_for(definition.store_root)

    @property
    def name(self) -> str:
        return self.definition.name

    def prepare(self) -> None:
        pass

    def start(self) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def close(self) -> None:
        pass

    def status(self) -> dict:
        return {}

    def __call__(self, environ, start_response):
        raise NotImplementedError
