"""labcloud's CBOR codec (labcloud/protocols/cbor.py) and the RPC v2 CBOR answers built on it, checked
against RFC 8949's examples (Appendix A) and against botocore's own CBOR serializer and parser, the
client every request and answer of this protocol meets."""

from __future__ import annotations

import datetime as dt
import math

import botocore.session
import pytest
from botocore.model import DenormalizedStructureBuilder
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from labcloud.core.errors import SerializationException, ValidationException
from labcloud.protocols import cbor
from labcloud.protocols.rpc_v2_cbor import error_response, parse_params

UTC = dt.timezone.utc


def botocore_decode(data: bytes):
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(data))


def botocore_encode(params: dict, shape) -> bytes:
    out = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(out, params, shape)
    return bytes(out)


# --- RFC 8949, Appendix A ----------------------------------------------------------------------------

RFC_EXAMPLES = [
    ("00", 0), ("01", 1), ("0a", 10), ("17", 23), ("1818", 24), ("1819", 25), ("1864", 100), ("1903e8", 1000),
    ("1a000f4240", 1000000), ("1b000000e8d4a51000", 1000000000000),
    ("1bffffffffffffffff", 18446744073709551615), ("3bffffffffffffffff", -18446744073709551616),
    ("20", -1), ("29", -10), ("3863", -100), ("3903e7", -1000),
    ("f90000", 0.0), ("f93c00", 1.0), ("fb3ff199999999999a", 1.1), ("f93e00", 1.5), ("f97bff", 65504.0),
    ("fa47c35000", 100000.0), ("fa7f7fffff", 3.4028234663852886e38), ("fb7e37e43c8800759c", 1.0e300),
    ("f90001", 5.960464477539063e-8), ("f90400", 0.00006103515625), ("f9c400", -4.0),
    ("fbc010666666666666", -4.1), ("f97c00", math.inf), ("f9fc00", -math.inf), ("fa7f800000", math.inf),
    ("fb7ff0000000000000", math.inf), ("fbfff0000000000000", -math.inf),
    ("f4", False), ("f5", True), ("f6", None), ("f7", None),
    ("c11a514b67b0", dt.datetime(2013, 3, 21, 20, 4, tzinfo=UTC)),
    ("c1fb41d452d9ec200000", dt.datetime(2013, 3, 21, 20, 4, 0, 500000, tzinfo=UTC)),
    ("40", b""), ("4401020304", b"\x01\x02\x03\x04"),
    ("60", ""), ("6161", "a"), ("6449455446", "IETF"), ("62225c", '"\\'), ("62c3bc", "\u00fc"),
    ("63e6b0b4", "\u6c34"), ("64f0908591", "\U00010151"),
    ("80", []), ("83010203", [1, 2, 3]), ("8301820203820405", [1, [2, 3], [4, 5]]),
    ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", list(range(1, 26))),
    ("a0", {}), ("a201020304", {1: 2, 3: 4}), ("a26161016162820203", {"a": 1, "b": [2, 3]}),
    ("826161a161626163", ["a", {"b": "c"}]),
    ("a56161614161626142616361436164614461656145", {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}),
    # indefinite lengths
    ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"), ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []), ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]), ("9f01820203820405ff", [1, [2, 3], [4, 5]]),
    ("83018202039f0405ff", [1, [2, 3], [4, 5]]), ("83019f0203ff820405", [1, [2, 3], [4, 5]]),
    ("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", list(range(1, 26))),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}), ("826161bf61626163ff", ["a", {"b": "c"}]),
    ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}),
]


@pytest.mark.parametrize("hex_text, expected", RFC_EXAMPLES, ids=[h for h, _ in RFC_EXAMPLES])
def test_decodes_the_rfc_examples(hex_text, expected):
    value = cbor.decode(bytes.fromhex(hex_text))
    assert value == expected and type(value) is type(expected)


def test_decodes_nan_and_negative_zero():
    assert math.isnan(cbor.decode(bytes.fromhex("f97e00")))
    assert math.isnan(cbor.decode(bytes.fromhex("fb7ff8000000000000")))
    assert math.copysign(1.0, cbor.decode(bytes.fromhex("f98000"))) == -1.0


