"""The stacks engine against a real labcloud: a stack with a bucket, a model package group, an EventBridge
rule and a scikit-learn model behind an endpoint, invoked, updated in place and by replacement, an update
that fails and rolls back, and the stack deleted."""

from __future__ import annotations

import functools
import io
import subprocess
import time
import zipfile

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LinearRegression

from labcloud.runtime.stacks import StackError, delete, deploy
from tests.support.hosting import (BROKEN_SCRIPT, REGRESSOR_SCRIPT, ROLE, SKLEARN_IMAGE, csv_rows, fitted_models,
                                   model_tarball, training_data, upload)

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Description: A model behind an endpoint, with its bucket, group and approval rule.
Parameters:
  ModelDataUrl: {Type: String}
  InstanceCount: {Type: Number, Default: 1, MinValue: 1}
Resources:
  DataBucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${AWS::StackName}-data"}
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupName: !Sub ${AWS::StackName}-models
      ModelPackageGroupDescription: The stack's models
  ApprovalRule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub ${AWS::StackName}-approvals
      EventPattern:
        source: [aws.sagemaker]
        detail-type: [SageMaker Model Package State Change]
        detail: {ModelPackageGroupName: [!Sub "${AWS::StackName}-models"], ModelApprovalStatus: [Approved]}
      State: ENABLED
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: %(role)s
      PrimaryContainer:
        Image: %(image)s
        ModelDataUrl: !Ref ModelDataUrl
        Environment: {SAGEMAKER_PROGRAM: inference.py, SAGEMAKER_SUBMIT_DIRECTORY: /opt/ml/model/code}
  EndpointConfig:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InitialInstanceCount: !Ref InstanceCount
          InstanceType: ml.m5.large
          InitialVariantWeight: 1
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: !Sub ${AWS::StackName}-endpoint
      EndpointConfigName: !GetAtt EndpointConfig.EndpointConfigName
Outputs:
  EndpointName: {Value: !GetAtt Endpoint.EndpointName}
  GroupArn: {Value: !Ref Group}
  RuleArn: {Value: !GetAtt ApprovalRule.Arn}
""" % {"role": ROLE, "image": SKLEARN_IMAGE}


@pytest.fixture(scope="module")
def models(labcloud_server):
    """Two regressors that answer differently, and one whose container cannot start."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="stacks-models")
    _, first = fitted_models()
    X, y = training_data()
    second = LinearRegression().fit(X, y + 100)
    return {"first": first, "second": second,
            "first_url": upload(s3, "stacks-models", "first/model.tar.gz", model_tarball(first, REGRESSOR_SCRIPT)),
            "second_url": upload(s3, "stacks-models", "second/model.tar.gz", model_tarball(second, REGRESSOR_SCRIPT)),
            "broken_url": upload(s3, "stacks-models", "broken/model.tar.gz", model_tarball(first, BROKEN_SCRIPT))}


@functools.cache
def clients(name: str):
    return boto3.client(name)


def predictions(runtime, endpoint: str, X) -> np.ndarray:
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=csv_rows(X).encode(), ContentType="text/csv",
                                     Accept="text/csv")
    return np.array([float(v) for v in answer["Body"].read().decode().split()], dtype=float)


def gone(call, **kwargs) -> bool:
    try:
        call(**kwargs)
    except ClientError:
        return True
    return False


