"""The schemas labcloud generates from botocore agree with the ACK SageMaker controller's CRDs
(../shared/reference/ack-crds/): every field a CRD has, labcloud has under the same name, with the same
type and the same required fields. labcloud may have more: botocore is newer than the controller's release,
so SageMaker members added since then appear only in labcloud's schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labcloud.services.kubernetes.kinds import KINDS
from labcloud.services.kubernetes.schemas import spec_schema, status_schema

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ack-crds"
ISSUE_KINDS = ("TrainingJob", "ProcessingJob", "TransformJob", "Model", "EndpointConfig", "Endpoint",
               "ModelPackageGroup", "ModelPackage", "Pipeline", "PipelineExecution")
# Fields the controller adds from other calls than the create call; labcloud's spec is the create call's.
NOT_FROM_THE_CREATE_CALL = {"ModelPackage": {"spec.approvalDescription"}}  # UpdateModelPackage's member

pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"no reference CRDs at {REFERENCE}")


def differences(ours: dict, theirs: dict, path: str) -> list[str]:
    """Where `theirs` (a CRD's schema) has what `ours` lacks or types otherwise; extra fields of ours pass."""
    if theirs.get("x-kubernetes-preserve-unknown-fields") or ours.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if ours.get("type") != theirs.get("type"):
        return [f"{path}: type {ours.get('type')} where the CRD has {theirs.get('type')}"]
    found = []
    if theirs.get("type") == "array":
        return differences(ours.get("items", {}), theirs.get("items", {}), f"{path}[]")
    if theirs.get("type") == "object":
        if "properties" in theirs:
            mine = ours.get("properties")
            if mine is None:
                return [f"{path}: a map where the CRD has fields"]
            for name, schema in theirs["properties"].items():
                if name not in mine:
                    found.append(f"{path}.{name}: missing")
                else:
                    found += differences(mine[name], schema, f"{path}.{name}")
        elif isinstance(theirs.get("additionalProperties"), dict):
            if not isinstance(ours.get("additionalProperties"), dict):
                return [f"{path}: fields where the CRD has a map"]
            found += differences(ours["additionalProperties"], theirs["additionalProperties"], f"{path}{{}}")
        if sorted(ours.get("required", [])) != sorted(theirs.get("required", [])):
            found.append(f"{path}: required {sorted(ours.get('required', []))} where the CRD has "
                         f"{sorted(theirs.get('required', []))}")
    return found


def crd_schema(kind) -> dict:
    crd = yaml.safe_load((REFERENCE / f"sagemaker.services.k8s.aws_{kind.plural}.yaml").read_text())
    assert crd["spec"]["names"]["kind"] == kind.kind
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1"
    return version["schema"]["openAPIV3Schema"]["properties"]


def test_labcloud_serves_every_kind_the_course_needs():
    served = {kind.kind for kind in KINDS}
    assert set(ISSUE_KINDS) <= served


@pytest.mark.parametrize("kind", [k for k in KINDS if k.kind in ISSUE_KINDS], ids=lambda k: k.kind)
def test_the_generated_schema_agrees_with_the_controllers_crd(kind):
    theirs = crd_schema(kind)
    found = differences(spec_schema(kind), theirs["spec"], "spec") + \
        differences(status_schema(kind), theirs["status"], "status")
    allowed = NOT_FROM_THE_CREATE_CALL.get(kind.kind, set())
    assert [d for d in found if d.split(":")[0] not in allowed] == []
    assert {d.split(":")[0] for d in found} == allowed, "an allowed difference is gone: drop it from the list"


def test_the_comparison_catches_a_misnamed_field_a_wrong_type_and_a_required_field():
    crd = {"type": "object", "required": ["roleARN"], "properties": {
        "roleARN": {"type": "string"}, "volumeSizeInGB": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}}}}}}
    ours = {"type": "object", "properties": {
        "roleArn": {"type": "string"}, "volumeSizeInGB": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}}}}}}
    assert differences(ours, crd, "spec") == [
        "spec.roleARN: missing", "spec.volumeSizeInGB: type string where the CRD has integer",
        "spec: required [] where the CRD has ['roleARN']"]


@pytest.mark.parametrize("kind", [k for k in KINDS if k.kind in ISSUE_KINDS], ids=lambda k: k.kind)
def test_kubectl_gets_the_printer_columns_of_the_controllers_crd(kind):
    crd = yaml.safe_load((REFERENCE / f"sagemaker.services.k8s.aws_{kind.plural}.yaml").read_text())
    theirs = [(c["name"], c["jsonPath"], c.get("priority", 0))
              for c in crd["spec"]["versions"][0].get("additionalPrinterColumns", [])]
    assert [(name, f".status.{field}", priority) for name, field, priority in kind.printer_columns] == theirs
