"""Template properties as API parameters, driven by botocore's model: member names by the shape
(camelCase where the API is), map keys as they are, scalars as the member's type."""

from __future__ import annotations

from labcloud.runtime.stacks.api_shapes import operation_params, shape_value


def test_codebuild_s_camel_case_members():
    properties = {
        "Name": "p", "ServiceRole": "arn:role", "TimeoutInMinutes": "30",
        "Source": {"Type": "CODEPIPELINE", "BuildSpec": "buildspec.yml"},
        "Artifacts": {"Type": "CODEPIPELINE"},
        "Environment": {"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL", "Image": "img",
                        "PrivilegedMode": "false",
                        "EnvironmentVariables": [{"Name": "A", "Value": 1, "Type": "PLAINTEXT"}]},
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    assert operation_params("codebuild", "CreateProject", properties) == {
        "name": "p", "serviceRole": "arn:role", "timeoutInMinutes": 30,
        "source": {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL", "image": "img",
                        "privilegedMode": False,
                        "environmentVariables": [{"name": "A", "value": "1", "type": "PLAINTEXT"}]},
        "tags": [{"key": "k", "value": "v"}],
    }


def test_codepipeline_s_action_configuration_keeps_its_provider_keys():
    declaration = {
        "Name": "pl", "RoleArn": "arn:role", "ArtifactStore": {"Type": "S3", "Location": "bucket"},
        "Stages": [{"Name": "Source", "Actions": [{
            "Name": "Code", "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit",
                                             "Version": 1},
            "Configuration": {"RepositoryName": "repo", "BranchName": "main", "PollForSourceChanges": False},
            "OutputArtifacts": [{"Name": "Src"}], "InputArtifacts": [], "RunOrder": "1", "Namespace": "SourceVariables",
            "Region": "us-east-1"}]}],
    }
    assert shape_value("codepipeline", "PipelineDeclaration", declaration) == {
        "name": "pl", "roleArn": "arn:role", "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [{"name": "Source", "actions": [{
            "name": "Code", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit",
                                             "version": "1"},
            "configuration": {"RepositoryName": "repo", "BranchName": "main", "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "Src"}], "inputArtifacts": [], "runOrder": 1, "namespace": "SourceVariables",
            "region": "us-east-1"}]}],
    }


def test_sagemaker_s_pascal_case_members_take_their_types():
    params = operation_params("sagemaker", "CreateEndpointConfig", {
        "EndpointConfigName": "c",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": "2",
                                "InstanceType": "ml.m5.large", "InitialVariantWeight": 1}]})
    variant = params["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 2 and variant["InitialVariantWeight"] == 1.0
    assert isinstance(variant["InitialVariantWeight"], float)


def test_values_that_are_not_the_type_and_unknown_keys_are_left_for_botocore_to_name():
    params = operation_params("codebuild", "CreateProject", {"Name": "p", "TimeoutInMinutes": "soon",
                                                             "Triggers": {"Webhook": True}})
    assert params == {"name": "p", "timeoutInMinutes": "soon", "Triggers": {"Webhook": True}}
