"""The project templates labcloud ships, and how a CreateProject request picks one and its parameters."""

from __future__ import annotations

import io
import zipfile

import pytest

from labcloud.core.errors import ValidationException
from labcloud.runtime import project_templates
from labcloud.runtime.project_templates import MLOPS_BUILD_DEPLOY
from labcloud.services.sagemaker.projects import templates


class FakeS3:
    def __init__(self, objects):
        self.objects = objects

    def get_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise KeyError(f"NoSuchKey {Bucket}/{Key}")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)].encode())}


def test_the_seed_zips_hold_each_repository_and_are_the_same_bytes_every_time():
    build = zipfile.ZipFile(io.BytesIO(MLOPS_BUILD_DEPLOY.seed_zip("modelbuild")))
    assert {"buildspec.yml", "pipelines/pipeline.py", "pipelines/run_pipeline.py", "data/churn.csv"} <= set(build.namelist())
    deploy = zipfile.ZipFile(io.BytesIO(MLOPS_BUILD_DEPLOY.seed_zip("modeldeploy")))
    assert {"buildspec.yml", "build.py", "endpoint-config-template.yml", "test/test.py"} <= set(deploy.namelist())
    assert MLOPS_BUILD_DEPLOY.seed_zip("modelbuild") == MLOPS_BUILD_DEPLOY.seed_zip("modelbuild")


def test_a_template_url_and_a_service_catalog_product_name_the_same_template():
    url = project_templates.template_url(MLOPS_BUILD_DEPLOY, "us-east-1")
    s3 = FakeS3({("sagemaker-servicecatalog-seedcode-us-east-1", MLOPS_BUILD_DEPLOY.template_key()):
                 MLOPS_BUILD_DEPLOY.template_text()})
    by_url = templates.choose({"TemplateProviders": [{"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": url}}]}, s3)
    by_product = templates.choose({"ServiceCatalogProvisioningDetails": {
        "ProductId": MLOPS_BUILD_DEPLOY.product_id, "ProvisioningArtifactId": MLOPS_BUILD_DEPLOY.provisioning_artifact_id}}, s3)
    assert by_url.text == by_product.text == MLOPS_BUILD_DEPLOY.template_text()
    parameters = templates.stack_parameters(by_url, "churn", "p-abc", "us-east-1")
    assert parameters["SageMakerProjectName"] == "churn" and parameters["SageMakerProjectId"] == "p-abc"
    assert parameters["SeedCodeBucket"] == "sagemaker-servicecatalog-seedcode-us-east-1"


@pytest.mark.parametrize("request_, culprit", [
    ({}, "needs a template"),
    ({"TemplateProviders": [{"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": "http://example.com/t.yml"}}]},
     "not an S3 URL"),
    ({"TemplateProviders": [{"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": "s3://nowhere/t.yml"}}]},
     "Cannot read the project template at s3://nowhere/t.yml"),
    ({"ServiceCatalogProvisioningDetails": {"ProductId": "prod-unknown"}}, "prod-unknown"),
])
def test_a_request_without_a_usable_template_is_refused_naming_what_is_wrong(request_, culprit):
    with pytest.raises(ValidationException) as raised:
        templates.choose(request_, FakeS3({}))
    assert culprit in str(raised.value)


def test_a_parameter_the_template_does_not_declare_is_refused():
    chosen = templates.ChosenTemplate(MLOPS_BUILD_DEPLOY.template_text(), {"Colour": "blue"}, "TemplateProviders")
    with pytest.raises(ValidationException) as raised:
        templates.stack_parameters(chosen, "churn", "p-abc", "us-east-1")
    assert "['Colour'] do not exist in the template" in str(raised.value)