ENCODINGS = [
    (0, "00"), (23, "17"), (24, "1818"), (255, "18ff"), (256, "190100"), (1000, "1903e8"),
    (65536, "1a00010000"), (1000000, "1a000f4240"), (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"), (-1, "20"), (-24, "37"), (-25, "3818"), (-100, "3863"),
    (-1000, "3903e7"), (-18446744073709551616, "3bffffffffffffffff"),
    (1.5, "fa3fc00000"), (1.1, "fb3ff199999999999a"), (100000.0, "fa47c35000"), (1.0e300, "fb7e37e43c8800759c"),
    (math.inf, "fa7f800000"), (-math.inf, "faff800000"), (math.nan, "fa7fc00000"),
    (False, "f4"), (True, "f5"), (None, "f6"),
    ("", "60"), ("IETF", "6449455446"), ("\u00fc", "62c3bc"), ("\U00010151", "64f0908591"),
    (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"), (bytearray(b"\x01"), "4101"),
    ([], "80"), ((1, 2, 3), "83010203"), ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (dt.datetime(2013, 3, 21, 20, 4, tzinfo=UTC), "c11a514b67b0"),
    (dt.datetime(2013, 3, 21, 20, 4, 0, 500000, tzinfo=UTC), "c1fb41d452d9ec200000"),
    (dt.datetime(2013, 3, 21, 20, 4), "c11a514b67b0"),  # a naive time is UTC
    (dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "c120"),
]


@pytest.mark.parametrize("value, hex_text", ENCODINGS, ids=[h for _, h in ENCODINGS])
def test_encodes_in_the_shortest_form(value, hex_text):
    assert cbor.encode(value).hex() == hex_text


def test_encodes_times_to_the_millisecond_and_other_zones_as_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    assert cbor.decode(cbor.encode(dt.datetime(2024, 1, 1, 1, 0, tzinfo=paris))) == dt.datetime(2024, 1, 1, tzinfo=UTC)
    decoded = cbor.decode(cbor.encode(dt.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)))
    assert decoded == dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)


def test_omit_none_leaves_out_null_members_only():
    assert cbor.decode(cbor.encode({"a": None, "b": [None], "c": {"d": None}}, omit_none=True)) == {"b": [None], "c": {}}
    assert cbor.decode(cbor.encode({"a": None})) == {"a": None}


@pytest.mark.parametrize("value, error", [({1, 2}, TypeError), (object(), TypeError), (2 ** 64, OverflowError),
                                          (-(2 ** 64) - 1, OverflowError)])
def test_refuses_what_it_cannot_encode(value, error):
    with pytest.raises(error):
        cbor.encode(value)


MALFORMED = [
    ("", "ends early"), ("19 01", "ends early"), ("62 61", "ends early"), ("83 01 02", "ends early"),
    ("00 00", "1 bytes follow"), ("ff", "break"), ("1c", "reserved"), ("3f", "not allowed"),
    ("c2 41 01", "tag 2"), ("c1 61 61", "number of seconds"), ("c1 f5", "number of seconds"),
    ("c1 fb 7ff0000000000000", "not a representable time"), ("f0", "simple value 16"), ("f8 20", "simple value 24"),
    ("62 c3 28", "not valid UTF-8"), ("5f 61 61 ff", "another kind"), ("7f 7f ff ff", "another kind"),
    ("9f 01", "no break"), ("a2 61 61 01 61 61 02", "appears twice"), ("a1 80 00", "array or a map"),
    ("81" * 300 + "00", "deeper than"),
]


