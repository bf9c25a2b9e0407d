"""The one place ARNs are built."""

from __future__ import annotations


def arn(service: str, resource: str, region: str, account_id: str) -> str:
    """arn:aws:<service>:<region>:<account>:<resource>, e.g. resource 'training-job/my-job'."""
    return f"arn:aws:{service}:{region}:{account_id}:{resource}"


def sagemaker_arn(resource_type: str, name: str, region: str, account_id: str) -> str:
    # SageMaker lower-cases resource names in its ARNs.
    return arn("sagemaker", f"{resource_type}/{name.lower()}", region, account_id)
