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

What the gateway asks before it hands a request over (defaults: no bound, no foreign targets):

    max_request_bytes(environ)     the largest body it reads of this request (None: no bound); the gateway
                                   refuses a longer one unread, with request_too_large(size, limit)
    serves_target(prefix, op, scope)  the fallback: whether it serves an X-Amz-Target no service claims
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable

from labcloud.core.errors import AWSError, RequestEntityTooLarge

CONTROL_PLANE_MAX_BYTES = 16 * 1024 * 1024  # the bound of a JSON or CBOR API request (a control plane)


@dataclass(frozen=True)
class Routes:
    """How requests reach a service."""

    json_target_prefix: str | None = None  # AWS JSON 1.1: the X-Amz-Target header is "<prefix>.<Operation>"
    rest_paths: tuple[tuple[str, str], ...] = ()  # REST-JSON: (method, path regex), e.g. ("POST", "^/x/(?P<n>.+)$")
    signing_names: tuple[str, ...] = ()  # SigV4 scopes a REST request may be signed for (unsigned ones too)
    fallback: bool = False  # takes every request that no other service claims
    # REST: paths the service answers whatever the method (unsigned, or signed for signing_names), with its
    # own error when no operation matches; and whether a request that matches an operation's method and
    # path but is signed for another service is refused (InvalidSignatureException) rather than passed on.
    owned_paths: tuple[str, ...] = ()
    refuse_foreign_signatures: bool = False
    compiled: tuple = field(init=False, repr=False, compare=False)
    compiled_owned: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "compiled", tuple((m, re.compile(p)) for m, p in self.rest_paths))
        object.__setattr__(self, "compiled_owned", tuple(re.compile(p) for p in self.owned_paths))

    def signed_for_another(self, signed_for: str | None) -> bool:
        return signed_for is not None and bool(self.signing_names) and signed_for not in self.signing_names

    def owns(self, path: str, signed_for: str | None) -> bool:
        """Whether a request for `path` that matches no operation is still this service's to answer."""
        return not self.signed_for_another(signed_for) and any(p.match(path) for p in self.compiled_owned)

    def rest_match(self, method: str, path: str, signed_for: str | None, *, any_signature: bool = False
                   ) -> re.Match | None:
        if not any_signature and self.signed_for_another(signed_for):
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
    # Checks who is calling itself, not with AWS's signatures (the Kubernetes API's bearer token).
    authenticates_itself: bool = False


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

    def max_request_bytes(self, environ) -> int | None:
        return None

    def request_too_large(self, size: int, limit: int) -> AWSError:
        return RequestEntityTooLarge(f"The request body is {size} bytes; labcloud's {self.name} reads at most "
                                     f"{limit} bytes of one request.")

    def serves_target(self, prefix: str, operation: str, signed_for: str | None) -> bool:
        return False

    def __call__(self, environ, start_response):
        raise NotImplementedError
