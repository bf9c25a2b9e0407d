"""labcloud's endpoint keeps HTTP/1.1 connections open between requests, and frames every answer so that
the next request on the same connection is read from its first byte."""

from __future__ import annotations

import json
import socket

import boto3
import pytest

from tests.support.http import read_http_response


def test_one_connection_serves_many_requests_whatever_the_app_reads(labcloud_server):
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_http_response(stream)
        assert status == 200 and json.loads(body)["ready"] and "connection" not in headers
        # Bodies the app never reads (Content-Length, then chunked) are skipped, not taken for the next request.
        sock.sendall(b"POST /_labcloud/health HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
        assert read_http_response(stream)[0] == 200
        sock.sendall(b"POST /_labcloud/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n")
        assert read_http_response(stream)[0] == 200
        sock.sendall(b"GET /_labcloud/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = read_http_response(stream)
        assert status == 404 and b"No such labcloud route" in body
        sock.sendall(b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, _ = read_http_response(stream)
        assert status == 200 and headers["connection"] == "close" and stream.read() == b""


@pytest.mark.parametrize("framing", [
    b"Content-Length: -5\r\n",  # once clamped to 0: the body was then read as the next request
    b"Content-Length: abc\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
])
def test_ambiguous_body_framing_is_a_400_that_closes_the_connection(labcloud_server, framing):
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        # Were the body taken for a request, a second answer (200) would follow the first.
        sock.sendall(b"POST /_labcloud/health HTTP/1.1\r\nHost: x\r\n" + framing +
                     b"\r\nGET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_http_response(stream)
        assert status == 400 and headers["connection"] == "close" and body
        assert stream.read() == b""


def test_a_repeated_equal_content_length_is_one_length(labcloud_server):
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"POST /_labcloud/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
                     b"\r\nhelloGET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_http_response(stream)[0] == 200
        status, headers, _ = read_http_response(stream)
        assert status == 200 and "connection" not in headers


def test_an_http_1_0_client_gets_one_answer_and_the_close(labcloud_server):
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=10) as sock:
        sock.sendall(b"GET /_labcloud/health HTTP/1.0\r\n\r\n")
        stream = sock.makefile("rb")
        status, headers, body = read_http_response(stream)
        assert status == 200 and json.loads(body)["ready"]
        assert stream.read() == b""


def test_sdk_clients_reuse_their_connection(labcloud_server, monkeypatch):
    import urllib3.connection

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="keepalive-tests")
    opened = []
    new_conn = urllib3.connection.HTTPConnection._new_conn
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn",
                        lambda self: opened.append(1) or new_conn(self))
    s3.put_object(Bucket="keepalive-tests", Key="a", Body=b"x" * 100_000)
    for key in ("b", "c", "d"):
        s3.put_object(Bucket="keepalive-tests", Key=key, Body=b"y" * 1000)
        assert s3.get_object(Bucket="keepalive-tests", Key=key)["Body"].read() == b"y" * 1000
    s3.head_object(Bucket="keepalive-tests", Key="a")
    assert s3.get_object(Bucket="keepalive-tests", Key="a")["ContentLength"] == 100_000
    assert len(opened) <= 1  # nine calls, one TCP connection at most (none if the pool had one open)
