"""A shipped project template seen as a Service Catalog product, in the shapes the API returns.

Each template (labcloud.runtime.project_templates.TEMPLATES) is one product with one provisioning
artifact (version v1.0), shared, as SageMaker shares its own, through one portfolio. Nothing here is
stored: the products are what this labcloud ships, the same after every restart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import yaml

from labcloud.core.arns import arn
from labcloud.runtime.project_templates import ProjectTemplate, template_url

OWNER = "Amazon SageMaker"
PRODUCT_TYPE = "CLOUD_FORMATION_TEMPLATE"
ARTIFACT_NAME = "v1.0"  # one version per template, as the seed-code zips are named
PUBLISHED = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)  # the date the templates' seed zips carry
SUPPORT_URL = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-projects-templates-sm.html"
# SageMaker Studio lists a product as a project template only when it carries this tag.
STUDIO_VISIBILITY = {"Key": "sagemaker:studio-visibility", "Value": "true"}


@dataclass(frozen=True)
class Portfolio:
    id: str
    name: str
    description: str

    def launch_path(self) -> dict:
        return {"Id": self.id, "Name": self.name}

    def launch_path_summary(self) -> dict:
        return {"Id": self.id, "Name": self.name, "Tags": [],
                "ConstraintSummaries": [{"Type": "LAUNCH", "Description": (
                    "Launched with the role AmazonSageMakerServiceCatalogProductsLaunchRole (labcloud does not "
                    "enforce IAM)")}]}


PORTFOLIO = Portfolio(id="port-labcloudsagemaker", name="Amazon SageMaker Solutions and ML Ops products",
                      description="The SageMaker project templates labcloud ships.")


@dataclass(frozen=True)
class Product:
    template: ProjectTemplate
    region: str
    account_id: str

    @property
    def id(self) -> str:
        return self.template.product_id

    @property
    def name(self) -> str:
        return self.template.name

    @property
    def view_id(self) -> str:
        return "prodview-" + self.id.removeprefix("prod-")

    @property
    def artifact_id(self) -> str:
        return self.template.provisioning_artifact_id

    @property
    def arn(self) -> str:
        return arn("catalog", f"product/{self.id}", self.region, self.account_id)

    def searchable_text(self) -> str:
        return " ".join((self.name, self.template.description, OWNER, self.id)).lower()

    # --- products ---

    def summary(self) -> dict:
        """ProductViewSummary."""
        return {"Id": self.view_id, "ProductId": self.id, "Name": self.name, "Owner": OWNER,
                "ShortDescription": self.template.description, "Type": PRODUCT_TYPE, "Distributor": OWNER,
                "HasDefaultPath": True, "SupportUrl": SUPPORT_URL,
                "SupportDescription": "See the SageMaker Developer Guide on MLOps project templates."}

    def detail(self) -> dict:
        """ProductViewDetail (the administrator's view)."""
        return {"ProductViewSummary": self.summary(), "Status": "AVAILABLE", "ProductARN": self.arn,
                "CreatedTime": PUBLISHED}

    def tags(self) -> list[dict]:
        return [dict(STUDIO_VISIBILITY)]

    # --- its provisioning artifact ---

    def artifact_description(self) -> str:
        return f"Version {ARTIFACT_NAME.removeprefix('v')} of {self.name}."

    def artifact(self) -> dict:
        """ProvisioningArtifact (DescribeProduct)."""
        return {"Id": self.artifact_id, "Name": ARTIFACT_NAME, "Description": self.artifact_description(),
                "CreatedTime": PUBLISHED, "Guidance": "DEFAULT"}

    def artifact_summary(self) -> dict:
        """ProvisioningArtifactSummary (DescribeProductAsAdmin)."""
        return {"Id": self.artifact_id, "Name": ARTIFACT_NAME, "Description": self.artifact_description(),
                "CreatedTime": PUBLISHED}

    def artifact_detail(self) -> dict:
        """ProvisioningArtifactDetail (ListProvisioningArtifacts, DescribeProvisioningArtifact)."""
        return {"Id": self.artifact_id, "Name": ARTIFACT_NAME, "Description": self.artifact_description(),
                "Type": PRODUCT_TYPE, "CreatedTime": PUBLISHED, "Active": True, "Guidance": "DEFAULT"}

    def template_url(self) -> str:
        return template_url(self.template, self.region)

    def parameters(self) -> list[dict]:
        """ProvisioningArtifactParameters: what the template's Parameters section declares."""
        declared = yaml.load(self.template.template_text(), _TemplateLoader).get("Parameters") or {}
        out = []
        for key, spec in declared.items():
            spec = spec or {}
            parameter = {"ParameterKey": key, "ParameterType": str(spec.get("Type", "String")),
                         "IsNoEcho": bool(spec.get("NoEcho", False)), "Description": str(spec.get("Description", "")),
                         "ParameterConstraints": {"AllowedValues": [str(v) for v in spec.get("AllowedValues") or []]}}
            if "Default" in spec:
                parameter["DefaultValue"] = str(spec["Default"])
            if "AllowedPattern" in spec:
                parameter["ParameterConstraints"]["AllowedPattern"] = str(spec["AllowedPattern"])
            out.append(parameter)
        return out


class _TemplateLoader(yaml.SafeLoader):
    """Reads a CloudFormation template's sections without resolving its short-form tags (!Ref, !Sub, ...)."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
