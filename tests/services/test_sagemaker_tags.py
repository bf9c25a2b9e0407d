"""AddTags, ListTags, DeleteTags on SageMaker resources, and the tags a Create* request carried."""

from __future__ import annotations

import json

import labcloud


def test_a_pipelines_creation_tags_are_listed_added_to_and_deleted(sm):
    definition = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [
        {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}]})
    arn = sm.create_pipeline(PipelineName="tagged", PipelineDefinition=definition, RoleArn=labcloud.ROLE_ARN,
                             Tags=[{"Key": "team", "Value": "ml"}])["PipelineArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "mlops"}])
    assert sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]) == [
        ("stage", "dev"), ("team", "mlops")]
    sm.delete_tags(ResourceArn=arn, TagKeys=["stage"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "mlops"}]
    sm.delete_pipeline(PipelineName="tagged")
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
