"""Which local command stands in for a training image.

SageMaker pulls a Docker image; labcloud has no Docker, so an image URI resolves to a local command:

- the framework images the SDK's `SKLearn`, `XGBoost`, `PyTorch` (and `TensorFlow`) estimators name
  (`683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3`, ...) run in
  *script mode* with the server's own Python: the user's script from `sagemaker_submit_directory`;
- any other image is looked up in the image registry, a JSON file mapping an image to the command
  (argv list) that plays its entrypoint. SageMaker starts a training container as `docker run <image>
  train`, so the command gets `train` as its last argument. The registry is `labcloud-images.json` in
  the state directory, or the file named by the environment variable `LABCLOUD_IMAGES`::

      {
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:latest": ["{python}", "/srv/trainer.py"],
        "my-other-trainer": {"command": ["/usr/local/bin/train-it"], "env": {"MODE": "fast"}}
      }

  A key is a whole image URI, `repository:tag`, or a repository name; `{python}` in a command is the
  server's Python interpreter.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labcloud.core.errors import ValidationException
from labcloud.core import settings

REGISTRY_FILE = "labcloud-images.json"
REGISTRY_ENV = "LABCLOUD_IMAGES"

# Repositories of the SageMaker framework containers that run a user script.
FRAMEWORK_REPOSITORIES = {
    "sagemaker-scikit-learn": "scikit-learn",
    "sagemaker-xgboost": "xgboost",
    "pytorch-training": "pytorch",
    "tensorflow-training": "tensorflow",
    "huggingface-pytorch-training": "huggingface",
}
# Repositories of SageMaker built-in algorithms (a few, for a clearer message).
BUILTIN_ALGORITHMS = {"linear-learner", "kmeans", "pca", "factorization-machines", "ntm", "lda",
                      "randomcutforest", "knn", "object2vec", "ipinsights", "blazingtext",
                      "image-classification", "object-detection", "semantic-segmentation",
                      "forecasting-deepar", "seq2seq"}

_ECR = re.compile(r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                  r"(?P<repository>[^:@]+)(?P<tag>[:@].+)?$")


@dataclass
class ImageCommand:
    image: str
    kind: str  # "framework" (script mode with the local Python) or "custom" (registry command)
    framework: str | None = None
    argv: list[str] = field(default_factory=list)  # custom: the entrypoint, without "train"
    env: dict[str, str] = field(default_factory=dict)


def parse_image(image: str) -> tuple[str | None, str, str | None]:
    """(registry account or None, repository, tag or None) of an image URI."""
    match = _ECR.match(image)
    if match:
        tag = match.group("tag")
        return match.group("registry"), match.group("repository"), tag[1:] if tag else None
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return None, name, tag or None


def registry_path(state_dir: Path | None) -> Path | None:
    configured = settings.read(REGISTRY_ENV)
    if configured:
        return configured
    return state_dir / REGISTRY_FILE if state_dir else None


def load_registry(state_dir: Path | None) -> dict:
    path = registry_path(state_dir)
    if path is None or not path.is_file():
        return {}
    try:
        registry = json.loads(path.read_text())
    except ValueError as err:
        raise ValidationException(f"labcloud's image registry {path} is not valid JSON: {err}") from None
    if not isinstance(registry, dict):
        raise ValidationException(f"labcloud's image registry {path} must hold a JSON object.")
    return registry


def _registered(image: str, registry: dict):
    _, repository, tag = parse_image(image)
    short = repository.rsplit("/", 1)[-1]
    for key in (image, f"{repository}:{tag}" if tag else None, repository, short):
        if key and key in registry:
            return registry[key]
    return None


def _command(image: str, entry) -> ImageCommand:
    if isinstance(entry, dict):
        argv, env = entry.get("command"), entry.get("env") or {}
    else:
        argv, env = entry, {}
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise ValidationException(
            f"labcloud's image registry entry for {image} must be a list of strings (the command) or an "
            f'object {{"command": [...], "env": {{...}}}}.')
    argv = [sys.executable if a == "{python}" else a for a in argv]
    return ImageCommand(image, "custom", argv=argv, env={str(k): str(v) for k, v in env.items()})


def resolve(image: str, state_dir: Path | None, account_id: str) -> ImageCommand:
    """The command for `image`, or AWS's ValidationException when the image cannot be found."""
    entry = _registered(image, load_registry(state_dir))
    if entry is not None:
        return _command(image, entry)
    registry_account, repository, _ = parse_image(image)
    short = repository.rsplit("/", 1)[-1]
    if short in FRAMEWORK_REPOSITORIES:
        return ImageCommand(image, "framework", framework=FRAMEWORK_REPOSITORIES[short])
    if short in BUILTIN_ALGORITHMS:
        return ImageCommand(image, "builtin", framework=short)
    where = registry_path(state_dir) or f"the file named by {REGISTRY_ENV}"
    hint = (f" labcloud runs images as local commands: register this one in {where}, e.g. "
            f'{{"{repository}": ["{{python}}", "/path/to/train.py"]}}.')
    if registry_account is None:
        raise ValidationException("Invalid training image. Please provide a valid Amazon Elastic Container "
                                  "Registry path of the Docker image to run." + hint)
    raise ValidationException(
        f"Cannot find repository: {repository} in registry ID: {registry_account} Please check if your ECR "
        f"repository exists and role has proper pull permissions for SageMaker: ecr:BatchCheckLayerAvailability, "
        f"ecr:BatchGetImage, ecr:GetDownloadUrlForLayer." + hint)
