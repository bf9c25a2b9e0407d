"""NextToken pagination as SageMaker's List* operations do it: MaxResults items a page, an opaque
token for the rest, ValidationException for a token the service did not issue."""

from __future__ import annotations

import base64
import json

from labcloud.aws_errors import ValidationException


def _encode(offset: int, operation: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"op": operation, "offset": offset}).encode()).decode()


def _decode(token: str, operation: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data.get("op") == operation and isinstance(data.get("offset"), int) and data["offset"] >= 0:
            return data["offset"]
    except (ValueError, TypeError, AttributeError):
        pass
    raise ValidationException(f"Invalid pagination token {token!r}: pass the NextToken a previous {operation} "
                              f"response returned, unchanged.")


def paginate(items: list, params: dict, operation: str, default_max: int = 10) -> tuple[list, str | None]:
    """(this page's items, NextToken or None) for the already filtered and sorted `items`."""
    offset = _decode(params["NextToken"], operation) if params.get("NextToken") else 0
    size = params.get("MaxResults") or default_max
    page = items[offset:offset + size]
    more = offset + size < len(items)
    return page, _encode(offset + size, operation) if more else None
