"""The stacks engine's resource handlers with stand-in clients: what each type calls, what Ref and
Fn::GetAtt give, what an update changes in place, and CodeCommit's seed code pushed with git."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile

import pytest

from labcloud.runtime.project_templates import MLOPS_BUILD_DEPLOY
from labcloud.runtime.stacks import StackError, delete, deploy
from labcloud.runtime.stacks.git_seed import SeedError, extract, push_zip
from tests.support.fake_aws import FakeCloud


def zip_of(files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def git(*args) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def cloud(tmp_path):
    (tmp_path / "repos").mkdir()
    return FakeCloud(tmp_path / "repos")


# ---- S3 ----

def test_a_bucket_without_a_name_gets_a_lower_case_generated_one(cloud):
    text = """
Resources:
  ArtifactBucket: {Type: AWS::S3::Bucket}
Outputs:
  Name: {Value: !Ref ArtifactBucket}
  Arn: {Value: !GetAtt ArtifactBucket.Arn}
  Domain: {Value: !GetAtt ArtifactBucket.RegionalDomainName}
"""
    record = deploy("My-Stack", text, {}, cloud)
    name = record["Outputs"]["Name"]
    assert re.fullmatch(r"my-stack-artifactbucket-[a-z0-9]{12}", name) and name in cloud.buckets
    assert record["Outputs"]["Arn"] == f"arn:aws:s3:::{name}"
    assert record["Outputs"]["Domain"] == f"{name}.s3.us-east-1.amazonaws.com"


def test_a_bucket_that_exists_is_not_taken_over_nor_deleted_by_the_rollback(cloud):
    cloud.s3_create_bucket("x", Bucket="taken")
    with pytest.raises(StackError, match='Resource handler returned message: "taken already exists"'):
        deploy("s", "Resources: {B: {Type: AWS::S3::Bucket, Properties: {BucketName: taken}}}", {}, cloud)
    assert "taken" in cloud.buckets and "delete_bucket" not in cloud.ops()


def test_bucket_tags_and_versioning_change_in_place_and_a_new_name_replaces(cloud):
    text = "Resources: {B: {Type: AWS::S3::Bucket, Properties: {BucketName: %s, Tags: %s}}}"
    first = deploy("s", text % ("one", "[{Key: team, Value: a}]"), {}, cloud)
    second = deploy("s", (text % ("one", "[{Key: team, Value: b}]")).replace(
        "}}}", ", VersioningConfiguration: {Status: Enabled}}}}"), {}, cloud, previous=first)
    assert cloud.buckets["one"]["tags"] == [{"Key": "team", "Value": "b"}]
    assert cloud.buckets["one"]["versioning"] == "Enabled"
    third = deploy("s", text % ("two", "[]"), {}, cloud, previous=second)
    assert list(cloud.buckets) == ["two"] and third["Resources"]["B"]["PhysicalResourceId"] == "two"


def test_bucket_properties_labcloud_does_not_set_are_refused_by_name(cloud):
    with pytest.raises(StackError, match=r"labcloud's AWS::S3::Bucket does not support \[LifecycleConfiguration\]"):
        deploy("s", "Resources: {B: {Type: AWS::S3::Bucket, Properties: {LifecycleConfiguration: {}}}}", {}, cloud)


# ---- SageMaker model package group and tags ----

def test_a_model_package_group_s_ref_is_its_arn_and_its_tags_change_in_place(cloud):
    text = """
Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties: {ModelPackageGroupName: models, Tags: [{Key: a, Value: "1"}]}
Outputs:
  Ref: {Value: !Ref Group}
  Arn: {Value: !GetAtt Group.ModelPackageGroupArn}
