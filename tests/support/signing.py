"""Requests made by hand (urllib, raw sockets) signed as boto3 signs them, with this user's labcloud
credentials: labcloud refuses unsigned ones."""

from __future__ import annotations

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from labcloud.core.constants import REGION
from labcloud.core.credentials import user_credentials


def signed_headers(method: str, url: str, body: bytes = b"", headers: dict | None = None,
                   service: str = "sagemaker", secret: str | None = None) -> dict[str, str]:
    """`headers` with X-Amz-Date and the Authorization of a SigV4 signature over the request
    (`secret`: sign with another secret, to see it refused)."""
    mine = user_credentials()
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(mine.access_key_id, secret or mine.secret_access_key), service, REGION).add_auth(request)
    return dict(request.headers.items())


def bearer() -> dict[str, str]:
    """The header of labcloud's own routes (health with pids and paths, status)."""
    return {"Authorization": f"Bearer {user_credentials().token}"}


def signed_request(url: str, data: bytes = b"", method: str = "POST", headers: dict | None = None,
                   service: str = "sagemaker", secret: str | None = None):
    """A urllib Request signed for `service`."""
    import urllib.request

    return urllib.request.Request(url, data=data, method=method,
                                  headers=signed_headers(method, url, data, headers, service, secret))
