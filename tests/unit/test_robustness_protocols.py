"""The shared layer's answers to bad input (issue 15), without a server: strict JSON, numbers and timestamps
a Java type cannot hold, nulls in collections, routing of targets and REST paths, the gateway's errors."""

from __future__ import annotations

import io
import json
import logging
import types

import pytest

from labcloud.core.errors import SerializationException, UnknownOperationException, ValidationException
from labcloud.platform.service import Routes, Service, ServiceDefinition
from labcloud.protocols import cbor, json_codec
from labcloud.protocols.errors import REQUEST_ID, any_protocol_error
from labcloud.protocols.validation import validate_request
from labcloud.server.authentication import Authenticator
from labcloud.server.gateway import BodyTooLarge, CappedInput, Gateway
from labcloud.server.registry import Registry
from labcloud.services.moto.service import MotoService


@pytest.mark.parametrize("body, words", [
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"a": 1e400}', "out of range for a double"),
    (b"[" * 100_000, "deeper than 200 levels"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "deeper than 200 levels"),
    (b"{", "not valid JSON"),
    (b"\xff", "not valid JSON"),
])
def test_strict_json(body, words):
    with pytest.raises(SerializationException) as info:
        json_codec.loads(body)
    assert words in info.value.message


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"a": "[" * 5000 + '\\"{' * 500, "b": [[1]]}).encode()
    assert json_codec.nesting_depth(text) == 3
    assert json_codec.loads(text)["b"] == [[1]]
    assert json_codec.loads(b"") == {}


@pytest.mark.parametrize("value, words", [
    (7.9, "not a whole number"), (float("nan"), "not finite"), (float("inf"), "not finite"),
    (2 ** 31, "out of range"), (-(2 ** 31) - 1, "out of range"),
])
def test_integer_members_hold_only_what_a_java_int_holds(value, words):
    with pytest.raises(SerializationException) as info:
        validate_request("ListTrainingJobs", {"MaxResults": value})
    assert words in info.value.message


def test_a_whole_float_reaches_the_operation_as_an_int():
    params = {"MaxResults": 7.0}
    validate_request("ListTrainingJobs", params)
    assert params["MaxResults"] == 7 and isinstance(params["MaxResults"], int)
    params = {"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
              "PrimaryContainer": {"Image": "i"}, "VpcConfig": None}
    validate_request("CreateModel", params)


@pytest.mark.parametrize("value", [1e20, -1e15, float("nan"), 2 ** 63])
def test_timestamps_past_what_a_datetime_holds_are_refused(value):
    with pytest.raises(SerializationException):
        validate_request("ListModels", {"CreationTimeAfter": value})
    validate_request("ListModels", {"CreationTimeAfter": 253402300799})


def test_nulls_in_lists_and_maps_are_violations_with_their_paths():
    with pytest.raises(ValidationException) as info:
        validate_request("CreateEndpointConfig", {"EndpointConfigName": "c", "ProductionVariants": [None]})
    assert "Value null at 'productionVariants.1.member'" in info.value.message
    with pytest.raises(ValidationException) as info:
        validate_request("CreateModel", {"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
                                         "PrimaryContainer": {"Image": "i", "Environment": {"A": None}},
                                         "VpcConfig": {"SecurityGroupIds": ["sg-1", None], "Subnets": ["s"]}})
    assert "'primaryContainer.environment.A.member'" in info.value.message
    assert "'vpcConfig.securityGroupIds.2.member'" in info.value.message


def test_a_huge_value_is_cut_in_the_message():
    with pytest.raises(ValidationException) as info:
        validate_request("DescribeModel", {"ModelName": "m" * 1_000_000})
    assert len(info.value.message) < 10_000 and "(1000000 characters)" in info.value.message


# --- errors in the request's protocol ------------------------------------------------------------------

def test_errors_take_the_protocol_the_request_spoke():
    err = UnknownOperationException("no")
    for environ, kind in (({"HTTP_X_AMZ_TARGET": "A.B"}, "application/x-amz-json-1.1"),
                          ({"HTTP_SMITHY_PROTOCOL": "rpc-v2-cbor"}, "application/cbor"),
                          ({"PATH_INFO": "/bucket/key"}, "application/xml")):
        environ[REQUEST_ID] = "rid-1"
        status, headers, body = any_protocol_error(environ, err)
        assert status == 400 and headers["Content-Type"] == kind and headers["x-amzn-RequestId"] == "rid-1"
        if kind == "application/cbor":
            assert cbor.decode(body)["__type"] == "UnknownOperationException"
        elif kind == "application/xml":
            assert b"<Code>UnknownOperationException</Code>" in body and b"<RequestId>rid-1</RequestId>" in body
        else:
            assert json.loads(body)["__type"] == "UnknownOperationException"


# --- routing -------------------------------------------------------------------------------------------

class StandIn(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.ready.set()
        self.fault: Exception | None = None
        self.targets: set = set()

    def serves_target(self, prefix, operation, signed_for):
        return (prefix, operation) in self.targets

    def __call__(self, environ, start_response):
        if self.fault is not None:
            raise self.fault
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]


