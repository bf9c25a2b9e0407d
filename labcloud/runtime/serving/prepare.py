"""Before a model server starts: what CreateModel said about each container, and its folders laid out.

    ContainerSpec      what CreateModel said about one container (image, model data, environment)
    container_specs    the containers of a DescribeModel record, in pipeline order
    prepare_containers download and extract each model.tar.gz (and code tarball) into the container's folder
"""

from __future__ import annotations

import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from labcloud.runtime.s3_transfer import DownloadError, download_archive
from labcloud.runtime.serving.errors import StartupFailed
from labcloud.runtime.serving.handlers import framework_for


@dataclass
class ContainerSpec:
    hostname: str
    image: str = ""
    model_data_url: str | None = None
    environment: dict = field(default_factory=dict)

    @classmethod
    def from_definition(cls, definition: dict, hostname: str) -> "ContainerSpec":
        return cls(hostname=definition.get("ContainerHostname") or hostname, image=definition.get("Image", ""),
                   model_data_url=definition.get("ModelDataUrl")
                   or definition.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri"),
                   environment=dict(definition.get("Environment") or {}))


def container_specs(model: dict) -> list[ContainerSpec]:
    """The containers of a DescribeModel record, in pipeline order."""
    if model.get("Containers"):
        return [ContainerSpec.from_definition(c, f"container-{i + 1}") for i, c in enumerate(model["Containers"])]
    return [ContainerSpec.from_definition(model["PrimaryContainer"], "primary")]


def _download_and_extract(s3, url: str, target: Path) -> None:
    try:
        download_archive(s3, url, target)
    except DownloadError as err:
        raise StartupFailed(f"Could not download {url}: {err}. Check that the object exists and that "
                            "ModelDataUrl points to a model.tar.gz.") from None
    except tarfile.TarError:
        # Not an archive: SageMaker would fail too.
        raise StartupFailed(f"{url} is not a gzip-compressed tar archive; ModelDataUrl must point to a "
                            "model.tar.gz.") from None


def prepare_containers(s3, specs: list[ContainerSpec], root: Path) -> list[dict]:
    """Lay out each container's /opt/ml/model and code folder; returns the settings each process needs."""
    prepared = []
    for spec in specs:
        folder = root / spec.hostname
        shutil.rmtree(folder, ignore_errors=True)
        model_dir = folder / "model"
        model_dir.mkdir(parents=True)
        if spec.model_data_url:
            _download_and_extract(s3, spec.model_data_url, model_dir)
        env = dict(spec.environment)
        submit = env.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        if submit.startswith("s3://"):
            code_dir = folder / "code"
            _download_and_extract(s3, submit, code_dir)
            submit = str(code_dir)
        elif submit.startswith("/opt/ml/model"):
            submit = str(model_dir) + submit[len("/opt/ml/model"):]
        elif not submit and env.get("SAGEMAKER_PROGRAM") and (model_dir / "code").is_dir():
            submit = str(model_dir / "code")
        env["SAGEMAKER_SUBMIT_DIRECTORY"] = submit
        env["SM_MODEL_DIR"] = str(model_dir)
        env["LABCLOUD_FRAMEWORK"] = framework_for(spec.image, str(model_dir))
        prepared.append({"spec": spec, "folder": folder, "env": env})
    return prepared
