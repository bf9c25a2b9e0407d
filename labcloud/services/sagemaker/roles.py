"""The execution role a job runs as: SageMaker assumes it when the job is created, so a role that does not
exist in this account's IAM, or whose trust policy does not let sagemaker.amazonaws.com assume it, is
refused then, with SageMaker's own words."""

from __future__ import annotations

import json
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from labcloud.core.errors import ValidationException

PRINCIPAL = "sagemaker.amazonaws.com"


def check_assumable(ctx, role_arn: str) -> None:
    refusal = ValidationException(f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                                  f"principal '{PRINCIPAL}' to assume the role.")
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[4] != ctx.account_id or not parts[5].startswith("role/"):
        raise refusal
    name = parts[5].rsplit("/", 1)[-1]
    try:
        role = ctx.client("iam").get_role(RoleName=name)["Role"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            raise refusal from None
        return  # IAM could not answer: the job is not refused for labcloud's own fault
    except BotoCoreError:
        return
    if not _trusts(role.get("AssumeRolePolicyDocument"), PRINCIPAL):
        raise refusal


def _trusts(document, service: str) -> bool:
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return True  # a policy labcloud cannot read is not held against the job
    if not isinstance(document, dict):
        return True
    statements = document.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if principal == "*" or service in ([services] if isinstance(services, str) else services):
            return True
    return False
