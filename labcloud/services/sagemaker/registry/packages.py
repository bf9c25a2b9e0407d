"""The model registry: CreateModelPackageGroup ... DeleteModelPackage. Records only; nothing runs.

A model package group holds versioned model packages, numbered 1, 2, ... in the order they are registered
(ARN `model-package/<group>/<version>`); an unversioned package has a name of its own and no group
(`model-package/<name>`). Every registration and every approval change is published as "SageMaker Model
Package State Change" on the default event bus. Models made from a package (CreateModel with a container
`{"ModelPackageName": ...}`) run its InferenceSpecification's containers: see `model_containers`.
Records live in the store ('model-package-groups', 'model-packages'), keyed by the lower-case resource
part of their ARN, as ARNs are.

Errors, in AWS's words where they are known: `ModelPackageGroup <arn> does not exist.` and
`ModelPackage <arn> does not exist.` (ValidationException, as SageMaker answers); a second group of a name
is a ValidationException "Model Package Group already exists". Deleting a group that still holds versions
is refused with ConflictException, the one error the API declares for DeleteModelPackageGroup; that
message's wording is labcloud's.
"""

from __future__ import annotations

import copy

from labcloud.core.clock import utc_now
from labcloud.core.errors import ValidationException
from labcloud.protocols.pagination import list_page
from labcloud.protocols.validation import require
from labcloud.services.sagemaker.exceptions import ConflictException
from labcloud.services.sagemaker.family import ResourceFamily
from labcloud.services.sagemaker.registry import requests
from labcloud.services.sagemaker.registry.lifecycle import APPROVAL, APPROVED, MODEL_PACKAGE
from labcloud.services.sagemaker.registry.records import ModelPackage, ModelPackageGroup, SavedRecords

DETAIL_TYPE = "SageMaker Model Package State Change"
GROUP_FIELDS = ["ModelPackageGroupName", "ModelPackageGroupArn", "ModelPackageGroupDescription", "CreationTime",
                "ModelPackageGroupStatus"]


