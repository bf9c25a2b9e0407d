"""Bad input at the front door (issue 15): every answer is AWS's, a 400 for what the client got wrong,
never a plain-text 500; every answer has a request id; targets are routed as AWS routes them; bodies are
bounded before they are read; idle, stalled and surplus connections are let go."""

from __future__ import annotations

import json
import socket
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.http import read_http_response
from tests.support.signing import signed_headers

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def exchange(port: int, head: bytes, body: bytes = b"", timeout: float = 20) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        return read_http_response(sock.makefile("rb"))


def post(port: int, body: bytes, target: str | None = None, path: str = "/", method: str = "POST",
         signed_for: str | None = "sagemaker", content_type: str = "application/x-amz-json-1.1",
         extra: dict | None = None) -> tuple[int, dict, bytes]:
    """A request by hand, signed for `signed_for` with this user's credentials (None: unsigned)."""
    headers = {"Host": "x", "Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
    if target is not None:
        headers["X-Amz-Target"] = target
    if signed_for:
        headers = signed_headers(method, f"http://x{path}", body, headers, service=signed_for)
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), body)


def signed_head(method: str, path: str, headers: dict) -> bytes:
    """The head of a request whose body the signature leaves out (X-Amz-Content-Sha256: UNSIGNED-PAYLOAD)."""
    headers = signed_headers(method, f"http://x{path}", b"", {"Host": "x", **headers,
                             "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}, service="sagemaker")
    return "\r\n".join([f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]).encode() + b"\r\n\r\n"


def aws_error(response) -> tuple[int, str, str]:
    status, headers, body = response
    assert headers.get("x-amzn-requestid"), headers
    assert headers["content-type"] == "application/x-amz-json-1.1", (headers, body[:300])
    error = json.loads(body)
    return status, error["__type"], error["message"]


def nested_search(levels: int) -> dict:
    expression = {"Filters": [{"Name": "TrainingJobName", "Operator": "Equals", "Value": "x"}]}
    for _ in range(levels - 1):
        expression = {"SubExpressions": [expression]}
    return {"Resource": "TrainingJob", "SearchExpression": expression}


TRAINING_JOB = {"TrainingJobName": "robust", "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                "StoppingCondition": {"MaxRuntimeInSeconds": 60}}

BAD_BODIES = [  # (operation, body, AWS's code): each was a plain-text 500 before
    ("ListTrainingJobs", b'{"MaxResults": NaN}', "SerializationException"),
    ("ListTrainingJobs", b'{"MaxResults": Infinity}', "SerializationException"),
    ("ListTrainingJobs", b'{"MaxResults": -Infinity}', "SerializationException"),
    ("ListTrainingJobs", b'{"MaxResults": 1e400}', "SerializationException"),
    ("ListTrainingJobs", b'{"MaxResults": 99999999999999999999}', "SerializationException"),
    ("ListTrainingJobs", b'{"MaxResults": 7.9}', "SerializationException"),
    ("ListModels", b'{"CreationTimeAfter": 1e20}', "SerializationException"),
    ("ListModels", b'{"CreationTimeBefore": -1e15}', "SerializationException"),
    ("ListEndpoints", b"[" * 100_000, "SerializationException"),
    ("CreateModel", b'{"a":' * 100_000, "SerializationException"),
    ("Search", json.dumps(nested_search(300)).encode(), "SerializationException"),
    ("CreateTrainingJob", json.dumps(TRAINING_JOB).encode(), "ValidationException"),
    ("CreateEndpointConfig", b'{"EndpointConfigName": "c", "ProductionVariants": [null]}', "ValidationException"),
    ("CreateModel", b'{"ModelName": "m", "ExecutionRoleArn": "%s", "Containers": [{"Environment": {"A": null}}]}'
     % ROLE.encode(), "ValidationException"),
    ("ListTrainingJobs", b"\xff\xfe", "SerializationException"),
]


@pytest.mark.parametrize("operation, body, code", BAD_BODIES, ids=[f"{o}-{b[:24]!r}" for o, b, _ in BAD_BODIES])
def test_bad_bodies_are_aws_400s_with_a_message(labcloud_server, operation, body, code):
    status, got, message = aws_error(post(labcloud_server.port, body, f"SageMaker.{operation}"))
    assert (status, got) == (400, code) and message


def test_a_whole_float_page_size_is_a_page_size(labcloud_server):
    status, _, body = post(labcloud_server.port, b'{"MaxResults": 2.0}', "SageMaker.ListTrainingJobs")
    assert status == 200 and "TrainingJobSummaries" in json.loads(body)


def test_a_search_nested_as_deep_as_the_parser_reads_is_validated_without_a_fault(labcloud_server):
    # 95 levels are about 195 JSON levels, within json_codec.MAX_DEPTH; labcloud serves no Search, so having
    # passed validation it is an unknown operation.
    status, code, _ = aws_error(post(labcloud_server.port, json.dumps(nested_search(95)).encode(), "SageMaker.Search"))
    assert (status, code) == (400, "UnknownOperationException")


def test_boto3_sees_the_codes(labcloud_server):
    from botocore.config import Config

    sm = boto3.client("sagemaker", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{}])
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("target", ["sagemaker.CreateModel", "SAGEMAKER.ListModels", "Foo.Bar", "SageMaker",
                                    "SageMaker.", "SageMaker.createModel", ".ListModels", "Logs_20140328.NoSuchThing"])
def test_targets_are_matched_exactly_or_unknown(labcloud_server, target):
    body = json.dumps({"ModelName": "shadow-model", "ExecutionRoleArn": ROLE}).encode()
    for signed in (None, "sagemaker", "logs"):
        status, code, message = aws_error(post(labcloud_server.port, body, target, signed_for=signed))
        # Unsigned, a target some service claims is refused for the signature first, as AWS's front door does.
        allowed = {(400, "UnknownOperationException")} | (
            {(403, "MissingAuthenticationTokenException")} if signed is None else set())
        assert (status, code) in allowed, (target, signed, message)


def test_a_wrong_case_target_never_reaches_moto_sagemaker(labcloud_server, sm):
    body = json.dumps({"ModelName": "shadow-model", "ExecutionRoleArn": ROLE,
                       "PrimaryContainer": {"Image": "x"}}).encode()
    assert post(labcloud_server.port, body, "sagemaker.CreateModel", signed_for="sagemaker")[0] == 400
    assert "shadow-model" not in [m["ModelName"] for m in sm.list_models()["Models"]]
    journal = labcloud_server.state_dir / "moto-journal.bin"
    assert not journal.exists() or b"shadow-model" not in journal.read_bytes()


def test_moto_targets_still_work(labcloud_server):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/robustness/moto-targets")
    assert logs.describe_log_groups(logGroupNamePrefix="/robustness/")["logGroups"]


@pytest.mark.parametrize("method, path, signed, status, code", [
    ("GET", "/endpoints/x/invocations", "sagemaker", 404, "UnknownOperationException"),
    ("PUT", "/endpoints/x/invocations", None, 403, "MissingAuthenticationTokenException"),
    ("PUT", "/endpoints/x/invocations", "sagemaker", 404, "UnknownOperationException"),
    ("DELETE", "/endpoints/x", "sagemaker", 404, "UnknownOperationException"),
    ("POST", "/endpoints/x/invocations/", "sagemaker", 404, "UnknownOperationException"),
    ("POST", "/endpoints/a%2Fb/invocations", "sagemaker", 400, "ValidationError"),
    ("POST", "/endpoints//invocations", "sagemaker", 400, "ValidationError"),
    ("POST", "/endpoints/" + "n" * 64 + "/invocations", "sagemaker", 400, "ValidationError"),
    ("POST", "/endpoints/no-such-endpoint/invocations", "sagemaker", 400, "ValidationError"),
    ("POST", "/endpoints/x/invocations", "s3", 403, "InvalidSignatureException"),
])
def test_odd_invocations_get_the_runtimes_own_errors(labcloud_server, method, path, signed, status, code):
    got = aws_error(post(labcloud_server.port, b"1,2", path=path, method=method, signed_for=signed,
                         content_type="text/csv"))
    assert got[:2] == (status, code), got


def test_a_bad_runtime_header_is_a_validation_error(labcloud_server):
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=10) as sock:
        sock.sendall(signed_head("POST", "/endpoints/x/invocations", {
            "Content-Length": "1", "X-Amzn-SageMaker-Custom-Attributes": "a" * 2000}) + b"1")
        status, code, message = aws_error(read_http_response(sock.makefile("rb")))
    assert (status, code) == (400, "ValidationError") and "customAttributes" in message


def test_every_answer_has_a_request_id(labcloud_server, s3):
    s3.create_bucket(Bucket="robustness-ids")
    response = s3.put_object(Bucket="robustness-ids", Key="k", Body=b"x")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    for head in (b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /_labcloud/nothing HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"):
        status, headers, _ = exchange(labcloud_server.port, head)
        assert headers.get("x-amzn-requestid"), (head, status, headers)


def test_http_level_refusals_are_aws_errors_not_html(labcloud_server):
    status, headers, body = exchange(labcloud_server.port, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert status == 414 and b"<html" not in body.lower() and headers.get("x-amzn-requestid")
    status, headers, body = exchange(labcloud_server.port,
                                     b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\n"
                                     b"Content-Length: -5\r\n\r\n")
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"


def test_a_huge_body_is_refused_unread_and_not_echoed(labcloud_server):
    size = 40 * 1024 * 1024
    value = b"x" * size
    body = b'{"ModelName": "' + value + b'"}'
    started = time.monotonic()
    status, headers, answer = post(labcloud_server.port, body, "SageMaker.CreateModel")
    assert status == 413 and json.loads(answer)["__type"] == "RequestEntityTooLargeException"
    assert len(answer) < 1000 and headers["connection"] == "close"
    assert time.monotonic() - started < 15


def test_a_long_value_under_the_bound_is_cut_in_the_message(labcloud_server):
    body = json.dumps({"ModelName": "m" * 2_000_000, "ExecutionRoleArn": ROLE}).encode()
    status, code, message = aws_error(post(labcloud_server.port, body, "SageMaker.CreateModel"))
    assert (status, code) == (400, "ValidationException") and len(message) < 20_000


def test_invoke_endpoint_bodies_past_6_mb_are_refused_before_reading(labcloud_server, runtime):
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"1" * (6 * 1024 * 1024 + 1),
                                ContentType="text/csv")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert "6291456" in info.value.response["Error"]["Message"]


def test_a_chunked_body_past_the_bound_is_refused(labcloud_server):
    chunk = b"x" * (1 << 20)
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=20) as sock:
        sock.sendall(signed_head("POST", "/endpoints/x/invocations", {"Transfer-Encoding": "chunked"}))
        for _ in range(8):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        status, code, _ = aws_error(read_http_response(sock.makefile("rb")))
    assert (status, code) == (400, "ValidationError")


def test_a_chunked_body_hashed_for_its_signature_is_bounded_too(labcloud_server):
    """With no X-Amz-Content-Sha256 the body is read to check the signature: past the bound it is refused
    as the service refuses it, not a fault of labcloud's."""
    chunk = b"x" * (1 << 20)
    head = signed_headers("POST", "http://x/", b"", {"Host": "x", "Transfer-Encoding": "chunked",
                          "X-Amz-Target": "SageMaker.ListModels", "Content-Type": "application/x-amz-json-1.1"})
    with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=30) as sock:
        sock.sendall("\r\n".join(["POST / HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]).encode()
                     + b"\r\n\r\n")
        try:
            for _ in range(17):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the answer may come (and the connection close) before the whole body is sent
        status, code, _ = aws_error(read_http_response(sock.makefile("rb")))
    assert (status, code) == (413, "RequestEntityTooLargeException")


def test_a_fault_inside_moto_is_an_aws_error(labcloud_server):
    # POST on an S3 key with no sub-resource once raised KeyError 'DEFAULT' inside moto.
    status, headers, body = post(labcloud_server.port, b"x", path="/robustness-ids/k", signed_for="s3",
                                 content_type="application/octet-stream")
    assert headers.get("x-amzn-requestid") and b"Traceback" not in body
    if status >= 500:
        assert b"<Code>" in body and headers["x-amzn-requestid"].encode() in body


# --- connections, on a server of this test's own with short limits -----------------------------------

@pytest.fixture
def short_limits(in_process, monkeypatch):
    from labcloud.server import http_handler

    monkeypatch.setattr(http_handler, "READ_SECONDS", 1)
    monkeypatch.setattr(http_handler.KeepAliveRequestHandler, "timeout", 1)
    monkeypatch.setattr(http_handler, "BUSY_WAIT_SECONDS", 0.3)
    return in_process(state_dir=None)


def test_idle_and_half_sent_connections_are_closed_in_seconds(short_limits):
    port = short_limits.port
    for partial in (b"", b"POST / HTTP/1.1\r\nHost: x\r\n", b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(partial)
            started = time.monotonic()
            while sock.recv(65536):  # whatever answer comes, then the close
                pass
            assert time.monotonic() - started < 5, partial


def test_connections_past_the_bound_wait_then_get_503(short_limits):
    port = short_limits.port
    short_limits.http.connection_slots = threading.BoundedSemaphore(2)
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        for sock in held:  # each is being served (idle in its keep-alive wait)
            sock.sendall(b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_http_response(sock.makefile("rb"))[0] == 200
        status, headers, body = exchange(port, b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503 and b"ServiceUnavailable" in body and headers["connection"] == "close"
    finally:
        for sock in held:
            sock.close()
    time.sleep(1.5)  # the server lets the idle ones go; the slots are free again
    assert exchange(port, b"GET /_labcloud/health HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200


@pytest.mark.parametrize("body, code", [
    (b'{"limit": NaN}', "SerializationException"),
    (b'{"limit": 7.5}', "SerializationException"),
    (b'{"limit": "ten"}', "SerializationException"),
    (b'{"limit": 0}', "ValidationException"),
    (b"[" * 100_000, "SerializationException"),
])
def test_moto_json_services_are_checked_as_aws_checks_them(labcloud_server, body, code):
    status, got, message = aws_error(post(labcloud_server.port, body, "Logs_20140328.DescribeLogGroups",
                                          signed_for="logs"))
    assert (status, got) == (400, code), message


CBOR_PATH = "/service/AWS242ServiceCatalogService/operation/SearchProducts"


@pytest.mark.parametrize("params, code", [
    ({"PageSize": float("nan")}, "SerializationException"),
    ({"PageSize": 2 ** 40}, "SerializationException"),
    ({"PageSize": 2.5}, "SerializationException"),
    ({"Filters": {"FullTextSearch": [None]}}, "ValidationException"),
])
def test_cbor_requests_get_the_same_checks(labcloud_server, params, code):
    from labcloud.protocols import cbor

    body = cbor.encode(params)
    status, headers, answer = post(labcloud_server.port, body, path=CBOR_PATH, signed_for="servicecatalog",
                                   content_type="application/cbor", extra={"smithy-protocol": "rpc-v2-cbor"})
    error = cbor.decode(answer)
    assert status == 400 and error["__type"].endswith(code) and headers.get("x-amzn-requestid"), error


def test_a_method_moto_routes_nowhere_is_an_aws_error_not_html(labcloud_server, s3):
    s3.create_bucket(Bucket="robustness-methods")
    status, headers, body = post(labcloud_server.port, b"", path="/robustness-methods", method="FOO", signed_for="s3",
                                 content_type="application/xml")
    assert status == 405 and b"<Code>MethodNotAllowed</Code>" in body and b"<html" not in body.lower()


def test_a_head_sent_a_byte_at_a_time_is_cut_off(short_limits, monkeypatch):
    from labcloud.server import http_handler

    monkeypatch.setattr(http_handler, "HEAD_SECONDS", 2)
    with socket.create_connection(("127.0.0.1", short_limits.port), timeout=10) as sock:
        started = time.monotonic()
        closed = False
        for byte in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.3)  # each byte within READ_SECONDS (1 s): only the head's deadline ends it
            if time.monotonic() - started > 6:
                break
        if not closed:
            sock.settimeout(3)
            try:
                closed = sock.recv(1) == b""
            except OSError:
                closed = True
    assert closed and time.monotonic() - started < 6


def test_a_broken_tls_handshake_ends_its_connection_quietly(labcloud_server):
    # The first byte opens a TLS handshake (HTTPS shares the port); the rest is no ClientHello.
    for garbage in (b"\x16\x03\x01\x00\x05hello", b"\x16"):
        with socket.create_connection(("127.0.0.1", labcloud_server.port), timeout=5) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(1024):
                    pass
            except OSError:
                pass
    assert boto3.client("s3").list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_the_handler_itself_never_failed_on_any_of_these(labcloud_server):
    # (socketserver prints this when a request handler raises: a fault of the HTTP layer, not of a service)
    assert "Exception occurred during processing of request" not in labcloud_server.log()
