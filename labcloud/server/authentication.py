"""Who may use this labcloud: requests signed with its user's credentials (core/credentials.py), refused
otherwise with the error AWS's own front doors give, in the request's protocol.

    unsigned                 S3: AccessDenied · query APIs: MissingAuthenticationToken ·
                             JSON APIs: MissingAuthenticationTokenException
    an access key not ours   S3: InvalidAccessKeyId · query: InvalidClientTokenId ·
                             JSON: UnrecognizedClientException
    a wrong signature        S3 and query: SignatureDoesNotMatch · JSON: InvalidSignatureException
    too old (clock skew)     S3: RequestTimeTooSkewed (15 min) · others: InvalidSignatureException (5 min)
    a presigned URL expired  AccessDenied ("Request has expired")

S3's presigned URLs of signature version 2 (boto3's default for S3 in us-east-1) are checked too.

CodeCommit's git over HTTP takes HTTP Basic credentials (the access key id and the secret, which
`labcloud env` and labcloud.start() hand to git), as CodeCommit takes its HTTPS Git credentials. AWS's few
unsigned operations (Cognito's sign-in, STS's AssumeRoleWith*) pass unsigned. A server started with
`--no-auth` (a workshop's shared server) accepts every request, as labcloud did before.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time

from moto.moto_server.werkzeug_app import UNSIGNED_ACTIONS, UNSIGNED_REQUESTS

from labcloud.core.credentials import Credentials
from labcloud.core.errors import AWSError, coded
from labcloud.protocols import sigv2, sigv4
from labcloud.protocols.bodies import read_whole_body

GIT_PATH = "/v1/repos/"
_SKEW = {"s3": dt.timedelta(minutes=15)}
_DEFAULT_SKEW = dt.timedelta(minutes=5)
_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
             "AWS Secret Access Key and signing method. Consult the service documentation for details.")
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")
_SMALL_FORM = 1 << 20  # an unsigned form body is read to find its Action only up to this size


def _error(code: str, status: int, message: str, **headers) -> AWSError:
    err = coded(code, status, message)
    if headers:
        err.headers = headers
    return err


class Authenticator:
    def __init__(self, credentials: Credentials | None):
        self.credentials = credentials  # None: every request is accepted (--no-auth)

    @property
    def open(self) -> bool:
        return self.credentials is None

    def bearer_ok(self, environ: dict) -> bool:
        """Whether the request carries this labcloud's bearer token (or the server is open)."""
        if self.credentials is None:
            return True
        given = environ.get("HTTP_AUTHORIZATION", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip(), self.credentials.token)

    def refusal(self, environ: dict, service_name: str) -> AWSError | None:
        """None if the request (routed to `service_name`) may go on, else the error to answer it with."""
        if self.credentials is None:
            return None
        if service_name == "codecommit" and environ.get("PATH_INFO", "").startswith(GIT_PATH):
            return self._git_refusal(environ)
        family = _family(environ)
        presigned_v2 = sigv2.read_presigned(environ) if family == "s3" else None
        if presigned_v2 is not None:
            return self._v2_refusal(environ, presigned_v2)
        if not sigv4.is_signed(environ):
            if _unsigned_allowed(environ):
                return None
            return {"s3": _error("AccessDenied", 403, "Access Denied"),
                    "query": _error("MissingAuthenticationToken", 403,
                                    "Request is missing Authentication Token"),
                    }.get(family) or _error("MissingAuthenticationTokenException", 403,
                                            "Missing Authentication Token")
        try:
            signed = sigv4.read_signature(environ)
        except sigv4.Malformed as err:
            return _error("AuthorizationHeaderMalformed" if family == "s3" else "IncompleteSignatureException",
                          400, str(err))
        if not hmac.compare_digest(signed.access_key_id, self.credentials.access_key_id):
            return {"s3": _error("InvalidAccessKeyId", 403,
                                 "The AWS Access Key Id you provided does not exist in our records."),
                    "query": _error("InvalidClientTokenId", 403, "The security token included in the request is "
                                    "invalid."),
                    }.get(family) or _error("UnrecognizedClientException", 403,
                                            "The security token included in the request is invalid.")
        late = self._too_old(signed, family)
        if late is not None:
            return late
        wanted = sigv4.expected_signatures(environ, signed, self.credentials.secret_access_key,
                                           lambda: _body_hash(environ))
        if not any(hmac.compare_digest(signed.signature, one) for one in wanted):
            return _error("InvalidSignatureException" if family == "json" else "SignatureDoesNotMatch", 403,
                          _MISMATCH)
        return None

    def _v2_refusal(self, environ: dict, presigned: sigv2.PresignedV2) -> AWSError | None:
        if not hmac.compare_digest(presigned.access_key_id, self.credentials.access_key_id):
            return _error("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
        if time.time() > presigned.expires:
            return _error("AccessDenied", 403, "Request has expired")
        wanted = sigv2.expected_signature(environ, presigned, self.credentials.secret_access_key)
        if not hmac.compare_digest(presigned.signature, wanted):
            return _error("SignatureDoesNotMatch", 403, _MISMATCH)
        return None

    def _too_old(self, signed: sigv4.Signed, family: str) -> AWSError | None:
        now = dt.datetime.now(dt.timezone.utc)
        if signed.presigned:
            if now > signed.timestamp + dt.timedelta(seconds=signed.expires or 0):
                return _error("AccessDenied", 403, "Request has expired")
            return None
        skew = _SKEW.get(signed.service, _DEFAULT_SKEW)
        if abs(now - signed.timestamp) <= skew:
            return None
        if family == "s3":
            return _error("RequestTimeTooSkewed", 403, "The difference between the request time and the current "
                          "time is too large.")
        return _error("InvalidSignatureException", 403,
                      f"Signature expired: {signed.timestamp:%Y%m%dT%H%M%SZ} is now earlier than "
                      f"{now - skew:%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - {int(skew.total_seconds() // 60)} min.)")

    def _git_refusal(self, environ: dict) -> AWSError | None:
        given = environ.get("HTTP_AUTHORIZATION", "")
        if given.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(given[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if (hmac.compare_digest(user, self.credentials.access_key_id)
                    and hmac.compare_digest(password, self.credentials.secret_access_key)):
                return None
        return _error("AccessDenied", 401, "labcloud's CodeCommit needs your labcloud credentials for git: run "
                      "git after labcloud.start() or `eval \"$(labcloud env)\"`.",
                      **{"WWW-Authenticate": 'Basic realm="labcloud CodeCommit"'})


def _family(environ: dict) -> str:
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", "") \
            or environ.get("HTTP_SMITHY_PROTOCOL") or environ.get("PATH_INFO", "").startswith("/endpoints/"):
        return "json"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") \
            or "Action=" in environ.get("QUERY_STRING", ""):
        return "query"
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", "")
                      + " " + environ.get("QUERY_STRING", "").replace("%2F", "/"))
    if scope and scope.group(1) != "s3":
        return "json"  # a REST API (SageMaker Runtime, CodeCommit's JSON): its errors are JSON's
    return "s3"


def _unsigned_allowed(environ: dict) -> bool:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.split(".", 1)[0] in UNSIGNED_REQUESTS
    names = set(re.findall(r"(?:^|&)Action=([A-Za-z]+)", environ.get("QUERY_STRING", "")))
    small = int(environ.get("CONTENT_LENGTH") or 0) <= _SMALL_FORM
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") and small:
        names |= {m.decode() for m in _ACTION.findall(read_whole_body(environ))}  # read once, kept for the service
    return bool(names & set(UNSIGNED_ACTIONS))


def _body_hash(environ: dict) -> str:
    """The body's SHA-256, for a request that declares none."""
    return hashlib.sha256(read_whole_body(environ)).hexdigest()