"""
    first = deploy("s", text, {}, cloud)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/models"
    assert first["Outputs"] == {"Ref": arn, "Arn": arn}
    deploy("s", text.replace('[{Key: a, Value: "1"}]', '[{Key: b, Value: "2"}]'), {}, cloud, previous=first)
    assert cloud.params("sagemaker", "delete_tags") == [{"ResourceArn": arn, "TagKeys": ["a"]}]
    assert cloud.params("sagemaker", "add_tags") == [{"ResourceArn": arn, "Tags": [{"Key": "b", "Value": "2"}]}]
    assert "create_model_package_group" not in cloud.ops()[2:]


# ---- EventBridge ----

RULE = """
Parameters: {Group: {Type: String, Default: g}}
Resources:
  Rule:
    Type: AWS::Events::Rule
    Properties:
      Name: approvals
      EventPattern:
        source: [aws.sagemaker]
        detail-type: [SageMaker Model Package State Change]
        detail: {ModelPackageGroupName: [!Ref Group]}
      Targets:
        - {Id: one, Arn: arn:aws:sqs:us-east-1:123456789012:q1}
        - {Id: two, Arn: arn:aws:sqs:us-east-1:123456789012:q2}
Outputs:
  Ref: {Value: !Ref Rule}
  Arn: {Value: !GetAtt Rule.Arn}
"""


def test_a_rule_s_pattern_is_sent_as_json_and_its_targets_follow_the_template(cloud):
    first = deploy("s", RULE, {}, cloud)
    assert first["Outputs"] == {"Ref": "approvals", "Arn": "arn:aws:events:us-east-1:123456789012:rule/approvals"}
    rule = cloud.rules[("default", "approvals")]
    assert json.loads(rule["EventPattern"]) == {"source": ["aws.sagemaker"], "detail-type": [
        "SageMaker Model Package State Change"], "detail": {"ModelPackageGroupName": ["g"]}}
    assert rule["State"] == "ENABLED" and set(rule["targets"]) == {"one", "two"}
    second = deploy("s", RULE.replace("        - {Id: two, Arn: arn:aws:sqs:us-east-1:123456789012:q2}\n", ""),
                    {"Group": "h"}, cloud, previous=first)
    assert set(rule["targets"]) == {"one"} and json.loads(rule["EventPattern"])["detail"] == {
        "ModelPackageGroupName": ["h"]}
    assert cloud.params("events", "remove_targets")[0]["Ids"] == ["two"]
    delete(second, cloud)
    assert cloud.rules == {}


def test_a_rule_on_another_bus_is_named_bus_and_rule(cloud):
    record = deploy("s", RULE.replace("Name: approvals", "Name: approvals\n      EventBusName: lab"), {}, cloud)
    assert record["Outputs"]["Ref"] == "lab|approvals"
    assert record["Outputs"]["Arn"] == "arn:aws:events:us-east-1:123456789012:rule/lab/approvals"
    delete(record, cloud)
    assert cloud.rules == {}


# ---- CodeBuild, CodePipeline, IAM ----

def test_a_project_is_created_and_updated_in_codebuild_s_camel_case(cloud):
    text = """
Parameters: {Timeout: {Type: Number, Default: 30}}
Resources:
  Build:
    Type: AWS::CodeBuild::Project
    Properties:
      ServiceRole: arn:aws:iam::123456789012:role/R
      Artifacts: {Type: NO_ARTIFACTS}
      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: img}
      Source: {Type: NO_SOURCE, BuildSpec: "version: 0.2"}
      TimeoutInMinutes: !Ref Timeout
Outputs: {Arn: {Value: !GetAtt Build.Arn}, Name: {Value: !Ref Build}}
"""
    first = deploy("s", text, {}, cloud)
    name = first["Outputs"]["Name"]
    assert re.fullmatch(r"s-Build-[A-Z0-9]{12}", name)
    assert cloud.projects[name]["source"] == {"type": "NO_SOURCE", "buildspec": "version: 0.2"}
    assert cloud.projects[name]["timeoutInMinutes"] == 30
    deploy("s", text, {"Timeout": "60"}, cloud, previous=first)
    assert cloud.params("codebuild", "update_project")[0]["timeoutInMinutes"] == 60
    assert list(cloud.projects) == [name]


def test_a_pipeline_declaration_keeps_its_configuration_keys_and_its_version_moves(cloud):
    text = """
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: deploy
      RoleArn: arn:aws:iam::123456789012:role/R
      RestartExecutionOnUpdate: true
      ArtifactStore: {Type: S3, Location: artifacts}
      Tags: [{Key: k, Value: v}]
      Stages:
        - Name: Source
          Actions:
            - Name: Code
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1"}
              Configuration: {RepositoryName: repo, BranchName: main, PollForSourceChanges: false}
              OutputArtifacts: [{Name: Src}]
              RunOrder: 1
        - Name: Approve
          Actions:
            - Name: Gate
              ActionTypeId: {Category: Approval, Owner: AWS, Provider: Manual, Version: "1"}