def registry():
    ctx = types.SimpleNamespace(store_for=lambda root: None)
    definitions = [
        ServiceDefinition("fallback", Routes(fallback=True), StandIn, gated=False),
        ServiceDefinition("json", Routes(json_target_prefix="Json_2020"), StandIn),
        ServiceDefinition("rest", Routes(rest_paths=(("POST", r"^/things/(?P<name>[^/]+)/go$"),), signing_names=("rest",),
                                         owned_paths=(r"^/things/",), refuse_foreign_signatures=True), StandIn),
    ]
    reg = Registry(ctx, definitions)
    reg.service("fallback").targets = {("Moto_1", "Op")}
    return reg


def env(method="POST", path="/", target=None, scope=None):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if target is not None:
        environ["HTTP_X_AMZ_TARGET"] = target
    if scope:
        environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/{scope}/aws4_request"
    return environ


def test_targets_are_matched_exactly():
    reg = registry()
    assert reg.route(env(target="Json_2020.Anything"))[0].name == "json"
    assert reg.route(env(target="Json_2020"))[0].name == "json"  # (which answers that no operation is named)
    assert reg.route(env(target="Moto_1.Op"))[0].name == "fallback"
    for target in ("json_2020.Anything", "Moto_1.op", "Foo.Bar", "Moto_1"):
        with pytest.raises(UnknownOperationException):
            reg.route(env(target=target))


def test_owned_paths_and_foreign_signatures_go_to_the_rest_service_without_a_match():
    reg = registry()
    service, match = reg.route(env(path="/things/a/go"))
    assert service.name == "rest" and match["name"] == "a"
    assert reg.route(env(method="GET", path="/things/a/go")) == (reg.service("rest"), None)
    assert reg.route(env(path="/things/a/go", scope="s3")) == (reg.service("rest"), None)  # refused there
    assert reg.route(env(method="PUT", path="/things/a/go", scope="s3"))[0].name == "fallback"  # an S3 PUT
    assert reg.route(env(method="GET", path="/other"))[0].name == "fallback"


def test_moto_is_offered_only_the_operations_of_the_service_a_request_is_signed_for():
    serves = MotoService.serves_target
    assert serves(None, "Logs_20140328", "DescribeLogGroups", "logs")
    assert not serves(None, "Logs_20140328", "NoSuchOperation", "logs")
    assert not serves(None, "sagemaker", "CreateModel", "sagemaker")
    assert not serves(None, "SageMaker", "CreateModel", "logs")
    assert not serves(None, "Foo", "Bar", None)
    assert serves(None, "AWSCognitoIdentityService", "GetId", None)  # served unsigned by AWS too
    assert serves(None, "GraniteServiceVersion20100801", "PutMetricData", "monitoring")  # cloudwatch's signing name
    assert not serves(None, "Foo", "Bar", "no-such-service")
    assert not serves(None, "Foo", "Bar", "../../etc")
    assert serves(None, "Foo", "Bar", "s3")  # S3 takes no target: the header is ignored, as AWS does


# --- the gateway ---------------------------------------------------------------------------------------

def call(gateway, environ):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(gateway(environ, start_response))
    return seen["status"], seen["headers"], body


def gateway():
    reg = registry()
    return Gateway(types.SimpleNamespace(authenticator=Authenticator(None)), reg), reg  # (signatures: test_authentication)


def test_a_fault_is_an_internal_failure_with_the_request_id_in_the_log(caplog):
    gw, reg = gateway()
    reg.service("json").fault = KeyError("AlgorithmSpecification")
    environ = {**env(target="Json_2020.Op"), "wsgi.input": io.BytesIO(b"{}"), "CONTENT_LENGTH": "2"}
    with caplog.at_level(logging.ERROR, logger="labcloud"):
        status, headers, body = call(gw, environ)
    rid = headers["x-amzn-RequestId"]
    assert status == 500 and json.loads(body)["__type"] == "InternalFailure" and rid in json.loads(body)["message"]
    assert rid in caplog.text and "AlgorithmSpecification" in caplog.text and "AlgorithmSpecification" not in body.decode()


def test_not_implemented_is_a_501_and_an_aws_error_raised_out_of_a_service_is_itself():
    gw, reg = gateway()
    reg.service("fallback").fault = NotImplementedError("the action X")
    status, headers, body = call(gw, env(path="/bucket"))
    assert status == 501 and b"<Code>NotImplemented</Code>" in body
    reg.service("fallback").fault = ValidationException("bad")
    status, _, body = call(gw, env(path="/bucket"))
    assert status == 400 and b"<Code>ValidationException</Code>" in body


def test_a_body_past_the_bound_is_refused_unread():
    gw, reg = gateway()
    reg.service("json").max_request_bytes = lambda environ: 10
    environ = {**env(target="Json_2020.Op"), "CONTENT_LENGTH": "11", "wsgi.input": io.BytesIO(b"x" * 11)}
    status, headers, body = call(gw, environ)
    assert status == 413 and headers["Connection"] == "close" and environ["wsgi.input"].tell() == 0
    assert json.loads(body)["__type"] == "RequestEntityTooLargeException"


def test_a_chunked_body_is_counted_as_it_is_read():
    stream = CappedInput(io.BytesIO(b"x" * 100), 10)
    assert stream.read(4) == b"xxxx"
    with pytest.raises(BodyTooLarge):
        stream.read()
    assert CappedInput(io.BytesIO(b"x" * 10), 10).read() == b"x" * 10
