"""nextToken paging of CodePipeline's List* operations: an opaque token for the rest of the list, and
InvalidNextTokenException for a token this service did not issue for that list."""

from __future__ import annotations

import base64
import json

from labcloud.services.codepipeline.exceptions import InvalidNextTokenException


def page(items: list, params: dict, scope: str, default_max: int = 100) -> tuple[list, str | None]:
    """(this page of `items`, the nextToken or None); `scope` names the list the token belongs to."""
    offset = 0
    if params.get("nextToken"):
        try:
            data = json.loads(base64.urlsafe_b64decode(params["nextToken"].encode()))
            offset = data["offset"] if data.get("scope") == scope and isinstance(data.get("offset"), int) else -1
        except (ValueError, TypeError, KeyError, AttributeError):
            offset = -1
        if offset < 0:
            raise InvalidNextTokenException("The next token was specified in an invalid format. Make sure that the "
                                            "next token you provide is the token returned by a previous call.")
    size = params.get("maxResults") or default_max
    chunk = items[offset:offset + size]
    more = offset + size < len(items)
    token = base64.urlsafe_b64encode(json.dumps({"scope": scope, "offset": offset + size}).encode()).decode()
    return chunk, token if more else None
