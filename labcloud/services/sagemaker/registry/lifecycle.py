"""The life cycles of a model package, as DescribeModelPackage reports them.

ModelPackageStatus
    CreateModelPackage  -> Pending -> InProgress -> Completed
    DeleteModelPackage  Completed -> Deleting -> (gone)
  AWS validates a new package (ValidationSpecification's transform jobs, an image scan) while it is
  InProgress. labcloud runs neither (CreateModelPackage refuses a ValidationSpecification), so a package
  passes Pending and InProgress within CreateModelPackage and is Completed when the call returns, with
  empty ValidationStatuses and ImageScanStatuses, as AWS reports a package it had nothing to validate for.

ModelApprovalStatus (versioned packages only)
    PendingManualApproval -> Approved | Rejected;  Approved <-> Rejected
  The transitions the Developer Guide lists as the valid ones ("Update the Approval Status of a Model",
  model-registry-approve.html). Going back to PendingManualApproval is refused: that rule is labcloud's
  reading of that page, not an error message AWS is known to give.
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

PENDING_APPROVAL = "PendingManualApproval"
APPROVED = "Approved"

MODEL_PACKAGE = Lifecycle("model package", {
    "Pending": {"InProgress", "Failed", "Deleting"},
    "InProgress": {"Completed", "Failed", "Deleting"},
    "Completed": {"Deleting"},
    "Failed": {"Deleting"},
    "Deleting": set(),
})

APPROVAL = Lifecycle("model approval", {
    PENDING_APPROVAL: {APPROVED, "Rejected"},
    APPROVED: {"Rejected"},
    "Rejected": {APPROVED},
})
