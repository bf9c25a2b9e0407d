"""Requests made by hand (urllib, raw sockets) signed as boto3 signs them, with this user's labcloud
credentials: labcloud refuses unsigned ones. The signing is labcloud's own (labcloud.client.signing)."""

from __future__ import annotations

import urllib.request

from labcloud.client.signing import signed_headers
from labcloud.core.credentials import user_credentials

__all__ = ["bearer", "signed_headers", "signed_request"]


def bearer() -> dict[str, str]:
    """The header of labcloud's own routes (health with pids and paths, status)."""
    return {"Authorization": user_credentials().bearer_authorization}


def signed_request(url: str, data: bytes = b"", method: str = "POST", headers: dict | None = None,
                   service: str = "sagemaker") -> urllib.request.Request:
    """A urllib Request signed for `service`."""
    return urllib.request.Request(url, data=data, method=method,
                                  headers=signed_headers(method, url, data, headers, service))
