"""AddTags, ListTags, DeleteTags: the tags of any SageMaker resource, by its ARN.

Families hand the Tags of their Create* requests here (`tag(arn, tags)`), so ListTags answers for them
too; the SDK's Pipeline.upsert() reads and rewrites a pipeline's tags this way. Records live in the store
('tags'), one per ARN. SageMaker allows 50 tags per resource.
"""

from __future__ import annotations

import hashlib

from labcloud.core.errors import ValidationException
from labcloud.protocols.pagination import paginate
from labcloud.services.sagemaker.family import ResourceFamily

KIND = "tags"
MAX_TAGS = 50


class Tags(ResourceFamily):
    def __init__(self, ctx, store):
        super().__init__(ctx, store)
        self.by_arn: dict[str, dict[str, str]] = {}

    def start(self) -> None:
        self.by_arn = {r["ResourceArn"]: r["Tags"] for r in self.store.load_all(KIND).values()}

    @staticmethod
    def _key(arn: str) -> str:
        return hashlib.sha256(arn.encode()).hexdigest()[:32]  # ARNs hold characters a file name cannot

    def _save(self, arn: str) -> None:
        self.store.save(KIND, self._key(arn), {"ResourceArn": arn, "Tags": self.by_arn[arn]})

    def tag(self, arn: str, tags: list[dict] | None) -> None:
        """Add tags to a resource (a Create* request's Tags, or AddTags)."""
        with self.lock:
            current = dict(self.by_arn.get(arn, {}))
            current.update({t["Key"]: t.get("Value", "") for t in tags or []})
            if len(current) > MAX_TAGS:
                raise ValidationException(f"The resource {arn} would have {len(current)} tags; at most "
                                          f"{MAX_TAGS} are allowed.")
            self.by_arn[arn] = current
            self._save(arn)

    def forget(self, arn: str) -> None:
        """The resource was deleted: its tags go with it."""
        with self.lock:
            if self.by_arn.pop(arn, None) is not None:
                self.store.delete(KIND, self._key(arn))

    def add_tags(self, params: dict) -> dict:
        self.tag(params["ResourceArn"], params["Tags"])
        return {"Tags": params["Tags"]}

    def list_tags(self, params: dict) -> dict:
        with self.lock:
            tags = [{"Key": k, "Value": v} for k, v in self.by_arn.get(params["ResourceArn"], {}).items()]
        page, token = paginate(tags, params, "ListTags", default_max=50)
        return {"Tags": page, **({"NextToken": token} if token else {})}

    def delete_tags(self, params: dict) -> dict:
        arn = params["ResourceArn"]
        with self.lock:
            current = self.by_arn.get(arn, {})
            for key in params["TagKeys"]:
                current.pop(key, None)
            if arn in self.by_arn:
                self._save(arn)
        return {}
