"""A WSGI request's body read whole, once, by whoever needs it first (the authenticator to hash it, the moto
service to journal it), and handed on as a plain sized body that the next reader reads again."""

from __future__ import annotations

import io

_READ = "labcloud.body"  # the environ key of a body already read


def read_whole_body(environ: dict) -> bytes:
    """The request's body. A chunked body (no Content-Length) is read to its end and its Transfer-Encoding
    dropped; either way wsgi.input becomes the body again, with its Content-Length."""
    if _READ in environ:
        return environ[_READ]
    if environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
    environ[_READ] = body
    return body


def with_body(environ: dict, body: bytes) -> dict:
    """A copy of the request with `body` in place of the one it came with."""
    return {**environ, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), _READ: body}
