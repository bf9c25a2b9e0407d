"""AWS::S3::Bucket: Ref is the bucket's name."""

from __future__ import annotations

from labcloud.runtime.stacks.errors import ResourceFailure
from labcloud.runtime.stacks.handlers.base import HandlerContext, ResourceHandler, call, changed_properties

# S3 has no one call that takes a bucket's whole configuration: these are the properties labcloud sets.
SUPPORTED = frozenset({"BucketName", "Tags", "VersioningConfiguration"})


class Bucket(ResourceHandler):
    type_name = "AWS::S3::Bucket"
    attribute_names = frozenset({"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL"})
    replacing = frozenset({"BucketName"})
    name_property = "BucketName"
    name_lowercase = True

    def create(self, ctx: HandlerContext, properties: dict) -> tuple[str, dict]:
        _check_supported(ctx, properties)
        name = self.physical_name(ctx, properties)
        if call(ctx, "s3", "head_bucket", absent=("404", "NoSuchBucket", "Not Found"), Bucket=name) is not None:
            raise ResourceFailure(f'Resource handler returned message: "{name} already exists" (Service: S3)')
        options = {} if ctx.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": ctx.region}}
        call(ctx, "s3", "create_bucket", Bucket=name, **options)
        try:
            self._configure(ctx, name, {}, properties)
        except ResourceFailure as err:
            raise ResourceFailure(err.reason, created=(name, self._attributes(ctx, name))) from None
        return name, self._attributes(ctx, name)

    def update(self, ctx: HandlerContext, physical_id: str, old: dict, new: dict, attributes: dict) -> dict:
        _check_supported(ctx, new)
        self._configure(ctx, physical_id, old, new)
        return attributes

    def delete(self, ctx: HandlerContext, physical_id: str, properties: dict, attributes: dict) -> None:
        # A bucket with objects in it is not deleted, as on AWS (DeletionPolicy: Retain keeps it instead).
        call(ctx, "s3", "delete_bucket", absent=("NoSuchBucket",), Bucket=physical_id)

    @staticmethod
    def _configure(ctx: HandlerContext, name: str, old: dict, new: dict) -> None:
        changed = changed_properties(old, new)
        if "Tags" in changed:
            if new.get("Tags"):
                call(ctx, "s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": new["Tags"]})
            else:
                call(ctx, "s3", "delete_bucket_tagging", Bucket=name)
        if "VersioningConfiguration" in changed:
            status = (new.get("VersioningConfiguration") or {}).get("Status", "Suspended")
            call(ctx, "s3", "put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": status})

    @staticmethod
    def _attributes(ctx: HandlerContext, name: str) -> dict:
        return {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com"}


def _check_supported(ctx: HandlerContext, properties: dict) -> None:
    unsupported = sorted(set(properties) - SUPPORTED)
    if unsupported:
        raise ResourceFailure(f"Properties validation failed for resource {ctx.logical_id} with message: "
                              f"labcloud's AWS::S3::Bucket does not support [{', '.join(unsupported)}] "
                              f"(it sets {', '.join(sorted(SUPPORTED))})")
