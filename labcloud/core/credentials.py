"""The credentials labcloud issues to the user who runs it, kept private in the user's config folder.

A labcloud server accepts only requests signed (SigV4) with its user's credentials, so that on a shared
workshop machine another user cannot reach it through 127.0.0.1. Clients of the same user read the same
file: `labcloud.start()`, `labcloud env`, the processes labcloud starts (jobs, builds). The file is made
on first use, readable by its owner only (0600, in a 0700 folder).

The access key id has AWS's shape (20 upper-case characters, here starting LKIA so it can never be
mistaken for a real AKIA key); the secret is 40 characters. The bearer token, for what does not speak
SigV4 (labcloud's own status route, a kubeconfig), is derived from the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

FILE = "credentials.json"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "/+"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    @property
    def token(self) -> str:
        """A bearer token for routes and clients without SigV4 (Authorization: Bearer <token>)."""
        return "lc1." + hmac.new(self.secret_access_key.encode(), b"labcloud bearer token",
                                 hashlib.sha256).hexdigest()

    @property
    def bearer_authorization(self) -> str:
        """The Authorization header value of labcloud's own routes (health with pids and paths, status)."""
        return f"Bearer {self.token}"

    @property
    def basic_authorization(self) -> str:
        """The HTTP Basic header value git sends to labcloud's CodeCommit (its HTTPS Git credentials)."""
        pair = f"{self.access_key_id}:{self.secret_access_key}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def boto3_arguments(self) -> dict[str, str]:
        """Keyword arguments for boto3.Session, a boto3 client or localstack_client's Session."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}


def git_environment(url: str, credentials: Credentials | None = None) -> dict[str, str]:
    """Variables that make git send the credentials to labcloud at `url` (and nowhere else):
    http.<url>/.extraHeader, set through git's GIT_CONFIG_COUNT/KEY/VALUE environment."""
    credentials = credentials or user_credentials()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{url.rstrip('/')}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: {credentials.basic_authorization}"}


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "labcloud"


def issue() -> Credentials:
    return Credentials("LKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
                       "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40)))


def user_credentials(folder: Path | None = None) -> Credentials:
    """This user's credentials, issued and saved on first use."""
    folder = folder or config_dir()
    path = folder / FILE
    found = _read(path)
    if found is not None:
        return found
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = issue()
    tmp = folder / f".{FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"aws_access_key_id": made.access_key_id, "aws_secret_access_key": made.secret_access_key}, f)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # the first process to save wins; the others read what it saved
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    found = _read(path)
    if found is None:
        raise RuntimeError(f"labcloud could not read the credentials it saved in {path}; delete the file "
                           "and try again")
    return found


def _read(path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text())
        return Credentials(str(data["aws_access_key_id"]), str(data["aws_secret_access_key"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise RuntimeError(f"labcloud's credentials file {path} is unreadable ({err}); delete it and labcloud "
                           "issues new credentials") from None
