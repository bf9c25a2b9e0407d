"""What a fresh labcloud holds before anyone asks: the execution role the labs pass to SageMaker."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from labcloud.core.constants import ROLE_NAME

_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def ensure_defaults(ctx) -> None:
    iam = ctx.client("iam")
    try:
        iam.get_role(RoleName=ROLE_NAME)
    except ClientError:
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY),
                        Description="The execution role the course's labs pass to SageMaker")
