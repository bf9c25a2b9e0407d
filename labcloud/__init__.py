"""labcloud: the course's offline AWS. One local endpoint that speaks the AWS wire protocols and really
runs SageMaker jobs as local processes; every other service is moto, in the same process.

The public face is what a notebook uses: `start()`, `stop()`, `session()`, `credentials()` and `ROLE_ARN`.
Everything else
is labcloud's own (see ARCHITECTURE.md)."""

__version__ = "0.1.0"

from labcloud.client.embedded import start, stop
from labcloud.core.constants import ROLE_ARN


def session(**kwargs):
    """A sagemaker.Session bound to labcloud (see labcloud.client.sdk.LabSession)."""
    # Imported here: the SageMaker SDK takes about 2 s to import, and `import labcloud` must stay instant.
    from labcloud.client.sdk import session as _session

    return _session(**kwargs)


def credentials() -> dict[str, str]:
    """This user's labcloud credentials as boto3's keyword arguments, for a client that does not read
    the environment: `localstack_client.session.Session(**labcloud.credentials())`."""
    from labcloud.core.credentials import user_credentials

    return user_credentials().boto3_arguments()


__all__ = ["ROLE_ARN", "__version__", "credentials", "session", "start", "stop"]
