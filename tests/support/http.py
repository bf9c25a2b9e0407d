"""Reading raw HTTP/1.1 from a socket, for the tests that speak it byte by byte: with labcloud's own parser,
labcloud.protocols.http1, the one the platform reads every model server's answer with."""

from __future__ import annotations

from labcloud.protocols.http1 import read_response_body, read_response_head


def read_http_response(stream) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response from a socket file: status, lower-cased headers, body (sized or chunked)."""
    status, _, headers = read_response_head(stream)
    # Every answer under test says where it ends: one read to the close would hide a missing length.
    assert "content-length" in headers or headers.get("transfer-encoding") == "chunked", headers
    body, _ = read_response_body(stream, headers)
    return status, headers, body
