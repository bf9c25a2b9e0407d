"""AWS errors on the wire, serialized in one place for the JSON protocols (JSON 1.1 and REST-JSON):
the body is {"__type": code, "message": ..., <extra members>}, the header x-amzn-ErrorType names the code,
as botocore reads them; and, for the gateway and the HTTP handler, the request id every answer carries and
an error in whichever protocol (JSON, CBOR, XML) a request that no service answered spoke."""

from __future__ import annotations

import json
import re
import uuid
from xml.sax.saxutils import escape

from labcloud.core.errors import AWSError
from labcloud.protocols import cbor

JSON_11 = "application/x-amz-json-1.1"


def error_headers(err: AWSError) -> dict:
    return {"Content-Type": JSON_11, "x-amzn-ErrorType": err.code}


def error_body(err: AWSError) -> bytes:
    body = {"__type": err.code, "message": clipped(err.message)}
    body.update(err.extra_fields())
    return json.dumps(body).encode()


def error_response(err: AWSError) -> tuple[int, dict, bytes]:
    """(status, headers, body) of an error answer."""
    return err.status, error_headers(err), error_body(err)


# --- request ids, and errors in whatever protocol a request spoke -----------------------------------

_CBOR_PATH = re.compile(r"/service/[^/]+/operation/[^/]*$")  # Smithy RPC v2's operation paths
REQUEST_ID = "labcloud.request_id"  # the environ key of a request's id (x-amzn-RequestId)
_MAX_MESSAGE_CHARS = 16384  # an error's message is cut past this: an answer never echoes a huge request


def request_id(environ: dict) -> str:
    """The id of the request `environ` describes, made on first use: every answer carries it as
    x-amzn-RequestId, and the log names it beside a fault."""
    rid = environ.get(REQUEST_ID)
    if rid is None:
        rid = environ[REQUEST_ID] = str(uuid.uuid4())
    return rid


def clipped(message: str) -> str:
    if len(message) <= _MAX_MESSAGE_CHARS:
        return message
    return f"{message[:_MAX_MESSAGE_CHARS]}... (cut: {len(message)} characters)"


def protocol_of(environ: dict) -> str:
    """How a request that reached no protocol class expects its error: "cbor" (Smithy RPC v2), "json"
    (a JSON target, a JSON body, a REST-JSON route) or "xml" (S3, and the query services IAM and STS)."""
    if "HTTP_SMITHY_PROTOCOL" in environ or _CBOR_PATH.search(environ.get("PATH_INFO", "")):
        return "cbor"
    if ("HTTP_X_AMZ_TARGET" in environ or "json" in environ.get("CONTENT_TYPE", "")
            or environ.get("PATH_INFO", "").startswith("/endpoints/")):
        return "json"
    return "xml"


def any_protocol_error(environ: dict, err: AWSError) -> tuple[int, dict, bytes]:
    """(status, headers, body) of `err` as botocore parses it for the request's protocol, with its id."""
    rid = request_id(environ)
    message = clipped(err.message)
    headers = {"x-amzn-RequestId": rid, "x-amzn-ErrorType": err.code}
    kind = protocol_of(environ)
    if kind == "cbor":
        body = cbor.encode({"__type": err.code, "message": message}, omit_none=True)
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
    elif kind == "json":
        body = json.dumps({"__type": err.code, "message": message, **err.extra_fields()}).encode()
        headers["Content-Type"] = JSON_11
    else:
        body = (f"<ErrorResponse><Error><Type>{'Sender' if err.status < 500 else 'Receiver'}</Type>"
                f"<Code>{escape(err.code)}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()
        headers.update({"Content-Type": "application/xml", "x-amz-request-id": rid})
    headers.update(getattr(err, "headers", {}))  # e.g. the WWW-Authenticate that git needs with a 401
    return err.status, headers, body