@pytest.mark.parametrize("hex_text, message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_refuses_malformed_data_with_a_reason(hex_text, message):
    with pytest.raises(cbor.CBORDecodeError, match=message):
        cbor.decode(bytes.fromhex(hex_text.replace(" ", "")))


# --- against botocore ------------------------------------------------------------------------------

EVERY_TYPE = DenormalizedStructureBuilder().with_members({
    "Text": {"type": "string"}, "Small": {"type": "integer"}, "Big": {"type": "long"},
    "Negative": {"type": "long"}, "Single": {"type": "float"}, "Double": {"type": "double"},
    "Flag": {"type": "boolean"}, "When": {"type": "timestamp"}, "Data": {"type": "blob"},
    "Names": {"type": "list", "member": {"type": "string"}},
    "Counts": {"type": "map", "key": {"type": "string"}, "value": {"type": "integer"}},
    "Nested": {"type": "structure", "members": {"Inner": {"type": "list", "member": {
        "type": "structure", "members": {"Deep": {"type": "string"}, "Values": {
            "type": "list", "member": {"type": "double"}}}}}}},
}).build_model()

SAMPLE = {"Text": "MLOps \u2014 build & deploy \U0001F680", "Small": 23, "Big": 2 ** 40, "Negative": -(2 ** 33),
          "Single": 0.5, "Double": 0.1, "Flag": True, "When": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
          "Data": b"\x00\xffbinary" * 20, "Names": ["a" * 300, "", "b"], "Counts": {"x": 1, "y": -70000},
          "Nested": {"Inner": [{"Deep": "yes", "Values": [1.25, -2.5e-10]}, {"Values": []}]}}


def test_what_botocore_serializes_we_decode():
    decoded = cbor.decode(botocore_encode(SAMPLE, EVERY_TYPE))
    assert decoded == SAMPLE


def test_we_decode_botocore_special_floats_and_fractional_times():
    params = {"Single": math.inf, "Double": -math.inf, "When": dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC)}
    decoded = cbor.decode(botocore_encode(params, EVERY_TYPE))
    assert decoded["Single"] == math.inf and decoded["Double"] == -math.inf and decoded["When"] == params["When"]
    assert math.isnan(cbor.decode(botocore_encode({"Double": math.nan}, EVERY_TYPE))["Double"])


def test_what_we_encode_botocore_decodes():
    decoded = botocore_decode(cbor.encode(SAMPLE))
    assert decoded == SAMPLE  # botocore's times are aware (its local zone): the same instants


def test_botocore_parses_our_answer_into_the_operation_output():
    model = botocore.session.get_session().get_service_model("servicecatalog")
    output = model.operation_model("ListProvisioningArtifacts").output_shape
    created = dt.datetime(2024, 1, 1, tzinfo=UTC)
    answer = {"ProvisioningArtifactDetails": [{"Id": "pa-1", "Name": "v1.0", "Active": True, "CreatedTime": created,
                                               "Description": None}]}
    parsed = RpcV2CBORParser().parse({"status_code": 200, "headers": {"x-amzn-requestid": "r-1"},
                                      "body": cbor.encode(answer, omit_none=True)}, output)
    assert parsed["ProvisioningArtifactDetails"] == [{"Id": "pa-1", "Name": "v1.0", "Active": True,
                                                      "CreatedTime": created}]
    assert parsed["ResponseMetadata"]["RequestId"] == "r-1"


def test_a_whole_botocore_request_body_is_our_input():
    model = botocore.session.get_session().get_service_model("servicecatalog")
    request = RpcV2CBORSerializer().serialize_to_request(
        {"Filters": {"FullTextSearch": ["MLOps template"], "Owner": ["Amazon SageMaker"]}, "PageSize": 5},
        model.operation_model("SearchProducts"))
    assert request["url_path"] == "/service/AWS242ServiceCatalogService/operation/SearchProducts"
    assert request["headers"]["smithy-protocol"] == "rpc-v2-cbor"
    assert parse_params(request["body"]) == {"Filters": {"FullTextSearch": ["MLOps template"],
                                                         "Owner": ["Amazon SageMaker"]}, "PageSize": 5}


# --- RPC v2 CBOR errors ------------------------------------------------------------------------------

def test_botocore_reads_our_error_answer():
    status, headers, body = error_response(ValidationException("Member must not be null"),
                                           "com.amazonaws.servicecatalog", "r-2")
    assert status == 400 and headers["smithy-protocol"] == "rpc-v2-cbor" and headers["Content-Type"] == "application/cbor"
    assert cbor.decode(body) == {"__type": "com.amazonaws.servicecatalog#ValidationException",
                                 "message": "Member must not be null"}
    parsed = RpcV2CBORParser().parse({"status_code": status, "headers": {k.lower(): v for k, v in headers.items()},
                                      "body": body}, None)
    assert parsed["Error"] == {"Code": "ValidationException", "Message": "Member must not be null"}
    assert parsed["ResponseMetadata"]["RequestId"] == "r-2"


@pytest.mark.parametrize("body, message", [(b"\x1c", "not valid CBOR"), (b"\x83\x01\x02\x03", "must be a CBOR map"),
                                           (b"\x00\x00", "not valid CBOR")])
def test_a_body_that_is_no_cbor_map_is_a_serialization_exception(body, message):
    with pytest.raises(SerializationException, match=message):
        parse_params(body)
    assert parse_params(b"") == {}
