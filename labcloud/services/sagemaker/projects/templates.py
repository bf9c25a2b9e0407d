"""Which template a CreateProject request names, and the parameters its stack gets.

Two spellings, as in AWS's documentation: `TemplateProviders` ([{"CfnTemplateProvider": {TemplateName,
TemplateURL, RoleARN, Parameters}}], the way AWS now recommends; the URL is read from labcloud's S3, so a
learner's own template uploaded there works too) or `ServiceCatalogProvisioningDetails` ({ProductId,
ProvisioningArtifactId, ProvisioningParameters}, the older way, naming a product labcloud's Service
Catalog lists). Either way SageMaker adds the parameters SageMakerProjectName and SageMakerProjectId.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from labcloud.core.constants import ROLE_ARN
from labcloud.core.errors import ValidationException
from labcloud.runtime import project_templates

_S3_URL = (re.compile(r"^https://(?P<bucket>[a-z0-9.-]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com/(?P<key>.+)$"),
           re.compile(r"^https://s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com/(?P<bucket>[a-z0-9.-]+)/(?P<key>.+)$"),
           re.compile(r"^s3://(?P<bucket>[a-z0-9.-]+)/(?P<key>.+)$"))


@dataclass
class ChosenTemplate:
    text: str
    parameters: dict[str, str]  # what the request gave
    provider: str  # "TemplateProviders" or "ServiceCatalog"


class _TagTolerantLoader(yaml.SafeLoader):
    """Reads a template's structure without knowing CloudFormation's short-form tags (!Ref, !Sub, ...)."""


_TagTolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def declared_parameters(text: str) -> set[str]:
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, _TagTolerantLoader)
    except (ValueError, yaml.YAMLError) as err:
        raise ValidationException(f"The project template is not valid YAML or JSON: {err}") from None
    if not isinstance(document, dict):
        raise ValidationException("The project template must be a CloudFormation template (a mapping).")
    return set(document.get("Parameters") or {})


def _read_s3(s3, url: str) -> str:
    for pattern in _S3_URL:
        match = pattern.match(url)
        if match:
            try:
                return s3.get_object(Bucket=match["bucket"], Key=match["key"])["Body"].read().decode()
            except Exception as err:  # noqa: BLE001 - any S3 error means the same to the caller
                raise ValidationException(f"Cannot read the project template at {url}: {err}") from None
    raise ValidationException(f"TemplateURL {url} is not an S3 URL: upload the template to S3 and give its "
                              f"https://<bucket>.s3.<region>.amazonaws.com/<key> URL.")


def choose(params: dict, s3) -> ChosenTemplate:
    providers = params.get("TemplateProviders") or []
    catalog = params.get("ServiceCatalogProvisioningDetails")
    if providers and catalog:
        raise ValidationException("Give either TemplateProviders or ServiceCatalogProvisioningDetails, not both.")
    if providers:
        if len(providers) != 1 or "CfnTemplateProvider" not in providers[0]:
            raise ValidationException("TemplateProviders must hold exactly one CfnTemplateProvider.")
        provider = providers[0]["CfnTemplateProvider"]
        given = {p["Key"]: p.get("Value", "") for p in provider.get("Parameters") or []}
        return ChosenTemplate(_read_s3(s3, provider["TemplateURL"]), given, "TemplateProviders")
    if catalog:
        template = project_templates.by_product(catalog["ProductId"], catalog.get("ProvisioningArtifactId"))
        if template is None:
            raise ValidationException(
                f"Product {catalog['ProductId']} (provisioning artifact {catalog.get('ProvisioningArtifactId')}) "
                f"is not a SageMaker project template this account can use. List the templates with Service "
                f"Catalog's SearchProducts and ListProvisioningArtifacts.")
        given = {p["Key"]: p.get("Value", "") for p in catalog.get("ProvisioningParameters") or []}
        return ChosenTemplate(template.template_text(), given, "ServiceCatalog")
    raise ValidationException("A project needs a template: give TemplateProviders (a CloudFormation template's S3 "
                              "URL) or ServiceCatalogProvisioningDetails (a Service Catalog product).")


def stack_parameters(chosen: ChosenTemplate, name: str, project_id: str, region: str) -> dict[str, str]:
    """The parameters the template declares: SageMaker's own two, labcloud's defaults, then the request's."""
    declared = declared_parameters(chosen.text)
    unknown = sorted(set(chosen.parameters) - declared)
    if unknown:
        raise ValidationException(f"Parameters: {unknown} do not exist in the template")
    defaults = {"SageMakerProjectName": name, "SageMakerProjectId": project_id, "PipelineRoleArn": ROLE_ARN,
                "SeedCodeBucket": project_templates.seed_bucket(region)}
    values = {k: v for k, v in defaults.items() if k in declared}
    values.update(chosen.parameters)
    return values
