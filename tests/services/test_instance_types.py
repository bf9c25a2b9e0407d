"""Instance types are checked per use, as AWS checks them: training, hosting, processing and transform each
accept their own botocore enum, and a type of another use is AWS's ValidationException with its message.

labcloud adds no rule of its own for this: protocols/validation.py checks every enum of botocore's model, so
these tests pin down that the four lists differ and that each request shape reports the member's path."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

import labcloud
from labcloud.protocols.validation import service_model
from tests.support.hosting import ROLE, SKLEARN_IMAGE

BUCKET = "sagemaker-us-east-1-123456789012"


def enum(shape: str) -> list[str]:
    return service_model("sagemaker").shape_for(shape).enum


def enum_message(value: str, path: str, shape: str) -> str:
    """AWS's words for one enum violation (as in 'Value 't3.small.search' at 'elasticsearchClusterConfig.
    instanceType' failed to satisfy constraint: Member must satisfy enum value set: [...]')."""
    return (f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(enum(shape))}]")


def refused(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response


@pytest.mark.parametrize("instance_type, training, hosting, processing, transform", [
    ("ml.t2.medium", False, True, False, False),  # hosting only
    ("ml.c6g.large", False, True, False, False),  # Graviton: hosting only
    ("ml.p3dn.24xlarge", True, False, False, False),  # training only
    ("ml.p4d.24xlarge", True, True, False, False),  # not for processing (nor transform)
    ("ml.m5.xlarge", True, True, True, True),
    ("ml.g4dn.xlarge", True, True, True, True),
])
def test_the_four_lists_differ_as_botocore_says(instance_type, training, hosting, processing, transform):
    assert (instance_type in enum("TrainingInstanceType"),
            instance_type in enum("ProductionVariantInstanceType"),
            instance_type in enum("ProcessingInstanceType"),
            instance_type in enum("TransformInstanceType")) == (training, hosting, processing, transform)


@pytest.mark.parametrize("instance_type", ["ml.t2.medium", "ml.c6g.large"])
def test_a_hosting_only_type_for_an_sdk_estimator_is_refused(sagemaker_session, tmp_path, instance_type):
    from sagemaker.estimator import Estimator

    estimator = Estimator(image_uri=SKLEARN_IMAGE, role=labcloud.ROLE_ARN, instance_count=1,
                          instance_type=instance_type, sagemaker_session=sagemaker_session,
                          output_path=f"s3://{BUCKET}/tests/instance-types/output")
    with pytest.raises(ClientError) as caught:
        estimator.fit(wait=False)
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert error["Message"] == enum_message(instance_type, "resourceConfig.instanceType", "TrainingInstanceType")


def test_a_training_only_type_for_an_endpoint_config_is_refused(sm):
    response = refused(sm.create_endpoint_config, EndpointConfigName="p3dn-endpoint", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "any-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.p3dn.24xlarge"}])
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == enum_message(
        "ml.p3dn.24xlarge", "productionVariants.1.member.instanceType", "ProductionVariantInstanceType")
    assert refused(sm.describe_endpoint_config, EndpointConfigName="p3dn-endpoint")["Error"]["Code"] == \
        "ValidationException"  # nothing was made


def test_a_type_not_for_processing_is_refused(sm):
    response = refused(sm.create_processing_job, ProcessingJobName="p4d-processing", RoleArn=ROLE,
                       AppSpecification={"ImageUri": SKLEARN_IMAGE},
                       ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.p4d.24xlarge",
                                                              "VolumeSizeInGB": 1}})
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == enum_message(
        "ml.p4d.24xlarge", "processingResources.clusterConfig.instanceType", "ProcessingInstanceType")


def test_a_hosting_only_type_for_a_transform_is_refused(sm):
    response = refused(sm.create_transform_job, TransformJobName="t2-transform", ModelName="any-model",
                       TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                       "S3Uri": f"s3://{BUCKET}/in"}}},
                       TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out"},
                       TransformResources={"InstanceType": "ml.t2.medium", "InstanceCount": 1})
    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == enum_message(
        "ml.t2.medium", "transformResources.instanceType", "TransformInstanceType")


def test_a_pipeline_step_with_a_wrong_type_fails_its_execution_as_aws_words_it(labcloud_server):
    """Steps' requests go through the same validation (JsonService.invoke) as the wire's."""
    import json
    import time

    sm = boto3.client("sagemaker")
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [{
        "Name": "Train", "Type": "Training", "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tests/instance-types/pipeline"},
            "ResourceConfig": {"InstanceType": "ml.t2.medium", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "RoleArn": ROLE, "StoppingCondition": {"MaxRuntimeInSeconds": 60}}}]}
    sm.create_pipeline(PipelineName="wrong-instance-type", RoleArn=ROLE, PipelineDefinition=json.dumps(definition))
    arn = sm.start_pipeline_execution(PipelineName="wrong-instance-type")["PipelineExecutionArn"]
    deadline = time.monotonic() + 30
    while sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert step["StepStatus"] == "Failed"
    # FailureReason keeps the end of a long message (AWS's limit is 1024 characters): the enum list's tail
    assert enum_message("ml.t2.medium", "resourceConfig.instanceType", "TrainingInstanceType")[-300:] in \
        step["FailureReason"]
