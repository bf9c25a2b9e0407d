"""The life cycle of a project, as DescribeProject reports ProjectStatus.

    Pending -> CreateInProgress -> CreateCompleted | CreateFailed
    CreateCompleted | UpdateCompleted | UpdateFailed -> UpdateInProgress -> UpdateCompleted | UpdateFailed
    any settled status -> DeleteInProgress -> (gone) | DeleteFailed
"""

from __future__ import annotations

from labcloud.platform.lifecycle import Lifecycle

SETTLED = ("CreateCompleted", "CreateFailed", "UpdateCompleted", "UpdateFailed", "DeleteFailed")
BUSY = ("Pending", "CreateInProgress", "UpdateInProgress", "DeleteInProgress")

PROJECT = Lifecycle("project", {
    "Pending": {"CreateInProgress", "CreateFailed"},
    "CreateInProgress": {"CreateCompleted", "CreateFailed"},
    "CreateCompleted": {"UpdateInProgress", "DeleteInProgress"},
    "CreateFailed": {"DeleteInProgress"},
    "UpdateInProgress": {"UpdateCompleted", "UpdateFailed"},
    "UpdateCompleted": {"UpdateInProgress", "DeleteInProgress"},
    "UpdateFailed": {"UpdateInProgress", "DeleteInProgress"},
    "DeleteInProgress": {"DeleteCompleted", "DeleteFailed"},
    "DeleteFailed": {"DeleteInProgress"},
    "DeleteCompleted": set(),
})