Outputs: {Version: {Value: !GetAtt Pipeline.Version}, Name: {Value: !Ref Pipeline}}
"""
    first = deploy("s", text, {}, cloud)
    assert first["Outputs"] == {"Version": "1", "Name": "deploy"}
    assert cloud.params("codepipeline", "create_pipeline")[0]["tags"] == [{"key": "k", "value": "v"}]
    action = cloud.pipelines["deploy"]["stages"][0]["actions"][0]
    assert action["configuration"] == {"RepositoryName": "repo", "BranchName": "main", "PollForSourceChanges": "false"}
    assert action["actionTypeId"]["provider"] == "CodeCommit" and action["outputArtifacts"] == [{"name": "Src"}]
    second = deploy("s", text.replace("Name: Gate", "Name: Approval"), {}, cloud, previous=first)
    assert second["Outputs"]["Version"] == "2"
    assert cloud.ops("codepipeline")[-1] == "start_pipeline_execution"  # RestartExecutionOnUpdate


def test_a_role_is_recorded_without_a_call(cloud):
    record = deploy("s", """
Resources:
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: builder, Path: /service/}}
Outputs: {Arn: {Value: !GetAtt Role.Arn}, Id: {Value: !GetAtt Role.RoleId}, Name: {Value: !Ref Role}}
""", {}, cloud)
    assert record["Outputs"]["Arn"] == "arn:aws:iam::123456789012:role/service/builder"
    assert record["Outputs"]["Name"] == "builder" and re.fullmatch(r"AROA[A-Z0-9]{17}", record["Outputs"]["Id"])
    assert cloud.calls == []
    delete(record, cloud)


# ---- CodeCommit and its seed code ----

REPOSITORY = """
Resources:
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties:
      RepositoryName: models
      RepositoryDescription: the models
      Code: {S3: {Bucket: seeds, Key: seed.zip}, BranchName: trunk}
Outputs:
  Ref: {Value: !Ref Repo}
  Name: {Value: !GetAtt Repo.Name}
  Url: {Value: !GetAtt Repo.CloneUrlHttp}
  Arn: {Value: !GetAtt Repo.Arn}
