"""Signature Version 4, checked on the server's side: what a request says it was signed with, and the
signature its canonical form gives under a secret.

Only the request as it came over the wire is used (the raw path and query, the headers the signature
lists, the payload hash the client declared in X-Amz-Content-Sha256 or else the body's), canonicalised as
AWS's signers do it, botocore's included: S3 keeps the path as sent; every other service encodes it once
more. A query is taken as sent and, failing that, decoded and encoded again AWS's way, so that a client
that encodes a query differently still matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEADER_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*,"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$")
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


class Malformed(ValueError):
    """The request carries a signature that cannot be read (its message says what is wrong)."""


@dataclass(frozen=True)
class Signed:
    access_key_id: str
    date: str  # yyyymmdd of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: dt.datetime
    presigned: bool
    expires: int | None  # seconds, presigned URLs only

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def is_signed(environ: dict) -> bool:
    return bool(environ.get("HTTP_AUTHORIZATION")) or "X-Amz-Signature=" in environ.get("QUERY_STRING", "")


def read_signature(environ: dict) -> Signed:
    """What the request says of its signature; Malformed if it is not SigV4 or is incomplete."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header:
        match = _HEADER_AUTH.match(header.strip())
        if not match:
            raise Malformed("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                            f"parameters of {ALGORITHM}.")
        credential, signed, signature = match.group("credential", "signed", "signature")
        stamp = environ.get("HTTP_X_AMZ_DATE") or ""
        return _signed(credential, signed, signature, stamp, presigned=False, expires=None)
    params = dict(query_pairs(environ.get("QUERY_STRING", ""), decode=True))
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise Malformed(f"X-Amz-Algorithm must be {ALGORITHM}.")
    missing = [name for name in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date")
               if not params.get(name)]
    if missing:
        raise Malformed(f"The query string is missing {', '.join(missing)}.")
    try:
        expires = int(params.get("X-Amz-Expires", "604800"))
    except ValueError:
        raise Malformed("X-Amz-Expires must be a number of seconds.") from None
    return _signed(params["X-Amz-Credential"], params["X-Amz-SignedHeaders"], params["X-Amz-Signature"],
                   params["X-Amz-Date"], presigned=True, expires=expires)


def _signed(credential: str, signed: str, signature: str, stamp: str, presigned: bool,
            expires: int | None) -> Signed:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Malformed(f"Credential should be <access key>/<date>/<region>/<service>/aws4_request, not "
                        f"'{credential[:200]}'.")
    try:
        timestamp = dt.datetime.strptime(stamp, _TIMESTAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise Malformed("The request must carry X-Amz-Date as yyyymmddThhmmssZ.") from None
    if timestamp.strftime("%Y%m%d") != parts[1]:
        raise Malformed(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                        f"from HTTP: '{parts[1]}' != '{timestamp.strftime('%Y%m%d')}'.")
    return Signed(parts[0], parts[1], parts[2], parts[3], tuple(signed.lower().split(";")), signature.lower(),
                  timestamp, presigned, expires)


def expected_signatures(environ: dict, signed: Signed, secret: str, body_hash) -> set[str]:
    """The signatures the request's canonical forms give under `secret` (one per way of writing its query).
    `body_hash()` gives the body's SHA-256 when the request declares none."""
    key = _signing_key(secret, signed)
    raw_path, raw_query = raw_target(environ)
    path = raw_path if signed.service == "s3" else quote(normalize_url_path(raw_path), safe="/~")
    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed.signed_headers)
    if signed.presigned:
        payload = "UNSIGNED-PAYLOAD" if signed.service == "s3" else (_header(environ, "x-amz-content-sha256")
                                                                     or EMPTY_SHA256)
    else:
        payload = _header(environ, "x-amz-content-sha256") or body_hash()
    found = set()
    for query in _query_forms(raw_query, signed.presigned):
        canonical = "\n".join([environ.get("REQUEST_METHOD", "GET").upper(), path, query, headers,
                               ";".join(signed.signed_headers), payload])
        to_sign = "\n".join([ALGORITHM, signed.timestamp.strftime(_TIMESTAMP), signed.scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        found.add(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest())
    return found


def _signing_key(secret: str, signed: Signed) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (signed.date, signed.region, signed.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def raw_target(environ: dict) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        return quote(environ.get("PATH_INFO", "/")), environ.get("QUERY_STRING", "")
    if "://" in raw.split("?", 1)[0]:  # an absolute form, as a proxy would send it
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path, _, query = raw.partition("?")
    return path or "/", query


def _header(environ: dict, name: str) -> str:
    key = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}.get(
        name, "HTTP_" + name.upper().replace("-", "_"))
    return " ".join(str(environ.get(key, "")).split())


def query_pairs(query: str, decode: bool) -> list[tuple[str, str]]:
    pairs = []
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)) if decode else (name, value))
    return pairs


def _query_forms(raw_query: str, presigned: bool) -> list[str]:
    def drop(pairs):
        return [(k, v) for k, v in pairs if not (presigned and k == "X-Amz-Signature")]

    as_sent = "&".join(f"{k}={v}" for k, v in sorted(drop(query_pairs(raw_query, decode=False))))
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query_pairs(raw_query, decode=True))
    reencoded = "&".join(f"{k}={v}" for k, v in drop(encoded))
    return [as_sent] if as_sent == reencoded else [as_sent, reencoded]
