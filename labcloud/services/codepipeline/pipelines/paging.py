"""nextToken paging of CodePipeline's List* operations: an opaque token for the rest of the list, and
InvalidNextTokenException for a token this service did not issue for that list."""

from __future__ import annotations

from labcloud.protocols.pagination import decode_token, encode_token
from labcloud.services.codepipeline.exceptions import InvalidNextTokenException


def page(items: list, params: dict, scope: str, default_max: int = 100) -> tuple[list, str | None]:
    """(this page of `items`, the nextToken or None); `scope` names the list the token belongs to."""
    offset = 0
    if params.get("nextToken"):
        offset = decode_token(params["nextToken"], scope)
        if offset is None:
            raise InvalidNextTokenException("The next token was specified in an invalid format. Make sure that the "
                                            "next token you provide is the token returned by a previous call.")
    size = params.get("maxResults") or default_max
    chunk = items[offset:offset + size]
    more = offset + size < len(items)
    return chunk, encode_token(offset + size, scope) if more else None