def test_a_stack_serves_a_model_updates_in_place_and_by_replacement_rolls_back_and_deletes(
        labcloud_server, models, sm, s3, runtime):
    X, _ = training_data(3)
    X = X[:4]
    record = deploy("stacks-demo", TEMPLATE, {"ModelDataUrl": models["first_url"]}, clients)
    assert record["StackStatus"] == "CREATE_COMPLETE"
    endpoint = record["Outputs"]["EndpointName"]
    assert endpoint == "stacks-demo-endpoint"
    assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"  # deploy waited for it
    np.testing.assert_allclose(predictions(runtime, endpoint, X), models["first"].predict(X))
    s3.head_bucket(Bucket="stacks-demo-data")
    group = sm.describe_model_package_group(ModelPackageGroupName="stacks-demo-models")
    assert group["ModelPackageGroupArn"] == record["Outputs"]["GroupArn"]
    rule = clients("events").describe_rule(Name="stacks-demo-approvals")
    assert rule["Arn"] == record["Outputs"]["RuleArn"] and rule["State"] == "ENABLED"
    assert "stacks-demo-models" in rule["EventPattern"]

    # In place: a new instance count is a new endpoint config, and UpdateEndpoint moves the endpoint to it.
    first_config = record["Resources"]["EndpointConfig"]["Attributes"]["EndpointConfigName"]
    record = deploy("stacks-demo", TEMPLATE, {"ModelDataUrl": models["first_url"], "InstanceCount": "2"}, clients,
                    previous=record)
    assert record["StackStatus"] == "UPDATE_COMPLETE"
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == record["Resources"]["EndpointConfig"]["Attributes"]["EndpointConfigName"]
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert gone(sm.describe_endpoint_config, EndpointConfigName=first_config)

    # Replacement: new model data is a new model and config; the old ones go after the endpoint moved.
    first_model = record["Resources"]["Model"]["Attributes"]["ModelName"]
    record = deploy("stacks-demo", TEMPLATE, {"ModelDataUrl": models["second_url"], "InstanceCount": "2"}, clients,
                    previous=record)
    np.testing.assert_allclose(predictions(runtime, endpoint, X), models["second"].predict(X))
    assert gone(sm.describe_model, ModelName=first_model)
    serving = record["Resources"]["Model"]["Attributes"]["ModelName"]
    assert sm.describe_model(ModelName=serving)["PrimaryContainer"]["ModelDataUrl"] == models["second_url"]

    # A model that cannot start: SageMaker keeps the old config serving, the stack rolls back what it made.
    with pytest.raises(StackError) as err:
        deploy("stacks-demo", TEMPLATE, {"ModelDataUrl": models["broken_url"], "InstanceCount": "2"}, clients,
               previous=record)
    assert str(err.value).startswith("The following resource(s) failed to update: [Endpoint]. Endpoint: ")
    assert "not_a_module_that_exists_anywhere" in str(err.value)
    assert err.value.status == "UPDATE_ROLLBACK_COMPLETE"
    np.testing.assert_allclose(predictions(runtime, endpoint, X), models["second"].predict(X))
    names = {m["ModelName"] for m in sm.list_models(NameContains="stacks-demo")["Models"]}
    assert names == {serving}  # the broken model was deleted again

    delete(err.value.record, clients)
    assert gone(sm.describe_endpoint, EndpointName=endpoint)
    assert gone(sm.describe_model, ModelName=serving)
    assert sm.list_endpoint_configs(NameContains="stacks-demo")["EndpointConfigs"] == []
    assert gone(sm.describe_model_package_group, ModelPackageGroupName="stacks-demo-models")
    assert gone(s3.head_bucket, Bucket="stacks-demo-data")
    assert gone(clients("events").describe_rule, Name="stacks-demo-approvals")


def test_a_failed_create_leaves_nothing_behind(labcloud_server, models, sm, s3):
    with pytest.raises(StackError) as err:
        deploy("stacks-broken", TEMPLATE.replace("ModelPackageGroupDescription: The stack's models",
                                                 "ModelPackageGroupDescription: !Ref Missing"),
               {"ModelDataUrl": models["first_url"]}, clients)
    assert "Unresolved resource dependencies [Missing] in the Resources block" in str(err.value)
    cf = TEMPLATE.replace("InstanceType: ml.m5.large", "InstanceType: ml.nope")
    with pytest.raises(StackError) as err:
        deploy("stacks-broken", cf, {"ModelDataUrl": models["first_url"]}, clients)
    assert "failed to create: [EndpointConfig]" in str(err.value)
    assert "(Service: SageMaker, Status Code: 400, Error Code: ValidationException)" in str(err.value)
    assert err.value.status == "ROLLBACK_COMPLETE"
    assert sm.list_models(NameContains="stacks-broken")["Models"] == []
    assert gone(s3.head_bucket, Bucket="stacks-broken-data")
    assert gone(sm.describe_model_package_group, ModelPackageGroupName="stacks-broken-models")


