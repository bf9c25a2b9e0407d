"""The one HTTP endpoint: each request goes to the service the registry routes it to, or to an admin route.

    client ──► Gateway ──► /_labcloud/*, /_localstack/health       → admin.py
                      └──► registry.route(request)                → a service (labcloud/services/*)

A service that is still loading its saved state answers 503 (clients retry it): until then an answer
could deny a job that exists. The gateway names no service.

Every request has an id (protocols.errors.request_id; the HTTP handler sends it as x-amzn-RequestId) and
every answer that no service gives is AWS's error in the request's protocol (JSON, CBOR or XML):

    a target no service serves         UnknownOperationException (400, from the registry)
    a body longer than the service reads   the service's request_too_large() (413), refused unread
    a request not signed with this labcloud's credentials   AWS's authentication errors (authentication.py)
                                       (a service that authenticates itself, Kubernetes' API, answers its own)
    an AWSError a service lets out     that error
    NotImplementedError                NotImplemented (501: moto or labcloud lacks the operation)
    any other exception                InternalFailure (500), logged with the request id
"""

from __future__ import annotations

import logging
import sys

from werkzeug.http import HTTP_STATUS_CODES

from labcloud.core.errors import AWSError, InternalFailure, NotImplementedFault, ServiceUnavailable
from labcloud.protocols.errors import REQUEST_ID, any_protocol_error, request_id
from labcloud.protocols.rest_json import ROUTE_MATCH, SIGNED_FOR
from labcloud.server import admin
from labcloud.server.registry import signed_for

log = logging.getLogger("labcloud")

BODY_REFUSED = "labcloud.body_refused"  # set when the gateway answered without reading the body


class BodyTooLarge(Exception):
    """A body without a Content-Length (chunked) went past the bound while a service read it."""


class CappedInput:
    """wsgi.input of a chunked request: reads past `limit` bytes raise BodyTooLarge."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.seen = stream, limit, 0

    def _count(self, data: bytes) -> bytes:
        self.seen += len(data)
        if self.seen > self.limit:
            raise BodyTooLarge(self.seen)
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:  # read it all, but never more than the bound and one byte
            return self._count(self.stream.read(self.limit - self.seen + 1))
        return self._count(self.stream.read(min(size, self.limit - self.seen + 1)))

    def readline(self, size: int = -1) -> bytes:
        room = self.limit - self.seen + 1
        return self._count(self.stream.readline(room if size is None or size < 0 else min(size, room)))

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class Gateway:
    def __init__(self, ctx, registry):
        self.ctx = ctx
        self.registry = registry

    def __call__(self, environ, start_response):
        request_id(environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith(admin.PREFIXES):
            return admin.respond(self.ctx, self.registry, path, environ)(environ, start_response)
        try:
            service, match = self.registry.route(environ)
        except AWSError as err:
            return _answer(environ, start_response, err)
        if service is None:
            err = AWSError(f"Nothing at labcloud serves {environ.get('REQUEST_METHOD')} {path[:200]}.")
            err.code, err.status = "UnknownOperationException", 404
            return _answer(environ, start_response, err)
        if service.definition.gated and not service.ready.is_set():
            return _answer(environ, start_response,
                           ServiceUnavailable("labcloud is loading its saved state; retry in a moment."))
        environ[ROUTE_MATCH] = match
        environ[SIGNED_FOR] = signed_for(environ)
        refusal = self._size_refusal(service, environ)
        if refusal is not None:
            environ[BODY_REFUSED] = True
            return _answer(environ, start_response, refusal)
        try:
            # Inside the try: hashing a chunked body may read past the service's bound (BodyTooLarge below).
            refusal = None if service.definition.authenticates_itself else \
                self.ctx.authenticator.refusal(environ, service.name)
            if refusal is not None:
                return _answer(environ, start_response, refusal)
            return service(environ, start_response)
        except AWSError as err:
            return _answer(environ, start_response, err, sys.exc_info())
        except BodyTooLarge as err:
            environ[BODY_REFUSED] = True
            limit = service.max_request_bytes(environ)
            return _answer(environ, start_response, service.request_too_large(err.args[0], limit), sys.exc_info())
        except NotImplementedError as err:
            log.warning("request %s: %s does not implement %s %s: %s", environ[REQUEST_ID], service.name,
                        environ.get("REQUEST_METHOD"), path[:200], err)
            return _answer(environ, start_response, NotImplementedFault(
                f"labcloud's {service.name} does not implement this request{f': {err}' if str(err) else ''}."),
                sys.exc_info())
        except Exception:  # noqa: BLE001 - a fault of labcloud's: AWS's 500, its traceback in the log
            rid = environ[REQUEST_ID]
            log.exception("request %s: %s failed on %s %s", rid, service.name, environ.get("REQUEST_METHOD"),
                          path[:200])
            return _answer(environ, start_response, InternalFailure(
                f"labcloud's {service.name} failed on this request; its log has the error (request {rid})."),
                sys.exc_info())

    @staticmethod
    def _size_refusal(service, environ) -> AWSError | None:
        limit = service.max_request_bytes(environ)
        if limit is None:
            return None
        length = environ.get("CONTENT_LENGTH")
        if length:  # (the HTTP handler has checked it is one well-formed number)
            size = int(length)
            return service.request_too_large(size, limit) if size > limit else None
        if environ.get("wsgi.input_terminated"):  # chunked: counted while the service reads it
            environ["wsgi.input"] = CappedInput(environ["wsgi.input"], limit)
        return None


def _answer(environ, start_response, err: AWSError, exc_info=None):
    status, headers, body = any_protocol_error(environ, err)
    if environ.get(BODY_REFUSED):
        headers["Connection"] = "close"  # the rest of the body is not read as a next request
    start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                   [*headers.items(), ("Content-Length", str(len(body)))], exc_info)
    return [body]