"""


def test_a_repository_is_seeded_with_the_zip_s_files_on_its_branch(cloud):
    cloud.s3_put_object("x", Bucket="seeds", Key="seed.zip", Body=zip_of({
        "README.md": (b"# models\n", 0o644), "bin/run.sh": (b"#!/bin/sh\necho hi\n", 0o755), "src/": (b"", 0o755)}))
    record = deploy("s", REPOSITORY, {}, cloud)
    outputs = record["Outputs"]
    assert outputs["Ref"] == cloud.repositories["models"]["id"]  # Ref is the repository id, as on AWS
    assert outputs["Name"] == "models" and outputs["Arn"] == "arn:aws:codecommit:us-east-1:123456789012:models"
    tree = git("--git-dir", outputs["Url"], "ls-tree", "-r", "trunk")
    assert re.search(r"^100755 blob \w+\tbin/run.sh$", tree, re.M)
    assert re.search(r"^100644 blob \w+\tREADME.md$", tree, re.M)
    assert git("--git-dir", outputs["Url"], "log", "--format=%an|%s", "trunk").strip() == (
        "AWS CloudFormation|Initial commit by AWS CloudFormation")
    # Code is read at creation only; the description changes in place
    calls = len(cloud.calls)
    deploy("s", REPOSITORY.replace("seed.zip", "other.zip").replace("the models", "our models"), {}, cloud,
           previous=record)
    assert [op for _, op, _ in cloud.calls[calls:]] == ["update_repository_description", "get_repository"]


def test_a_seed_that_cannot_be_pushed_rolls_the_repository_back(cloud):
    with pytest.raises(StackError, match='failed to create: \\[Repo\\]. Repo: Resource handler returned message: '
                                         '"The specified key does not exist." \\(Service: S3'):
        deploy("s", REPOSITORY, {}, cloud)
    assert cloud.repositories == {} and "delete_repository" in cloud.ops()
    cloud.s3_put_object("x", Bucket="seeds", Key="seed.zip", Body=b"not a zip")
    with pytest.raises(StackError, match="Could not push the code of s3://seeds/seed.zip to branch trunk: the code "
                                         "is not a zip file"):
        deploy("s", REPOSITORY, {}, cloud)
    assert cloud.repositories == {}


def test_push_zip_reports_git_s_own_error(tmp_path):
    with pytest.raises(SeedError, match=r"git push failed \(exit 128\)"):
        push_zip(zip_of({"a": (b"1", 0o644)}), str(tmp_path / "no-such-repository.git"))


def test_a_zip_with_a_path_outside_its_folder_is_refused(tmp_path):
    with pytest.raises(SeedError, match="outside its folder: ../evil"):
        extract(zip_of({"../evil": (b"x", 0o644)}), tmp_path)
    assert not (tmp_path.parent / "evil").exists()


# ---- the project template labcloud ships ----

def test_the_mlops_project_template_deploys_and_deletes(cloud):
    for folder, key in MLOPS_BUILD_DEPLOY.seed_keys:
        cloud.s3_put_object("x", Bucket="seed-code", Key=key, Body=MLOPS_BUILD_DEPLOY.seed_zip(folder))
    record = deploy("SC-proj", MLOPS_BUILD_DEPLOY.template_text(), {
        "SageMakerProjectName": "proj", "SageMakerProjectId": "p-1a2b", "SeedCodeBucket": "seed-code",
        "PipelineRoleArn": "arn:aws:iam::123456789012:role/R"}, cloud)
    assert record["StackStatus"] == "CREATE_COMPLETE"
    types = sorted(r["Type"] for r in record["Resources"].values())
    assert types == ["AWS::CodeBuild::Project"] * 3 + ["AWS::CodeCommit::Repository"] * 2 + [
        "AWS::CodePipeline::Pipeline"] * 2 + ["AWS::Events::Rule"] * 3 + ["AWS::S3::Bucket",
                                                                          "AWS::SageMaker::ModelPackageGroup"]
    assert record["Outputs"]["ModelPackageGroupName"] == "proj-p-1a2b"
    build = git("--git-dir", record["Outputs"]["ModelBuildRepositoryCloneUrl"], "ls-tree", "-r", "--name-only", "main")
    assert "pipelines/pipeline.py" in build.split()
    stages = cloud.pipelines["sagemaker-proj-p-1a2b-modeldeploy"]["stages"]
    assert [s["name"] for s in stages] == ["Source", "Build", "DeployStaging", "DeployProd"]
    assert stages[2]["actions"][0]["configuration"]["StackName"] == "sagemaker-proj-p-1a2b-deploy-staging"
    target = cloud.rules[("default", "sagemaker-proj-p-1a2b-model")]["targets"]["sagemaker-proj-trigger"]
    assert target["Arn"] == "arn:aws:codepipeline:us-east-1:123456789012:sagemaker-proj-p-1a2b-modeldeploy"
    delete(record, cloud)
    assert cloud.repositories == {} and cloud.projects == {} and cloud.pipelines == {} and cloud.rules == {}
    # DeletionPolicy: Retain keeps the artifact bucket and the model package group (their data outlives the project).
    assert sorted(cloud.buckets) == ["sagemaker-project-p-1a2b", "seed-code"] and list(cloud.groups) == ["proj-p-1a2b"]
