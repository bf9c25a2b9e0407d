"""Smithy RPC v2 CBOR, the protocol botocore now speaks to Service Catalog (and the services to come).

A request is `POST {prefix?}/service/<ServiceName>/operation/<Operation>` with `smithy-protocol:
rpc-v2-cbor` and a CBOR map as its body (protocols.cbor); the answer is a CBOR map with the same header,
HTTP 200, or for an error the error's status and a map {"__type": "<namespace>#<Code>", "message": ...}
(botocore keeps what follows the '#'). A request that also carries X-Amz-Target is malformed: Smithy says
a server must refuse it.

The same models list AWS JSON 1.1 as their second protocol, which older clients (an AWS CLI v2 whose
bundled botocore predates the switch) still speak, so `RpcV2CborService` is a `JsonService` that also
answers CBOR: one operation table, the same validation against botocore's model, the same AWSError
classes. Operations see the parameters as JSON 1.1 gives them (timestamps as epoch seconds) whichever
protocol carried them; a blob arrives as bytes from CBOR and as base64 text from JSON (validation takes
both).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from labcloud.core.errors import AWSError, InternalFailure, SerializationException
from labcloud.platform.service import CONTROL_PLANE_MAX_BYTES
from labcloud.protocols import cbor
from labcloud.protocols.aws_json import JsonService
from labcloud.protocols.errors import request_id as request_id_of
from labcloud.protocols.rest_json import ROUTE_MATCH

__all__ = ["CBOR", "PROTOCOL", "RpcV2CborService", "operation_path", "parse_params", "error_response"]

CBOR = "application/cbor"
PROTOCOL = "rpc-v2-cbor"
_OPERATION_PATH = re.compile(r"/service/[^/]+/operation/[^/]+$")

log = logging.getLogger(__name__)


def operation_path(service_name: str, namespace: str) -> str:
    """The path regex of a service's operations, for its Routes: any prefix, the service's name alone or as
    an absolute shape ID with '.' for '#' (Smithy asks servers to take both), the operation's bare name."""
    name = rf"(?:{re.escape(namespace)}\.)?{re.escape(service_name)}"
    return rf"^(?:/[^/]+)*/service/{name}/operation/(?P<operation>[A-Za-z][A-Za-z0-9]*)$"


def parse_params(body: bytes) -> dict:
    """The request's input structure: a CBOR map (an empty body is an empty input)."""
    if not body:
        return {}
    try:
        params = cbor.decode(body)
    except cbor.CBORDecodeError as err:
        raise SerializationException(f"The request body is not valid CBOR: {err}.") from None
    if not isinstance(params, dict):
        raise SerializationException(f"The request body must be a CBOR map, not a {type(params).__name__}.")
    return params


def as_json_input(value):
    """Timestamps as JSON 1.1 carries them (epoch seconds): what validation and the operations expect."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: as_json_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json_input(v) for v in value]
    return value


def _headers(request_id: str) -> dict:
    return {"smithy-protocol": PROTOCOL, "Content-Type": CBOR, "x-amzn-RequestId": request_id}


def error_response(err: AWSError, namespace: str, request_id: str) -> tuple[int, dict, bytes]:
    """(status, headers, body) of an error answer: __type is the error's absolute shape ID."""
    body = {"__type": f"{namespace}#{err.code}", "message": err.message, **err.extra_fields()}
    return err.status, _headers(request_id), cbor.encode(body, omit_none=True)


class RpcV2CborService(JsonService):
    """A service spoken to in RPC v2 CBOR (and JSON 1.1). Subclasses set `botocore_name` and
    `smithy_namespace` (e.g. "com.amazonaws.servicecatalog") and build `self.operations`; their Routes
    name the JSON target prefix and `operation_path(...)` (the model's targetPrefix is the service name)."""

    smithy_namespace: str = ""

    def max_request_bytes(self, environ) -> int | None:
        return CONTROL_PLANE_MAX_BYTES  # CBOR requests come by their path: bounded as JSON ones are

    def dispatch_cbor(self, operation: str, body: bytes, request_id: str | None = None) -> tuple[int, dict, bytes]:
        request_id = request_id or str(uuid.uuid4())
        try:
            result = self.invoke(operation, as_json_input(parse_params(body)))
            return 200, _headers(request_id), cbor.encode(result, omit_none=True)
        except AWSError as err:
            return error_response(err, self.smithy_namespace, request_id)
        except Exception:  # noqa: BLE001 - a CBOR client cannot read the server's plain-text 500
            log.exception("%s %s failed", self.name, operation)
            return error_response(InternalFailure(
                f"labcloud's {self.name} failed on {operation}; its log has the error (request {request_id})."),
                self.smithy_namespace, request_id)

    def __call__(self, environ, start_response):
        match = environ.get(ROUTE_MATCH)
        targeted = "HTTP_X_AMZ_TARGET" in environ or "HTTP_X_AMZN_TARGET" in environ
        cbor_request = (match is not None or "HTTP_SMITHY_PROTOCOL" in environ
                        or _OPERATION_PATH.search(environ.get("PATH_INFO", "")) is not None)
        if not cbor_request:
            return super().__call__(environ, start_response)  # AWS JSON 1.1
        request = Request(environ)
        if targeted or match is None:  # the registry routes a targeted request by its target, not its path
            status, headers, body = error_response(SerializationException(
                "An RPC v2 CBOR request must not carry an X-Amz-Target header: send either JSON 1.1 with "
                "X-Amz-Target or CBOR to /service/<Service>/operation/<Operation>."),
                self.smithy_namespace, request_id_of(environ))
        else:
            status, headers, body = self.dispatch_cbor(match["operation"], request.get_data(),
                                                       request_id_of(environ))
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       [*headers.items(), ("Content-Length", str(len(body)))])
        return [body]
