"""Service Catalog's paging: PageSize items a page and an opaque PageToken for the rest (NextPageToken);
a token this service did not issue for that operation is an InvalidParametersException."""

from __future__ import annotations

from labcloud.protocols.pagination import decode_token, encode_token
from labcloud.services.servicecatalog.exceptions import InvalidParametersException

DEFAULT_PAGE_SIZE = 20  # PageSize 0 or absent


def _offset(operation: str, token: str) -> int:
    offset = decode_token(token, operation)
    if offset is None:
        raise InvalidParametersException(f"The page token {token!r} is not valid: pass the NextPageToken a "
                                         f"previous {operation} answer returned, unchanged.")
    return offset


def page(items: list, params: dict, operation: str) -> tuple[list, str | None]:
    """(this page of `items`, NextPageToken or None)."""
    start = _offset(operation, params["PageToken"]) if params.get("PageToken") else 0
    size = params.get("PageSize") or DEFAULT_PAGE_SIZE
    end = start + size
    return items[start:end], encode_token(end, operation) if end < len(items) else None
