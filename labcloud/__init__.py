"""labcloud: the course's offline AWS. One local endpoint that speaks the AWS wire protocols and really
runs SageMaker jobs as local processes; every other service is moto, in the same process.

The public face is what a notebook uses: `start()`, `stop()`, `session()`, `credentials()`, `kubeconfig()` and `ROLE_ARN`.
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


def kubeconfig(file: str | None = None, namespace: str = "default") -> str:
    """Write a kubeconfig for labcloud's Kubernetes API (context labcloud, current) to `file` (default
    ./kubeconfig) and return its path: `KUBECONFIG=<path> kubectl get trainingjobs`."""
    import os

    from labcloud.client import kubeconfig as _kubeconfig
    from labcloud.core import settings

    url = os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{settings.port()}"
    return str(_kubeconfig.write(file or "kubeconfig", url, namespace).resolve())


__all__ = ["ROLE_ARN", "__version__", "credentials", "kubeconfig", "session", "start", "stop"]
