"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

Jobs really run (see training_run.py and labcloud/runtime/). Records are saved in the store at every
change; a job that was in progress when the server died is resumed when it starts again: it restarts
from its last checkpoint when it has a CheckpointConfig, from scratch otherwise, with a `Restarting`
transition that says which. A server that stops normally ends the job processes and leaves the records
in progress, so the next start resumes them, as SageMaker would have carried them on meanwhile.

Billing, as DescribeTrainingJob reports it:
- TrainingTimeInSeconds: the seconds the job's container ran, summed over all attempts (a spot job
  that was interrupted ran several times), rounded up, at least 1.
- BillableTimeInSeconds: the same for on-demand jobs; for managed spot jobs
  ceil(TrainingTimeInSeconds x settings.spot_price_ratio), so the SDK's "Managed Spot Training savings"
  (1 - Billable / Training) x 100 is the simulated spot discount. Waiting for capacity is not billed.
"""

from __future__ import annotations

import copy
import math
import threading
from pathlib import Path

from labcloud.platform import processes
from labcloud.core.errors import ResourceInUse, ValidationException
from labcloud.runtime.images import resolve
from labcloud.runtime.training import isolation
from labcloud.services.sagemaker.training import lifecycle
from labcloud.services.sagemaker.family import ResourceFamily, utc_now
from labcloud.services.sagemaker.training.run import TrainingRun
from labcloud.protocols.pagination import list_page

KIND = "training-jobs"
DEFAULT_MAX_RUNTIME = 86400
_STOP_TERMINALS = {"Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"}
_NOT_COPIED = {"TrainingJobName", "Tags"}

class TrainingJobs(ResourceFamily):
    def __init__(self, ctx, backend):
        super().__init__(ctx, backend)
        self.jobs: dict[str, dict] = {}  # name -> DescribeTrainingJob response
        self.runs_state: dict[str, dict] = {}  # name -> labcloud's bookkeeping (attempts, seconds run, ...)
        self.tags: dict[str, list] = {}
        self.runs: dict[str, TrainingRun] = {}

    # -- persistence -----------------------------------------------------------------------------------
    def save(self, name: str) -> None:
        with self.lock:
            record = copy.deepcopy({"job": self.jobs[name], "run": self.runs_state[name],
                                    "tags": self.tags.get(name, [])})
        self.ctx.store.save(KIND, name, record)

    def job_folder(self, name: str) -> Path:
        return Path(self.ctx.work_dir) / "training-jobs" / name

    def start(self) -> None:
        # Pay one-time costs (boto3 clients, the mount probe) now rather than in the first job's Starting.
        threading.Thread(target=self._warm_up, name="training-warm-up", daemon=True).start()
        for name, record in self.ctx.store.load_all(KIND).items():
            self.jobs[name], self.runs_state[name] = record["job"], record.get("run", {})
            self.tags[name] = record.get("tags", [])
        for name, job in self.jobs.items():
            if job["TrainingJobStatus"] == "Stopping":
                self.finish(name, self.runs_state[name].get("stop_reason") or "Stopped")
            elif job["TrainingJobStatus"] == "InProgress":
                checkpoint = job.get("CheckpointConfig")
                how = (f"from its last checkpoint in {checkpoint['S3Uri']}" if checkpoint
                       else "from the beginning (the job has no CheckpointConfig)")
                self.transition(name, "Restarting",
                                f"labcloud restarted while the job ran; restarting the job {how}")
                self._launch(name)

    def _warm_up(self) -> None:
        isolation.private_mounts_available()
        for service in ("s3", "logs"):
            self.ctx.client(service)

    def shutdown(self) -> None:
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.thread.join(timeout=processes_grace(self.ctx) + 15)
            if run.process is not None and run.process.poll() is None:
                processes.terminate_group(run.process, 0)

    def status(self) -> dict:
        with self.lock:
            return {"training_jobs_in_progress": sorted(n for n, j in self.jobs.items()
                                                        if j["TrainingJobStatus"] in ("InProgress", "Stopping"))}

    # -- state changes the runner makes ----------------------------------------------------------------
    def transition(self, name: str, status: str, message: str | None = None) -> bool:
        """Move the job to secondary `status`. False when a stop got there first (the runner then stops)."""
        with self.lock:
            job = self.jobs[name]
            current = job["SecondaryStatus"]
            if current == status:
                return True
            if job["TrainingJobStatus"] == "Stopping" and status not in _STOP_TERMINALS | {"Failed"}:
                return False
            lifecycle.check(current, status)
            now = utc_now()
            transitions = job["SecondaryStatusTransitions"]
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = now
            transitions.append({"Status": status, "StartTime": now,
                                "StatusMessage": message or lifecycle.MESSAGES.get(status, status)})
            job["SecondaryStatus"] = status
            job["TrainingJobStatus"] = lifecycle.PRIMARY[status]
            job["LastModifiedTime"] = now
            if status == "Downloading" and "TrainingStartTime" not in job:
                job["TrainingStartTime"] = now
        self.save(name)
        return True

    def finish(self, name: str, status: str, failure: str | None = None) -> None:
        with self.lock:
            job = self.jobs[name]
            if status in _STOP_TERMINALS and job["SecondaryStatus"] != "Stopping":
                self.transition(name, "Stopping")
            if not self.transition(name, status):
                # A StopTrainingJob landed between the runner's last check and here: the stop wins.
                self.transition(name, self.runs_state[name].get("stop_reason") or "Stopped")
            now = job["LastModifiedTime"]
            job["SecondaryStatusTransitions"][-1]["EndTime"] = now
            job["TrainingEndTime"] = now
            if failure:
                job["FailureReason"] = failure
            seconds = self.runs_state[name].get("container_seconds", 0.0)
            training = max(1, math.ceil(seconds))
            job["TrainingTimeInSeconds"] = training
            if job.get("EnableManagedSpotTraining"):
                job["BillableTimeInSeconds"] = max(1, math.ceil(training * self.ctx.settings.spot_price_ratio))
            else:
                job["BillableTimeInSeconds"] = training
        self.save(name)

    def run_ended(self, name: str) -> None:
        with self.lock:
            self.runs.pop(name, None)

    def _launch(self, name: str) -> None:
        run = TrainingRun(self, name)
        with self.lock:
            self.runs[name] = run
        run.start()

    # -- the API ---------------------------------------------------------------------------------------
    def create_training_job(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        arn = self.ctx.sagemaker_arn("training-job", name)
        spec = dict(params["AlgorithmSpecification"])
        if not spec.get("TrainingImage"):
            raise ValidationException(
                "labcloud runs training images only: AlgorithmName (an algorithm resource or AWS Marketplace "
                "algorithm) is not available offline. Set AlgorithmSpecification.TrainingImage.")
        spec.setdefault("TrainingInputMode", "File")
        modes = {spec["TrainingInputMode"]} | {c.get("InputMode") for c in params.get("InputDataConfig") or []}
        if "Pipe" in modes:
            raise ValidationException("labcloud supports the File and FastFile input modes, not Pipe: set "
                                      "TrainingInputMode (or the channel's InputMode) to File.")
        resolve(spec["TrainingImage"], self.ctx.state_dir, self.ctx.account_id)
        stopping = dict(params.get("StoppingCondition") or {})
        stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        if params.get("EnableManagedSpotTraining"):
            max_wait = stopping.get("MaxWaitTimeInSeconds")
            if max_wait is None or max_wait < stopping["MaxRuntimeInSeconds"]:
                raise ValidationException("Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
                                          "or equal to MaxRuntimeInSeconds")
        now = utc_now()
        job = {k: copy.deepcopy(v) for k, v in params.items() if k not in _NOT_COPIED and v is not None}
        job.update({
            "TrainingJobName": name, "TrainingJobArn": arn, "AlgorithmSpecification": spec,
            "StoppingCondition": stopping, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting",
            "CreationTime": now, "LastModifiedTime": now,
            "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": now,
                                            "StatusMessage": lifecycle.MESSAGES["Starting"]}],
            "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": bool(params.get("EnableInterContainerTrafficEncryption",
                                                                     False)),
            "EnableManagedSpotTraining": bool(params.get("EnableManagedSpotTraining", False)),
        })
        with self.lock:
            if name in self.jobs:
                existing = self.jobs[name]["TrainingJobArn"]
                raise ResourceInUse("Training job names must be unique within an AWS account and region, and a "
                                    f"training job with this name already exists ({existing})")
            self.jobs[name] = job
            self.runs_state[name] = {}
            self.tags[name] = list(params.get("Tags") or [])
        self.save(name)
        self._launch(name)
        return {"TrainingJobArn": arn}

    def _get(self, name: str) -> dict:
        job = self.jobs.get(name)
        if job is None:
            raise ValidationException("Requested resource not found.")
        return job

    def describe_training_job(self, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(params["TrainingJobName"]))

    def stop_training_job(self, params: dict) -> dict:
        name = params["TrainingJobName"]
        with self.lock:
            job = self._get(name)
            if job["TrainingJobStatus"] != "InProgress":
                raise ValidationException("The request was rejected because the training job is in status "
                                          f"{job['TrainingJobStatus']}.")
            self.runs_state[name]["stop_reason"] = "Stopped"
            self.transition(name, "Stopping")
            run = self.runs.get(name)
        if run is not None:
            run.stop_requested.set()
        else:
            self.finish(name, "Stopped")
        return {}

    def list_training_jobs(self, params: dict) -> dict:
        with self.lock:
            jobs = [copy.deepcopy(j) for j in self.jobs.values()]
        return list_page(jobs, params, "ListTrainingJobs", name_key="TrainingJobName",
                         result_key="TrainingJobSummaries",
                         fields=["TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime",
                                 "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus"],
                         status_key="TrainingJobStatus")


def processes_grace(ctx) -> float:
    from labcloud.services.sagemaker.training.run import SHUTDOWN_GRACE_SECONDS

    return min(ctx.settings.stop_grace_seconds, SHUTDOWN_GRACE_SECONDS)
