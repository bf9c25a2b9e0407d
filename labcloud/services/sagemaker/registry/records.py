"""The records of the model registry: model package groups and model packages. Each holds its Describe
answer as AWS gives it, and beside it what labcloud keeps of its own (tags, a group's version counter, a
package's ClientToken), saved together."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields

from labcloud.services.sagemaker.family import RecordTable


class _Saved:
    def to_store(self) -> dict:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_store(cls, saved: dict):
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})


@dataclass
class ModelPackageGroup(_Saved):
    description: dict  # DescribeModelPackageGroup
    tags: list[dict] = field(default_factory=list)
    versions_issued: int = 0  # the last version number given out; a deleted version's is never given again


@dataclass
class ModelPackage(_Saved):
    description: dict  # DescribeModelPackage
    tags: list[dict] = field(default_factory=list)
    client_token: str | None = None  # CreateModelPackage's ClientToken: a retry gets the same package

    @property
    def versioned(self) -> bool:
        return "ModelPackageVersion" in self.description

    @property
    def approval(self) -> str | None:
        return self.description.get("ModelApprovalStatus")


class SavedRecords(RecordTable):
    """A RecordTable whose records keep labcloud's bookkeeping beside their description (to_store)."""

    def load(self) -> None:
        self.records = {n: self.record_type.from_store(d) for n, d in self.family.store.load_all(self.kind).items()}

    def add(self, key: str, record, exists) -> None:
        with self.family.lock:
            if key in self.records:
                raise exists
            self.records[key] = record
            self.save(key)

    def save(self, key: str) -> None:
        """Write the record as it is now (call under the family's lock, after changing it)."""
        self.family.store.save(self.kind, key, self.records[key].to_store())

    def record(self, key: str):
        """The record itself, to change under the family's lock."""
        if key not in self.records:
            raise self.missing(key)
        return self.records[key]

    def values(self) -> list:
        return list(self.records.values())
