"""SageMaker's List* operations: their filters (NameContains, creation and modification times,
StatusEquals), SortBy/SortOrder, and NextToken pagination: MaxResults items a page, an opaque token for
the rest, ValidationException for a token the service did not issue."""

from __future__ import annotations

import base64
import datetime as dt
import json

from labcloud.core.errors import ValidationException


def encode_token(offset: int, operation: str) -> str:
    """An opaque page token: where the next page of `operation` starts."""
    return base64.urlsafe_b64encode(json.dumps({"op": operation, "offset": offset}).encode()).decode()


def decode_token(token: str, operation: str) -> int | None:
    """The offset an encode_token() token of `operation` holds, or None for a token this server did not issue
    for it (each service raises its own error)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data.get("op") == operation and isinstance(data.get("offset"), int) and data["offset"] >= 0:
            return data["offset"]
    except (ValueError, TypeError, AttributeError):
        pass
    return None


def _decode(token: str, operation: str) -> int:
    offset = decode_token(token, operation)
    if offset is None:
        raise ValidationException(f"Invalid pagination token {token!r}: pass the NextToken a previous {operation} "
                                  f"response returned, unchanged.")
    return offset


def paginate(items: list, params: dict, operation: str, default_max: int = 10) -> tuple[list, str | None]:
    """(this page's items, NextToken or None) for the already filtered and sorted `items`."""
    offset = _decode(params["NextToken"], operation) if params.get("NextToken") else 0
    size = params.get("MaxResults") or default_max
    page = items[offset:offset + size]
    more = offset + size < len(items)
    return page, encode_token(offset + size, operation) if more else None


def timestamp(value) -> dt.datetime:
    """A request's timestamp (epoch seconds, or ISO 8601 as validation also accepts) as an aware datetime."""
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


_TIME_FILTERS = (("CreationTimeAfter", "CreationTime", lambda t, v: t > v),
                 ("CreationTimeBefore", "CreationTime", lambda t, v: t < v),
                 ("LastModifiedTimeAfter", "LastModifiedTime", lambda t, v: t > v),
                 ("LastModifiedTimeBefore", "LastModifiedTime", lambda t, v: t < v))


def list_page(records: list[dict], params: dict, operation: str, *, name_key: str, result_key: str,
              fields: list[str], status_key: str | None = None, default_max: int = 10) -> dict:
    """The response of a List* operation over `records`: filtered, sorted, one page of `fields` each."""
    items = list(records)
    if params.get("NameContains"):
        items = [r for r in items if params["NameContains"].lower() in r[name_key].lower()]
    for key, field, keep in _TIME_FILTERS:
        if params.get(key) is not None:
            bound = timestamp(params[key])
            items = [r for r in items if r.get(field) is not None and keep(r[field], bound)]
    if status_key and params.get("StatusEquals"):
        items = [r for r in items if r.get(status_key) == params["StatusEquals"]]
    sort_by = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key}.get(
        params.get("SortBy") or "CreationTime") or "CreationTime"
    items.sort(key=lambda r: r.get(sort_by) or "", reverse=(params.get("SortOrder") or "Descending") == "Descending")
    page, token = paginate(items, params, operation, default_max)
    result = {result_key: [{k: r[k] for k in fields if k in r} for r in page]}
    if token:
        result["NextToken"] = token
    return result
