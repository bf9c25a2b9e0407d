"""The CodeBuild API that labcloud serves: every operation, and the family method that answers it.

Only what is listed here is reachable from the wire. Each method takes the request's parameters as a dict
and returns the response as a dict (datetimes allowed; the protocol layer serializes them).
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {
    # projects/
    "CreateProject": "projects.create_project",
    "BatchGetProjects": "projects.batch_get_projects",
    "ListProjects": "projects.list_projects",
    "UpdateProject": "projects.update_project",
    "DeleteProject": "projects.delete_project",
    # builds/
    "StartBuild": "builds.start_build",
    "BatchGetBuilds": "builds.batch_get_builds",
    "ListBuildsForProject": "builds.list_builds_for_project",
    "ListBuilds": "builds.list_builds",
    "StopBuild": "builds.stop_build",
}
