"""S3's presigned URLs of signature version 2 (AWSAccessKeyId, Expires, Signature in the query), which
boto3 still makes by default for S3 in us-east-1: checked as S3 checks them (HMAC-SHA1 over the method,
Content-MD5, Content-Type, Expires, the x-amz- headers and the resource with its sub-resources)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from botocore.auth import HmacV1Auth


@dataclass(frozen=True)
class PresignedV2:
    access_key_id: str
    signature: str
    expires: int  # seconds since the epoch


def read_presigned(environ: dict) -> PresignedV2 | None:
    """The version-2 query signature of the request, or None if it carries none (or an unreadable one)."""
    params = {}
    for pair in environ.get("QUERY_STRING", "").split("&"):
        name, _, value = pair.partition("=")
        params[unquote_plus(name)] = unquote_plus(value)
    if not {"AWSAccessKeyId", "Signature", "Expires"} <= params.keys():
        return None
    try:
        return PresignedV2(params["AWSAccessKeyId"], params["Signature"], int(params["Expires"]))
    except ValueError:
        return None


def expected_signature(environ: dict, presigned: PresignedV2, secret: str, raw_uri: str) -> str:
    def header(key: str) -> str:
        return str(environ.get(key, "")).strip()

    amz = sorted((key[5:].lower().replace("_", "-"), " ".join(str(value).split()))
                 for key, value in environ.items() if key.startswith("HTTP_X_AMZ_"))
    resource = HmacV1Auth(None).canonical_resource(urlsplit(raw_uri))
    lines = [environ.get("REQUEST_METHOD", "GET").upper(), header("HTTP_CONTENT_MD5"), header("CONTENT_TYPE"),
             str(presigned.expires), *(f"{name}:{value}" for name, value in amz), resource]
    digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