class ModelRegistry(ResourceFamily):
    def __init__(self, ctx, store):
        super().__init__(ctx, store)
        self.groups = SavedRecords(self, "model-package-groups", ModelPackageGroup,
                                   lambda key: self._group_missing(key))
        self.packages = SavedRecords(self, "model-packages", ModelPackage, lambda key: self._package_missing(key))
        self._caller: dict | None = None

    def start(self) -> None:
        self.groups.load()
        self.packages.load()

    # ---- names, ARNs and the errors that name them ----

    def _key(self, reference: str, resource_type: str) -> str:
        prefix = self.arn(resource_type, "")
        return (reference[len(prefix):] if reference.lower().startswith(prefix) else reference).lower()

    def _group_missing(self, reference: str) -> ValidationException:
        arn = reference if reference.startswith("arn:") else self.arn("model-package-group", reference)
        return ValidationException(f"ModelPackageGroup {arn} does not exist.")

    def _package_missing(self, reference: str) -> ValidationException:
        arn = reference if reference.startswith("arn:") else self.arn("model-package", reference)
        key, hint = self._key(reference, "model-package"), ""
        if key in self.groups:
            hint = (f" {key} is a model package group: name one of its versions, "
                    f"e.g. {self.arn('model-package', key)}/1.")
        return ValidationException(f"ModelPackage {arn} does not exist.{hint}")

    def _group(self, reference: str) -> ModelPackageGroup:
        key = self._key(reference, "model-package-group")
        if key not in self.groups:
            raise self._group_missing(reference)
        return self.groups.record(key)

    def _package(self, reference: str) -> tuple[str, ModelPackage]:
        key = self._key(reference, "model-package")
        if key not in self.packages:
            raise self._package_missing(reference)
        return key, self.packages.record(key)

    def _who(self) -> dict:
        """CreatedBy / LastModifiedBy: the identity STS reports for the caller's credentials."""
        if self._caller is None:
            try:
                identity = self.ctx.client("sts").get_caller_identity()
                self._caller = {"IamIdentity": {"Arn": identity["Arn"], "PrincipalId": identity["UserId"]}}
            except Exception:  # noqa: BLE001 - an identity is a nicety; never fail a registration on it
                return {}
        return copy.deepcopy(self._caller)

    # ---- model package groups ----

    def create_model_package_group(self, params: dict) -> dict:
        name = params["ModelPackageGroupName"]
        arn = self.arn("model-package-group", name)
        record = ModelPackageGroup({
            "ModelPackageGroupName": name, "ModelPackageGroupArn": arn, "CreationTime": utc_now(),
            "CreatedBy": self._who(), "ModelPackageGroupStatus": "Completed",
            **{k: params[k] for k in ("ModelPackageGroupDescription", "ManagedConfiguration") if params.get(k)}},
            tags=list(params.get("Tags") or []))
        self.groups.add(name.lower(), record, ValidationException(f"Model Package Group already exists: {arn}"))
        return {"ModelPackageGroupArn": arn}

    def describe_model_package_group(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._group(params["ModelPackageGroupName"]).description)

    def list_model_package_groups(self, params: dict) -> dict:
        if params.get("CrossAccountFilterOption") == "CrossAccount":
            return {"ModelPackageGroupSummaryList": []}  # no other account shares groups with this one
        return list_page(self.groups.descriptions(), params, "ListModelPackageGroups",
                         name_key="ModelPackageGroupName", result_key="ModelPackageGroupSummaryList",
                         fields=GROUP_FIELDS + ["ManagedConfiguration"], default_max=10)

    def delete_model_package_group(self, params: dict) -> dict:
        with self.lock:
            group = self._group(params["ModelPackageGroupName"])
            name = group.description["ModelPackageGroupName"]
            versions = sorted((p for p in self.packages.values() if p.versioned
                               and p.description["ModelPackageGroupName"].lower() == name.lower()),
                              key=lambda p: p.description["ModelPackageVersion"])
            if versions:
                shown = ", ".join(p.description["ModelPackageArn"] for p in versions[:3])
                raise ConflictException(
                    f"Model package group {group.description['ModelPackageGroupArn']} still holds "
                    f"{len(versions)} model package version(s) ({shown}{', ...' if len(versions) > 3 else ''}). "
                    "Delete them with DeleteModelPackage before deleting the group.")
            self.groups.delete(name.lower())
        return {}

    # ---- model packages ----

    def create_model_package(self, params: dict) -> dict:
        requests.check_create_request(params)
        now, who = utc_now(), self._who()
        with self.lock:
            token = params.get("ClientToken")
            retried = next((p for p in self.packages.values() if token and p.client_token == token), None)
            if retried is not None:
                return {"ModelPackageArn": retried.description["ModelPackageArn"]}
            key, description = self._new_package(params, now, who)
            self.packages.add(key, ModelPackage(description, list(params.get("Tags") or []), token),
                              ValidationException(f"Cannot create already existing model package "
                                                  f"\"{description['ModelPackageArn']}\"."))
        self._publish(description)
        return {"ModelPackageArn": description["ModelPackageArn"]}

    def _new_package(self, params: dict, now, who: dict) -> tuple[str, dict]:
        """(store key, Describe answer) of the package CreateModelPackage asks for; under the lock."""
        if not params.get("ModelPackageGroupName"):
            name = params["ModelPackageName"]
            return name.lower(), requests.new_description(params, name, self.arn("model-package", name), now, who)
        reference = params["ModelPackageGroupName"]
        if self._key(reference, "model-package-group") not in self.groups:
            raise ValidationException(f"{self._group_missing(reference).message} Create it with "
                                      "CreateModelPackageGroup before registering versions in it.")
        group = self._group(reference)
        group.versions_issued += 1
        self.groups.save(self._key(reference, "model-package-group"))
        name = group.description["ModelPackageGroupName"]
        key = f"{name}/{group.versions_issued}".lower()
        description = requests.new_description(params, f"{name}/{group.versions_issued}",
                                               self.arn("model-package", key), now, who)
        description.update(requests.versioned_fields(name, group.versions_issued, params))
        return key, description

    def describe_model_package(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._package(params["ModelPackageName"])[1].description)

    def list_model_packages(self, params: dict) -> dict:
        group = params.get("ModelPackageGroupName")
        kind = "Versioned" if group else params.get("ModelPackageType") or "Unversioned"  # the documented default
        group_name = group and self._key(group, "model-package-group")
        with self.lock:
            records = sorted(self.packages.values(), key=lambda p: (p.description.get("ModelPackageGroupName", ""),
                                                                     p.description.get("ModelPackageVersion", 0)))
            items = [copy.deepcopy(p.description) for p in records
                     if (kind == "Both" or p.versioned == (kind == "Versioned"))
                     and (not group or p.description["ModelPackageGroupName"].lower() == group_name)
                     and (not params.get("ModelApprovalStatus") or p.approval == params["ModelApprovalStatus"])]
        # Newest first unless SortOrder says otherwise: the API reference names Ascending, but AWS's own
        # project seed code (build.py, get_approved_package) takes the first CreationTime-sorted summary
        # as "the latest approved" version, which is what AWS answers.
        return list_page(items, params, "ListModelPackages", name_key="ModelPackageName",
                         result_key="ModelPackageSummaryList", fields=requests.SUMMARY_FIELDS, default_max=10)

    def update_model_package(self, params: dict) -> dict:
        who = self._who()
        with self.lock:
            key, package = self._package(params["ModelPackageArn"])
            old = package.approval
            new = params.get("ModelApprovalStatus") or old
            if params.get("ModelApprovalStatus"):
                self._check_approval(package, old, new)
            description = requests.updated(package.description, params)
            description.update({"LastModifiedTime": utc_now(), "LastModifiedBy": who})
            if new:
                description["ModelApprovalStatus"] = new
            package.description = description
            self.packages.save(key)
        if new != old:
            self._publish(description)
        return {"ModelPackageArn": description["ModelPackageArn"]}

    def _check_approval(self, package: ModelPackage, old: str | None, new: str) -> None:
        arn = package.description["ModelPackageArn"]
        require(package.versioned, f"ModelApprovalStatus applies to versioned model packages only, and {arn} is "
                "unversioned: register the model in a model package group to approve it.")
        require(new == old or APPROVAL.allows(old, new),
                f"Model package {arn} is {old} and cannot be set to {new}: a version that is {old} can be set "
                f"to {' or '.join(sorted(APPROVAL.transitions[old]))} only.")

    def delete_model_package(self, params: dict) -> dict:
        with self.lock:
            key, package = self._package(params["ModelPackageName"])
            MODEL_PACKAGE.check(package.description["ModelPackageStatus"], "Deleting")
            self.packages.delete(key)
        return {}

    # ---- for CreateModel (hosting/models.py) ----

    def model_containers(self, params: dict) -> dict:
        """CreateModel's request with every container that names a model package replaced by that package's
        containers (the request as it is when none does). A versioned package must be Approved: botocore's
        CreateModelPackage documents that a version must be Approved to deploy, and SDK v2's
        ModelPackage.deploy() approves the version before CreateModel for that reason."""
        primary, containers = params.get("PrimaryContainer"), params.get("Containers")
        given = [primary] if primary and not containers else containers if containers and not primary else []
        if not any(c.get("ModelPackageName") for c in given):
            return params
        expanded = [c for container in given for c in self._containers_of(container)]
        resolved = {k: v for k, v in params.items() if k not in ("PrimaryContainer", "Containers")}
        # One container is a model's PrimaryContainer, however it was named (AWS's registry guide creates a
        # model from a version with Containers=[{"ModelPackageName": arn}]).
        resolved.update({"PrimaryContainer": expanded[0]} if len(expanded) == 1 else {"Containers": expanded})
        return resolved

    def _containers_of(self, container: dict) -> list[dict]:
        if not container.get("ModelPackageName"):
            return [container]
        with self.lock:
            package = copy.deepcopy(self._package(container["ModelPackageName"])[1])
        arn = package.description["ModelPackageArn"]
        require(not package.versioned or package.approval == APPROVED,
                f"Model package {arn} is {package.approval}: a model package version must be Approved before a "
                "model is created from it. Approve it with UpdateModelPackage(ModelPackageArn=..., "
                "ModelApprovalStatus='Approved').")
        return requests.package_containers(container, package.description)

    def _publish(self, description: dict) -> None:
        self.ctx.events.publish("aws.sagemaker", DETAIL_TYPE, requests.event_detail(description),
                                [description["ModelPackageArn"]])
