"""Reading the protobuf body `kubectl create namespace` sends."""

from __future__ import annotations

import pytest

from labcloud.services.kubernetes.protobuf import DecodeError, decode

# What kubectl 1.32 sent for `kubectl create namespace keep-all` (from its -v=8 log).
KUBECTL_BODY = bytes.fromhex(
    "6b387300 0a0f0a0276311209 4e616d65 73706163 6512200a 180a086b 6565702d 616c6c12 001a0022 002a0032"
    " 00380042 0012001a 020a001a 002200".replace(" ", ""))


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _namespace(api_version: bytes = b"v1", kind: bytes = b"Namespace", metadata: bytes = b"") -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return b"k8s\x00" + _field(1, type_meta) + _field(2, _field(1, metadata))


def test_kubectls_namespace_body_reads_as_its_json():
    assert decode(KUBECTL_BODY) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "keep-all"}}


def test_labels_and_annotations_are_kept():
    label = _field(11, _field(1, b"team") + _field(2, b"red"))
    note = _field(12, _field(1, b"sagemaker.services.k8s.aws/deletion-policy") + _field(2, b"retain"))
    body = _namespace(metadata=_field(1, b"lab") + label + note)
    assert decode(body)["metadata"] == {"name": "lab", "labels": {"team": "red"},
                                        "annotations": {"sagemaker.services.k8s.aws/deletion-policy": "retain"}}


@pytest.mark.parametrize(("body", "says"), [
    (b'{"kind": "Namespace"}', "magic"),
    (KUBECTL_BODY[:30], "past the end"),
    (_namespace(kind=b"ConfigMap"), "only a v1 Namespace"),
    (b"k8s\x00\x0f", "wire type 7"),
])
def test_a_body_it_cannot_read_is_an_error_that_says_why(body, says):
    with pytest.raises(DecodeError, match=says):
        decode(body)
