"""A request made without boto3 (urllib, a raw socket) signed as boto3 signs one, with this user's labcloud
credentials: labcloud refuses unsigned requests."""

from __future__ import annotations

from labcloud.core.constants import REGION
from labcloud.core.credentials import Credentials, user_credentials


def signed_headers(method: str, url: str, body: bytes = b"", headers: dict | None = None,
                   service: str = "sagemaker", credentials: Credentials | None = None) -> dict[str, str]:
    """`headers` with X-Amz-Date and the Authorization of a SigV4 signature over the request."""
    from botocore.auth import SigV4Auth  # (botocore only when something is signed: `import labcloud` stays quick)
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotocoreCredentials

    mine = credentials or user_credentials()
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(BotocoreCredentials(mine.access_key_id, mine.secret_access_key), service, REGION).add_auth(request)
    return dict(request.headers.items())
