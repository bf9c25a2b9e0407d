"""The environment a client needs to talk to labcloud: endpoint, region, credentials, SDK quiet."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from labcloud.core import settings
from labcloud.core.constants import REGION
from labcloud.core.credentials import git_environment, user_credentials

_TELEMETRY_OPT_OUT = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def _sdk_config_file() -> str:
    # The SageMaker SDK v2 reports usage to an AWS host unless a config file opts out.
    # In the user's own config folder: on a shared machine nobody else may write the defaults the SDK reads.
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "labcloud"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "sagemaker-config.yaml"
    if not path.exists() or path.read_text() != _TELEMETRY_OPT_OUT:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_TELEMETRY_OPT_OUT)
        os.replace(tmp, path)
    return str(path)


def client_environment(url: str) -> dict[str, str]:
    """The variables that point boto3, the SageMaker SDK, the AWS CLI and git at labcloud, with this user's
    labcloud credentials (git sends them to labcloud's CodeCommit only: http.<url>.extraHeader)."""
    credentials = user_credentials()
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        **git_environment(url, credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": _sdk_config_file(),
        "LABCLOUD_PORT": url.rsplit(":", 1)[-1].rstrip("/"),
    }


# Loggers whose INFO lines only echo labcloud's own set-up or the cell's own code: botocore announcing the
# endpoint URL and the credentials it found in the environment, the SDK announcing the telemetry opt-out
# file, and the SDK's notes of what it creates and deletes (a box of INFO lines under every cell of a lab
# page). Warnings and errors still show.
_SETUP_ECHO_LOGGERS = ("botocore.configprovider", "botocore.credentials", "sagemaker", "sagemaker.config",
                       "sagemaker.telemetry.telemetry_logging")


_CONFIGURED: set[str] = set()  # every labcloud URL this process was pointed at


def labcloud_urls() -> set[str]:
    """The labcloud endpoints of this process: those configure() was given, and the environment's when
    it is labcloud's (client_environment() also sets LABCLOUD_PORT)."""
    urls = set(_CONFIGURED)
    if settings.is_set("LABCLOUD_PORT") and os.environ.get("AWS_ENDPOINT_URL"):
        urls.add(os.environ["AWS_ENDPOINT_URL"].rstrip("/"))
    return urls


def configure(url: str) -> None:
    _CONFIGURED.add(url.rstrip("/"))
    os.environ.update(client_environment(url))
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    for name in _SETUP_ECHO_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
