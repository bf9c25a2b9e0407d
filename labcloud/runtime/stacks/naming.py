"""Names CloudFormation makes for resources a template leaves unnamed: <stack>-<logical id>-<random>,
the first two shortened to fit the service's limit."""

from __future__ import annotations

import re
import secrets
import string
import uuid

_RANDOM_LENGTH = 12
_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]*")


def generated_name(stack_name: str, logical_id: str, max_length: int, lowercase: bool = False) -> str:
    alphabet = (string.ascii_lowercase if lowercase else string.ascii_uppercase) + string.digits
    suffix = "".join(secrets.choice(alphabet) for _ in range(_RANDOM_LENGTH))
    room = max_length - len(suffix) - 2  # two hyphens
    logical_part = logical_id[:max(room // 2, room - len(stack_name))]
    stack_part = stack_name[:room - len(logical_part)]
    name = "-".join(p.strip("-") for p in (stack_part, logical_part, suffix) if p.strip("-"))
    name = re.sub(r"-{2,}", "-", name)
    return name.lower() if lowercase else name


def check_stack_name(stack_name) -> None:
    from labcloud.runtime.stacks.errors import StackError

    if not isinstance(stack_name, str) or not _STACK_NAME.fullmatch(stack_name) or len(stack_name) > 128:
        raise StackError(f"1 validation error detected: Value '{stack_name}' at 'stackName' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]* "
                         "and have length less than or equal to 128")


def stack_id(stack_name: str, region: str, account_id: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid4()}"


def random_id(prefix: str, length: int) -> str:
    """An id like IAM's role ids (AROA + 17 upper-case letters and digits)."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length - len(prefix)))
