"""AWS errors on the wire, serialized in one place for the JSON protocols (JSON 1.1 and REST-JSON):
the body is {"__type": code, "message": ..., <extra members>}, the header x-amzn-ErrorType names the code,
as botocore reads them."""

from __future__ import annotations

import json

from labcloud.core.errors import AWSError

JSON_11 = "application/x-amz-json-1.1"


def error_headers(err: AWSError) -> dict:
    return {"Content-Type": JSON_11, "x-amzn-ErrorType": err.code}


def error_body(err: AWSError) -> bytes:
    body = {"__type": err.code, "message": err.message}
    body.update(err.extra_fields())
    return json.dumps(body).encode()


def error_response(err: AWSError) -> tuple[int, dict, bytes]:
    """(status, headers, body) of an error answer."""
    return err.status, error_headers(err), error_body(err)
