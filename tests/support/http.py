"""Reading raw HTTP/1.1 from a socket, for the tests that speak it byte by byte."""

from __future__ import annotations


def read_http_response(stream) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response from a socket file: status, lower-cased headers, body (sized or chunked)."""
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    if "content-length" in headers:
        return status, headers, stream.read(int(headers["content-length"]))
    assert headers.get("transfer-encoding") == "chunked", headers
    body = b""
    while size := int(stream.readline().strip(), 16):
        body += stream.read(size)
        stream.readline()
    stream.readline()
    return status, headers, body
