"""CodeBuild's list pagination: up to 100 names or ids a page, an opaque nextToken for the rest."""

from __future__ import annotations

from labcloud.core.errors import ValidationException
from labcloud.protocols.pagination import paginate
from labcloud.services.codebuild.exceptions import InvalidInputException

PAGE_SIZE = 100


def page(items: list, params: dict, operation: str, result_key: str) -> dict:
    """{result_key: this page, "nextToken": ... when there is more}."""
    try:
        items, token = paginate(items, {"NextToken": params.get("nextToken"), "MaxResults": PAGE_SIZE},
                                operation)
    except ValidationException:
        raise InvalidInputException(f"Invalid nextToken: pass the nextToken a previous {operation} response "
                                    f"returned, unchanged.") from None
    result = {result_key: items}
    if token:
        result["nextToken"] = token
    return result
