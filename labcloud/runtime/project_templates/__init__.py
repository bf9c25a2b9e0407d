"""The SageMaker project templates labcloud ships: each a CloudFormation-style template and the seed code
of the repositories it makes.

labcloud publishes them, as AWS publishes its own, in the seed-code bucket
`sagemaker-servicecatalog-seedcode-<region>`: the template at `templates/<key>.yml` and each repository's
seed as a zip under `toolchain/`. A project names a template either by that S3 URL (CreateProject's
`TemplateProviders`, the way AWS now recommends) or by its Service Catalog product and provisioning
artifact (the older way); both find the same `ProjectTemplate` here.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # zip entries get one date, so the same seed makes the same bytes


@dataclass(frozen=True)
class ProjectTemplate:
    name: str  # the product's name, as SageMaker Studio lists it
    description: str
    folder: str  # under this package: template.yml and seedcode/<repository>/
    product_id: str  # Service Catalog
    provisioning_artifact_id: str
    seed_keys: tuple[tuple[str, str], ...]  # (seedcode folder, S3 key of its zip)

    def template_key(self) -> str:
        return f"templates/{self.folder}.yml"

    def template_text(self) -> str:
        return (HERE / self.folder / "template.yml").read_text()

    def seed_zip(self, repository: str) -> bytes:
        """The seed code of one repository as a zip (files only, sorted, with fixed dates)."""
        root = HERE / self.folder / "seedcode" / repository
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _FIXED_TIME)
                info.external_attr = (0o755 if path.suffix == ".sh" else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        return buffer.getvalue()


MLOPS_BUILD_DEPLOY = ProjectTemplate(
    name="MLOps template for model building, training, and deployment",
    description=("Build, train and register models with a SageMaker pipeline on every push to a CodeCommit "
                 "repository, and deploy approved models to staging and, after a manual approval, to production."),
    folder="mlops_build_deploy",
    product_id="prod-labcloudmlops1",
    provisioning_artifact_id="pa-labcloudmlops1v1",
    seed_keys=(("modelbuild", "toolchain/model-building-workflow-v1.0.zip"),
               ("modeldeploy", "toolchain/model-deployment-v1.0.zip")),
)
TEMPLATES = (MLOPS_BUILD_DEPLOY,)


def seed_bucket(region: str) -> str:
    return f"sagemaker-servicecatalog-seedcode-{region}"


def template_url(template: ProjectTemplate, region: str) -> str:
    return f"https://{seed_bucket(region)}.s3.{region}.amazonaws.com/{template.template_key()}"


def publish(s3, region: str) -> None:
    """Put every template and its seed zips in the seed-code bucket (again at every start: a newer labcloud
    brings newer seed code)."""
    bucket = seed_bucket(region)
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - missing: make it
        s3.create_bucket(Bucket=bucket)
    for template in TEMPLATES:
        s3.put_object(Bucket=bucket, Key=template.template_key(), Body=template.template_text().encode())
        for folder, key in template.seed_keys:
            s3.put_object(Bucket=bucket, Key=key, Body=template.seed_zip(folder))


def by_product(product_id: str, artifact_id: str | None) -> ProjectTemplate | None:
    for template in TEMPLATES:
        if template.product_id == product_id and artifact_id in (None, template.provisioning_artifact_id):
            return template
    return None
