"""S3's presigned URLs of signature version 2 (AWSAccessKeyId, Expires, Signature in the query), which
boto3 still makes by default for S3 in us-east-1: checked as S3 checks them (HMAC-SHA1 over the method,
Content-MD5, Content-Type, Expires, the x-amz- headers and the resource with its sub-resources)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import HmacV1Auth

from labcloud.protocols.sigv4 import query_pairs, raw_target


@dataclass(frozen=True)
class PresignedV2:
    access_key_id: str
    signature: str
    expires: int  # seconds since the epoch


def read_presigned(environ: dict) -> PresignedV2 | None:
    """The version-2 query signature of the request, or None if it carries none (or an unreadable one)."""
    params = dict(query_pairs(environ.get("QUERY_STRING", ""), decode=True))
    if not {"AWSAccessKeyId", "Signature", "Expires"} <= params.keys():
        return None
    try:
        return PresignedV2(params["AWSAccessKeyId"], params["Signature"], int(params["Expires"]))
    except ValueError:
        return None


def expected_signature(environ: dict, presigned: PresignedV2, secret: str) -> str:
    def header(key: str) -> str:
        return str(environ.get(key, "")).strip()

    amz = sorted((key[5:].lower().replace("_", "-"), " ".join(str(value).split()))
                 for key, value in environ.items() if key.startswith("HTTP_X_AMZ_"))
    path, query = raw_target(environ)
    resource = HmacV1Auth(None).canonical_resource(urlsplit(f"{path}?{query}" if query else path))
    lines = [environ.get("REQUEST_METHOD", "GET").upper(), header("HTTP_CONTENT_MD5"), header("CONTENT_TYPE"),
             str(presigned.expires), *(f"{name}:{value}" for name, value in amz), resource]
    digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
