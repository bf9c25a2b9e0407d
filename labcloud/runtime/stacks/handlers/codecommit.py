"""AWS::CodeCommit::Repository, seeded from a zip in S3 (Code: {S3: {Bucket, Key}, BranchName}) pushed
with git to the repository's cloneUrlHttp. Ref is the repository's id, as on AWS (Fn::GetAtt X.Name
gives the name). Code is read when the repository is made only: later changes to it change nothing."""

from __future__ import annotations

from labcloud.runtime.stacks import git_seed
from labcloud.runtime.stacks.api_shapes import operation_params
from labcloud.runtime.stacks.errors import ResourceFailure
from labcloud.runtime.stacks.handlers.base import (HandlerContext, ResourceHandler, call, changed_properties,
                                                   tag_changes)

COMMIT_MESSAGE = "Initial commit by AWS CloudFormation"


class Repository(ResourceHandler):
    type_name = "AWS::CodeCommit::Repository"
    attribute_names = frozenset({"Arn", "CloneUrlHttp", "CloneUrlSsh", "Name"})
    ignored_on_update = frozenset({"Code"})
    name_property = "RepositoryName"
    name_max_length = 100

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        if not properties.get("RepositoryName"):
            raise ResourceFailure(f"Properties validation failed for resource {ctx.logical_id} with message: "
                                  "#: required key [RepositoryName] not found")
        params = operation_params("codecommit", "CreateRepository", {
            k: v for k, v in properties.items() if k in ("RepositoryName", "RepositoryDescription", "KmsKeyId")})
        if properties.get("Tags"):
            params["tags"] = {t["Key"]: t.get("Value", "") for t in properties["Tags"]}
        metadata = call(ctx, "codecommit", "create_repository", **params)["repositoryMetadata"]
        physical, attributes = metadata["repositoryId"], _attributes(metadata)
        try:
            if properties.get("Triggers"):
                _put_triggers(ctx, attributes["Name"], properties["Triggers"])
            if properties.get("Code"):
                _seed(ctx, properties["Code"], attributes["CloneUrlHttp"])
        except ResourceFailure as err:
            raise ResourceFailure(err.reason, created=(physical, attributes)) from None
        return physical, attributes

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        changed = changed_properties(old, new) - self.ignored_on_update
        name = attributes["Name"]
        if "RepositoryName" in changed:
            call(ctx, "codecommit", "update_repository_name", oldName=name, newName=new["RepositoryName"])
            name = new["RepositoryName"]
        if "RepositoryDescription" in changed:
            call(ctx, "codecommit", "update_repository_description", repositoryName=name,
                 repositoryDescription=new.get("RepositoryDescription", ""))
        if "KmsKeyId" in changed and new.get("KmsKeyId"):
            call(ctx, "codecommit", "update_repository_encryption_key", repositoryName=name,
                 kmsKeyId=new["KmsKeyId"])
        if "Triggers" in changed:
            _put_triggers(ctx, name, new.get("Triggers") or [])
        if "Tags" in changed:
            put, remove = tag_changes(old.get("Tags"), new.get("Tags"))
            if remove:
                call(ctx, "codecommit", "untag_resource", resourceArn=attributes["Arn"], tagKeys=remove)
            if put:
                call(ctx, "codecommit", "tag_resource", resourceArn=attributes["Arn"], tags=put)
        metadata = call(ctx, "codecommit", "get_repository", repositoryName=name)["repositoryMetadata"]
        return _attributes(metadata)

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        call(ctx, "codecommit", "delete_repository", absent=("RepositoryDoesNotExistException",),
             repositoryName=attributes["Name"])


def _attributes(metadata: dict) -> dict:
    return {"Arn": metadata["Arn"], "CloneUrlHttp": metadata.get("cloneUrlHttp", ""),
            "CloneUrlSsh": metadata.get("cloneUrlSsh", ""), "Name": metadata["repositoryName"]}


def _put_triggers(ctx: HandlerContext, name: str, triggers: list) -> None:
    params = operation_params("codecommit", "PutRepositoryTriggers",
                              {"RepositoryName": name, "Triggers": triggers})
    call(ctx, "codecommit", "put_repository_triggers", **params)


def _seed(ctx: HandlerContext, code: dict, clone_url: str) -> None:
    source = code.get("S3") or {}
    if not source.get("Bucket") or not source.get("Key"):
        raise ResourceFailure(f"Properties validation failed for resource {ctx.logical_id} with message: "
                              "#/Code/S3: required key [Bucket] and [Key] not found")
    request = {"Bucket": source["Bucket"], "Key": source["Key"]}
    if source.get("ObjectVersion"):
        request["VersionId"] = source["ObjectVersion"]
    archive = call(ctx, "s3", "get_object", **request)["Body"].read()
    branch = code.get("BranchName") or "main"
    try:
        git_seed.push_zip(archive, clone_url, branch, COMMIT_MESSAGE)
    except git_seed.SeedError as err:
        raise ResourceFailure(f"Resource handler returned message: \"Could not push the code of "
                              f"s3://{source['Bucket']}/{source['Key']} to branch {branch}: {err}\" "
                              "(Service: CodeCommit)") from None
