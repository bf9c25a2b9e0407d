"""labcloud: the course's offline AWS. One local endpoint that speaks the AWS wire protocols and really
runs SageMaker jobs as local processes; every other service is moto, in the same process."""

__version__ = "0.1.0"

ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"

from labcloud.embedded import start, stop  # noqa: E402


def session(**kwargs):
    """A sagemaker.Session bound to labcloud (see labcloud.sdk.LabSession)."""
    from labcloud.sdk import session as _session

    return _session(**kwargs)


__all__ = ["ROLE_ARN", "__version__", "session", "start", "stop"]