TOOLCHAIN = """
Parameters:
  Timeout: {Type: Number, Default: 10}
  Description: {Type: String, Default: first}
Resources:
  Artifacts:
    Type: AWS::S3::Bucket
    Properties: {BucketName: stacks-toolchain-artifacts}
  Repository:
    Type: AWS::CodeCommit::Repository
    Properties:
      RepositoryName: stacks-toolchain
      RepositoryDescription: !Ref Description
      Code: {S3: {Bucket: stacks-models, Key: seed/code.zip}, BranchName: main}
  Build:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: stacks-toolchain-build
      ServiceRole: %(role)s
      Artifacts: {Type: CODEPIPELINE}
      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: aws/codebuild/standard:7.0}
      Source: {Type: CODEPIPELINE, BuildSpec: buildspec.yml}
      TimeoutInMinutes: !Ref Timeout
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: stacks-toolchain
      RoleArn: %(role)s
      ArtifactStore: {Type: S3, Location: !Ref Artifacts}
      Stages:
        - Name: Source
          Actions:
            - Name: Code
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1"}
              Configuration: {RepositoryName: !GetAtt Repository.Name, BranchName: main, PollForSourceChanges: false}
              OutputArtifacts: [{Name: Src}]
        - Name: Approve
          Actions:
            - Name: Gate
              ActionTypeId: {Category: Approval, Owner: AWS, Provider: Manual, Version: "1"}
              Configuration: {CustomData: !Ref Build}
Outputs:
  CloneUrl: {Value: !GetAtt Repository.CloneUrlHttp}
  BuildArn: {Value: !GetAtt Build.Arn}
  PipelineVersion: {Value: !GetAtt Pipeline.Version}
""" % {"role": ROLE}


def stop_executions(codepipeline, name: str, timeout: float = 30.0) -> None:
    """The pipeline's first run (it starts when the pipeline is made) stopped, so it writes no more artifacts."""
    deadline = time.monotonic() + timeout
    while True:
        running = [e for e in codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
                   if e["status"] in ("InProgress", "Stopping")]
        if not running:
            return
        assert time.monotonic() < deadline, f"executions still running: {running}"
        for execution in running:
            if execution["status"] == "InProgress":
                codepipeline.stop_pipeline_execution(pipelineName=name, abandon=True,
                                                     pipelineExecutionId=execution["pipelineExecutionId"])
        time.sleep(0.1)


def test_a_toolchain_stack_seeds_a_repository_and_makes_a_project_and_a_pipeline(labcloud_server, models, s3,
                                                                                  tmp_path):
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("buildspec.yml", "version: 0.2\nphases: {build: {commands: [echo hi]}}\n")
        archive.writestr("src/app.py", "print('hi')\n")
    s3.put_object(Bucket="stacks-models", Key="seed/code.zip", Body=code.getvalue())
    record = deploy("stacks-toolchain", TOOLCHAIN, {}, clients)
    url = record["Outputs"]["CloneUrl"]
    assert url == f"{labcloud_server.url}/v1/repos/stacks-toolchain"
    subprocess.run(["git", "clone", "-q", url, str(tmp_path / "clone")], check=True, timeout=60)
    assert (tmp_path / "clone" / "src" / "app.py").read_text() == "print('hi')\n"
    codebuild, codepipeline = clients("codebuild"), clients("codepipeline")
    project = codebuild.batch_get_projects(names=["stacks-toolchain-build"])["projects"][0]
    assert project["arn"] == record["Outputs"]["BuildArn"] and project["timeoutInMinutes"] == 10
    pipeline = codepipeline.get_pipeline(name="stacks-toolchain")["pipeline"]
    assert pipeline["stages"][0]["actions"][0]["configuration"]["RepositoryName"] == "stacks-toolchain"
    assert pipeline["stages"][1]["actions"][0]["configuration"]["CustomData"] == "stacks-toolchain-build"

    record = deploy("stacks-toolchain", TOOLCHAIN.replace("Name: Gate", "Name: Approval"),
                    {"Timeout": "20", "Description": "second"}, clients, previous=record)
    assert codebuild.batch_get_projects(names=["stacks-toolchain-build"])["projects"][0]["timeoutInMinutes"] == 20
    described = clients("codecommit").get_repository(repositoryName="stacks-toolchain")["repositoryMetadata"]
    assert described["repositoryDescription"] == "second"
    pipeline = codepipeline.get_pipeline(name="stacks-toolchain")["pipeline"]
    assert pipeline["stages"][1]["actions"][0]["name"] == "Approval"
    assert record["Outputs"]["PipelineVersion"] == str(pipeline["version"]) != "1"

    stop_executions(codepipeline, "stacks-toolchain")
    s3_objects = s3.list_objects_v2(Bucket="stacks-toolchain-artifacts").get("Contents", [])
    for item in s3_objects:  # what the pipeline's runs stored: a bucket with objects is not deleted, as on AWS
        s3.delete_object(Bucket="stacks-toolchain-artifacts", Key=item["Key"])
    delete(record, clients)
    assert gone(clients("codecommit").get_repository, repositoryName="stacks-toolchain")
    assert codebuild.batch_get_projects(names=["stacks-toolchain-build"])["projects"] == []
    assert gone(codepipeline.get_pipeline, name="stacks-toolchain")
