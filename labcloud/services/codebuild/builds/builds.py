"""Builds: StartBuild, BatchGetBuilds, ListBuildsForProject, ListBuilds, StopBuild.

A build is "<project>:<uuid>", numbered per project. StartBuild answers at once (phases SUBMITTED and
QUEUED) and a BuildWorker (worker.py) runs it; every change of its record (a phase entered or ended, the
resolved source version, the artifacts, the end) goes through this family, under its lock, and is saved.
A build in progress when labcloud stopped, cleanly or not, ends FAULT: CodeBuild never runs a build twice,
and a new StartBuild runs it afresh (lifecycle.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from pathlib import Path

from labcloud.core.clock import utc_now
from labcloud.platform import processes
from labcloud.platform.background import Workers
from labcloud.services.codebuild.builds.lifecycle import BUILD, SERVER_STOPPED, PHASE
from labcloud.services.codebuild.builds.plan import plan
from labcloud.services.codebuild.builds.records import Build, BuildRun
from labcloud.services.codebuild.builds.worker import SHUTDOWN_GRACE_SECONDS, BuildWorker, container_line
from labcloud.services.codebuild.exceptions import (AccountLimitExceededException, InvalidInputException,
                                                    ResourceNotFoundException)
from labcloud.services.codebuild.paging import page

KIND = "builds"
IDEMPOTENCY_SECONDS = 300  # a StartBuild idempotencyToken holds for 5 minutes
INITIATOR = "labcloud"  # the caller's name: labcloud's one (dummy) user


def build_id(name_or_arn: str) -> str:
    """A build's id, from its id or its ARN (arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>)."""
    return name_or_arn.split(":build/", 1)[1] if ":build/" in name_or_arn else name_or_arn


