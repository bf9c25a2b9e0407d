"""Service Catalog's paging: PageSize items a page and an opaque PageToken for the rest (NextPageToken);
a token this service did not issue for that operation is an InvalidParametersException."""

from __future__ import annotations

import base64
import json

from labcloud.services.servicecatalog.exceptions import InvalidParametersException

DEFAULT_PAGE_SIZE = 20  # PageSize 0 or absent


def _token(operation: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"op": operation, "offset": offset}).encode()).decode()


def _offset(operation: str, token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data.get("op") == operation and isinstance(data.get("offset"), int) and data["offset"] >= 0:
            return data["offset"]
    except (ValueError, TypeError, AttributeError):
        pass
    raise InvalidParametersException(f"The page token {token!r} is not valid: pass the NextPageToken a previous "
                                     f"{operation} answer returned, unchanged.")


def page(items: list, params: dict, operation: str) -> tuple[list, str | None]:
    """(this page of `items`, NextPageToken or None)."""
    start = _offset(operation, params["PageToken"]) if params.get("PageToken") else 0
    size = params.get("PageSize") or DEFAULT_PAGE_SIZE
    end = start + size
    return items[start:end], _token(operation, end) if end < len(items) else None
