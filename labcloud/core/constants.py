"""The facts of the simulated AWS account that every part of labcloud shares."""

from __future__ import annotations

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ROLE_NAME = "SageMakerRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"  # the execution role the labs pass to SageMaker
DEFAULT_BUCKET = f"sagemaker-{REGION}-{ACCOUNT_ID}"  # the SDK's default bucket name for this account

FAILURE_REASON_MAX_CHARS = 1024  # FailureReason holds at most 1024 characters (botocore's model)
CONTAINER_STARTUP_TIMEOUT_SECONDS = 600  # ContainerStartupHealthCheckTimeoutInSeconds when not set


def failure_reason(text: str, cut_marker: str = "") -> str:
    """A FailureReason that fits AWS's limit. The end is kept, where the error is; `cut_marker` (e.g.
    "AlgorithmError: ...") stands in front of a reason that was cut."""
    if len(text) <= FAILURE_REASON_MAX_CHARS:
        return text
    return cut_marker + text[-(FAILURE_REASON_MAX_CHARS - len(cut_marker)):]