def _digest(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _seconds(start, end) -> int:
    return max(0, int((end - start).total_seconds()))


class Builds:
    def __init__(self, ctx, store, projects):
        self.ctx, self.store, self.projects = ctx, store, projects
        self.lock = threading.RLock()
        self.builds: dict[str, Build] = {}
        self.workers = Workers()

    # -- life of the family ----------------------------------------------------------------------------
    def start(self) -> None:
        self.builds = {i: Build.from_store(r) for i, r in self.store.load_all(KIND).items()}
        for build_id_, build in self.builds.items():
            if build.status == "IN_PROGRESS":  # labcloud died during it (a clean stop ends builds itself)
                if build.run.log_group:
                    self.ctx.log_shipper.ship(build.run.log_group, build.run.log_stream,
                                              container_line(f"labcloud: {SERVER_STOPPED['message']}"))
                self.end_phase(build_id_, "FAULT", dict(SERVER_STOPPED))
                self.finish(build_id_, "FAULT")

    def shutdown(self) -> None:
        grace = min(self.ctx.settings.stop_grace_seconds, SHUTDOWN_GRACE_SECONDS)
        self.workers.shutdown(grace + 15)
        for worker in self.workers.all():
            if worker.process is not None and worker.process.poll() is None:
                processes.terminate_group(worker.process, 0)

    def status(self) -> dict:
        with self.lock:
            return {"codebuild_builds_in_progress": sorted(i for i, b in self.builds.items()
                                                           if b.status == "IN_PROGRESS")}

    # -- for the worker --------------------------------------------------------------------------------
    def build_folder(self, build_id_: str) -> Path:
        project, _, build_uuid = build_id_.partition(":")
        # Not the id itself: a ':' in CODEBUILD_SRC_DIR would break PATH-like variables that hold it.
        return Path(self.ctx.work_dir) / "codebuild" / project / build_uuid

    def snapshot(self, build_id_: str) -> Build:
        with self.lock:
            return copy.deepcopy(self.builds[build_id_])

    def _save(self, build_id_: str) -> None:
        with self.lock:
            record = self.builds[build_id_].to_store()
        self.store.save(KIND, build_id_, record)

    def enter_phase(self, build_id_: str, phase: str) -> None:
        """Begin `phase`; the phase before it ends SUCCEEDED if nothing ended it otherwise."""
        with self.lock:
            build = self.builds[build_id_].description
            current = build["phases"][-1]
            PHASE.check(current["phaseType"], phase)
            if "phaseStatus" not in current:
                self._end(current, "SUCCEEDED", None)
            build["phases"].append({"phaseType": phase, "startTime": utc_now()})
            build["currentPhase"] = phase
        self._save(build_id_)

    def end_phase(self, build_id_: str, status: str, context: dict | None = None) -> bool:
        """End the current phase with `status` (and the context that says why); False when it had ended."""
        with self.lock:
            current = self.builds[build_id_].description["phases"][-1]
            if "phaseStatus" in current:
                return False
            self._end(current, status, context)
        self._save(build_id_)
        return True

    @staticmethod
    def _end(phase: dict, status: str, context: dict | None) -> None:
        now = utc_now()
        phase.update({"phaseStatus": status, "endTime": now, "durationInSeconds": _seconds(phase["startTime"], now),
                      "contexts": [context or {"statusCode": "", "message": ""}]})

    def update(self, build_id_: str, **fields) -> None:
        """Set fields of the build's record (resolvedSourceVersion, artifacts, exportedEnvironmentVariables)."""
        with self.lock:
            self.builds[build_id_].description.update(copy.deepcopy(fields))
        self._save(build_id_)

    def finish(self, build_id_: str, status: str) -> None:
        """FINALIZING ends, COMPLETED begins, and the build ends with `status`; a stop that began first
        makes it STOPPED."""
        with self.lock:
            record = self.builds[build_id_]
            if record.status != "IN_PROGRESS":
                return
            if record.run.stop_reason and status in ("SUCCEEDED", "FAILED"):
                status = "STOPPED"
            BUILD.check(record.status, status)
            build = record.description
            if build["currentPhase"] != "FINALIZING":
                self.end_phase(build_id_, status)
                build["phases"].append({"phaseType": "FINALIZING", "startTime": utc_now()})
            current = build["phases"][-1]
            if "phaseStatus" not in current:
                self._end(current, "SUCCEEDED", None)
            now = utc_now()
            build["phases"].append({"phaseType": "COMPLETED", "startTime": now})
            build.update({"currentPhase": "COMPLETED", "buildStatus": status, "endTime": now, "buildComplete": True})
        self._save(build_id_)

    def stop_requested(self, build_id_: str) -> bool:
        with self.lock:
            return bool(self.builds[build_id_].run.stop_reason)

    # -- the API ---------------------------------------------------------------------------------------
    def _get(self, given: str) -> Build:
        build = self.builds.get(build_id(given))
        if build is None:
            raise ResourceNotFoundException(f"Build not found: {given}")
        return build

    def _retried(self, token: str | None, digest: str) -> dict | None:
        """The build a StartBuild with this idempotencyToken started in the last 5 minutes, if any."""
        if not token:
            return None
        now = utc_now()
        for build in self.builds.values():
            recent = _seconds(build.description["startTime"], now) < IDEMPOTENCY_SECONDS
            if build.run.idempotency_token == token and recent:
                if build.run.request_digest != digest:
                    raise InvalidInputException(f"Invalid input: the idempotencyToken {token} was used within the "
                                                f"last 5 minutes with different parameters; use a new token.")
                return {"build": copy.deepcopy(build.description)}
        return None

    def start_build(self, params: dict) -> dict:
        project = self.projects.get(params["projectName"])
        name = project["name"]
        digest = _digest(params)
        with self.lock:
            retried = self._retried(params.get("idempotencyToken"), digest)
            if retried:
                return retried
            settings = plan(project, params)
            limit = project.get("concurrentBuildLimit")
            running = sum(1 for b in self.builds.values()
                          if b.description["projectName"] == name and b.status == "IN_PROGRESS")
            if limit and running >= limit:
                raise AccountLimitExceededException(f"Cannot have more than {limit} active builds for the project "
                                                    f"{name} (its concurrentBuildLimit).")
            build_uuid = str(uuid.uuid4())
            new_id = f"{name}:{build_uuid}"
            now = utc_now()
            build = {
                "id": new_id, "arn": self.ctx.arn("codebuild", f"build/{new_id}"),
                "buildNumber": self.projects.next_build_number(name), "startTime": now, "currentPhase": "QUEUED",
                "buildStatus": "IN_PROGRESS", "projectName": name,
                "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": now, "endTime": now,
                            "durationInSeconds": 0, "contexts": [{"statusCode": "", "message": ""}]},
                           {"phaseType": "QUEUED", "startTime": now}],
                "source": settings.source, "secondarySources": settings.secondary_sources,
                "secondarySourceVersions": settings.secondary_versions,
                "artifacts": settings.artifacts_location(build_uuid),
                "secondaryArtifacts": settings.secondary_artifacts_locations(build_uuid),
                "cache": copy.deepcopy(project.get("cache") or {"type": "NO_CACHE"}),
                "environment": settings.environment, "serviceRole": settings.service_role,
                "logs": settings.logs_location(name, build_uuid, self.ctx.region, self.ctx.account_id),
                "timeoutInMinutes": settings.timeout_minutes,
                "queuedTimeoutInMinutes": settings.queued_timeout_minutes, "buildComplete": False,
                "initiator": INITIATOR, "encryptionKey": project.get("encryptionKey"),
            }
            if settings.source_version:
                build["sourceVersion"] = settings.source_version
            target = settings.log_target(name, build_uuid)
            run = BuildRun(buildspec=settings.buildspec, artifacts=settings.artifacts,
                           secondary_artifacts=settings.secondary_artifacts,
                           log_group=target[0] if target else None, log_stream=target[1] if target else None,
                           idempotency_token=params.get("idempotencyToken"), request_digest=digest)
            self.builds[new_id] = Build(build, run)
            answer = copy.deepcopy(build)
        self._save(new_id)
        self.workers.launch(BuildWorker(self, new_id))
        return {"build": answer}

    def batch_get_builds(self, params: dict) -> dict:
        found, missing = [], []
        with self.lock:
            for given in params["ids"]:
                build = self.builds.get(build_id(given))
                if build is None:
                    missing.append(given)
                else:
                    found.append(copy.deepcopy(build.description))
        return {"builds": found, "buildsNotFound": missing}

    def _ids(self, params: dict, project: str | None = None) -> list[str]:
        with self.lock:
            builds = [b.description for b in self.builds.values()
                      if project is None or b.description["projectName"] == project]
        builds.sort(key=lambda b: (b["startTime"], b["buildNumber"]),
                    reverse=(params.get("sortOrder") or "DESCENDING") == "DESCENDING")
        return [b["id"] for b in builds]

    def list_builds_for_project(self, params: dict) -> dict:
        name = self.projects.get(params["projectName"])["name"]
        return page(self._ids(params, name), params, "ListBuildsForProject", "ids")

    def list_builds(self, params: dict) -> dict:
        return page(self._ids(params), params, "ListBuilds", "ids")

    def stop_build(self, params: dict) -> dict:
        """Ask the build's worker to stop it (SIGTERM, then SIGKILL after the grace period). A build that has
        ended is answered as it is."""
        with self.lock:
            record = self._get(params["id"])
            key = record.description["id"]
            if record.status != "IN_PROGRESS":
                return {"build": copy.deepcopy(record.description)}
            record.run.stop_reason = "StopBuild"
            answer = copy.deepcopy(record.description)
        self._save(key)
        running = [w for w in self.workers.of(key) if w.alive]
        for worker in running:
            worker.stop()
        if not running:
            self.finish(key, "STOPPED")
        return {"build": answer}
