"""Kubeconfigs that point kubectl and the `kubernetes` Python client at labcloud's Kubernetes API:

    cluster  labcloud   server https://127.0.0.1:<port>/k8s, certificate-authority-data: labcloud's CA
    user     labcloud   token: this user's labcloud token (core/credentials.py)
    context  labcloud   cluster labcloud, user labcloud, namespace default

`merge` adds (or replaces) these three entries in an existing kubeconfig and leaves every other cluster,
user and context as it was; it makes labcloud the current context only when the file had none, so a
learner's work cluster stays current (`kubectl --context labcloud`, or `kubectl config use-context
labcloud`). `write` makes a file whose current context is labcloud. Files are written 0600: they carry
the token.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from labcloud.core.credentials import user_credentials
from labcloud.core.tls import certificates

NAME = "labcloud"
PATH_PREFIX = "/k8s"


def api_url(endpoint_url: str) -> str:
    """The Kubernetes API's URL of the labcloud at `endpoint_url` (HTTPS on the same port)."""
    parts = urlsplit(endpoint_url)
    return f"https://{parts.hostname or '127.0.0.1'}:{parts.port or 4566}{PATH_PREFIX}"


def entries(endpoint_url: str, namespace: str = "default") -> dict:
    ca = base64.b64encode(certificates().ca_pem()).decode()
    return {
        "cluster": {"name": NAME, "cluster": {"server": api_url(endpoint_url), "certificate-authority-data": ca}},
        "user": {"name": NAME, "user": {"token": user_credentials().token}},
        "context": {"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": namespace}},
    }


def document(endpoint_url: str, namespace: str = "default") -> dict:
    parts = entries(endpoint_url, namespace)
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [parts["cluster"]],
            "users": [parts["user"]], "contexts": [parts["context"]], "current-context": NAME}


def default_path() -> Path:
    """Where kubectl reads its configuration: the first file of $KUBECONFIG, else ~/.kube/config."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return Path(listed[0]).expanduser() if listed else Path.home() / ".kube" / "config"


def write(path: str | os.PathLike, endpoint_url: str, namespace: str = "default") -> Path:
    path = Path(path).expanduser()
    _save(path, document(endpoint_url, namespace))
    return path


def merge(path: str | os.PathLike, endpoint_url: str, namespace: str = "default") -> Path:
    path = Path(path).expanduser()
    try:
        current = yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not a kubeconfig labcloud can read ({err}); fix it, or write a separate one "
                         "with `labcloud kubeconfig --file PATH`") from None
    config = current if isinstance(current, dict) else {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    parts = entries(endpoint_url, namespace)
    for section, entry in (("clusters", parts["cluster"]), ("users", parts["user"]), ("contexts", parts["context"])):
        kept = [e for e in (config.get(section) or []) if not (isinstance(e, dict) and e.get("name") == NAME)]
        config[section] = kept + [entry]
    if not config.get("current-context"):
        config["current-context"] = NAME
    _save(path, config)
    return path


def _save(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(tmp, path)
