"""Running one training job: its attempts, its container process, its stops and interruptions.

A TrainingWorker runs one job on its own thread. Each attempt is one "instance": a fresh /opt/ml,
Starting -> Downloading (channels, code, checkpoints) -> Training (the process) -> then, by what ended
it, Uploading -> Completed, Failed, Stopping -> Stopped | MaxRuntimeExceeded | MaxWaitTimeExceeded, or
Interrupted -> (wait for spot capacity) -> a new attempt. Every change of the job's record goes through
the family (jobs.py), under its lock.
"""

from __future__ import annotations

import collections
import enum
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from labcloud.core.constants import failure_reason
from labcloud.platform import processes
from labcloud.platform.background import Worker
from labcloud.services.sagemaker.job_family import SHUTDOWN_GRACE_SECONDS
from labcloud.runtime.images import ImageCommand, resolve
from labcloud.runtime.s3_transfer import UnsafeKeyError
from labcloud.runtime.training import checkpoints, container, isolation
from labcloud.runtime.training.spot import SpotPolicy, tagged_interruptions
from labcloud.services.sagemaker.training.metrics import PUBLISH_EVERY, MetricScanner

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 1.0  # how often a running attempt's seconds are saved (billing after a crash)
_TAIL_LINES = 12


class Attempt(enum.Enum):
    """How an attempt (and so the job's worker) ended."""
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"  # spot capacity lost: another attempt follows
    SHUT_DOWN = "shut down"  # the server stops: the job stays as it is, a restart resumes it


class EndedBy(enum.Enum):
    """Why the container process ended."""
    EXITED = "exited"
    SHUTDOWN = "shutdown"
    INTERRUPTED = "interrupted"
    STOPPED = "Stopped"  # the values are the secondary statuses the job then ends in
    MAX_RUNTIME = "MaxRuntimeExceeded"
    MAX_WAIT = "MaxWaitTimeExceeded"


class _Shutdown(Exception):
    """The server is stopping: leave the job as it is, a restart resumes it."""


@dataclass
class Instance:
    """One attempt's container: its folder, layout, image, script mode and checkpoint folder."""
    folder: Path
    layout: container.ContainerLayout
    image: ImageCommand
    script: container.ScriptMode | None
    checkpoint_dir: Path | None


class TrainingWorker(Worker):
    def __init__(self, family, name: str):
        super().__init__(family.ctx, name, "training")
        self.family = family
        self.name = name
        self.job = family.snapshot(name).description  # the request; statuses are read from the family
        self.interrupt_requested = threading.Event()
        self.process: subprocess.Popen | None = None
        self.log_stream: str | None = None
        # One scanner for all the job's attempts: a metric's last value is the last one any attempt printed.
        self.metrics = MetricScanner(name, f"{name}/{container.CURRENT_HOST}",
                                     self.job["AlgorithmSpecification"].get("MetricDefinitions"),
                                     previous=self.job.get("FinalMetricDataList"))

    # -- helpers ---------------------------------------------------------------------------------------
    def _run_state(self):
        return self.family.snapshot(self.name).run

    def _status(self) -> str:
        return self.family.snapshot(self.name).status

    def _stop_reason(self) -> str:
        return self._run_state().stop_reason or "Stopped"

    def _note(self, line: str) -> None:
        if self.log_stream:
            self.ctx.log_shipper.ship(LOG_GROUP, self.log_stream, line)

    def _check_shutdown(self) -> None:
        if self.ctx.shutting_down.is_set():
            raise _Shutdown()

    def _enter(self, status: str) -> bool:
        """Move to `status`; False when a stop got there first."""
        return self.family.transition(self.name, status)

    def _finish(self, status: str, failure: str | None = None) -> None:
        self.family.finish(self.name, status, failure)

    # -- the worker ------------------------------------------------------------------------------------
    def run(self) -> Attempt:
        try:
            self.log_stream = self._run_state().log_stream
            if not self.log_stream:
                self.log_stream = f"{self.name}/{container.CURRENT_HOST}-{int(time.time())}"
                self.family.update_run(self.name, log_stream=self.log_stream)
            self.ctx.log_shipper.open_stream(LOG_GROUP, self.log_stream)
            return self._run_attempts()
        except _Shutdown:
            return Attempt.SHUT_DOWN

    def failed(self, err: Exception) -> None:
        self._finish("Failed", failure=f"InternalServerError: labcloud could not run the job: {err}")

    def finished(self) -> None:
        self.ctx.log_shipper.flush()

    def _run_attempts(self) -> Attempt:
        policy = None
        if self.job.get("EnableManagedSpotTraining"):
            settings = self.ctx.settings
            policy = SpotPolicy(self.name, tagged_interruptions(self.family.snapshot(self.name).tags),
                                self._run_state().interruptions, settings.spot_interruption_rate, settings.spot_seed)
        while True:
            outcome = self._attempt(policy)
            if outcome is not Attempt.INTERRUPTED:
                return outcome
            outcome = self._wait_for_capacity()
            if outcome is not None:
                return outcome
            self.interrupt_requested.clear()

    def _wait_for_capacity(self) -> Attempt | None:
        """After an interruption: wait for spot capacity (simulated). None when a new attempt may start."""
        self.family.update_run(self.name, interruptions=self._run_state().interruptions + 1)
        self.family.transition(self.name, "Interrupted")
        wait = self.ctx.settings.spot_capacity_wait_seconds
        self._note(f"labcloud: spot capacity reclaimed (simulated); waiting {wait:g} s for capacity")
        left = self._max_wait_left()
        if left is not None and left <= wait:
            self._wait(left)
            return self._stop_without_container("MaxWaitTimeExceeded")
        if self._wait(wait):
            return self._stop_without_container(self._stop_reason())
        return None

    def _wait(self, seconds: float) -> bool:
        """Wait, unless stopped (True) or the server shuts down."""
        deadline = time.monotonic() + max(0.0, seconds)
        while time.monotonic() < deadline:
            self._check_shutdown()
            if self.stop_requested.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
                return True
        return self.stop_requested.is_set()

    def _max_wait_left(self) -> float | None:
        max_wait = (self.job.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
        if not self.job.get("EnableManagedSpotTraining") or not max_wait:
            return None
        return max_wait - (time.time() - self.job["CreationTime"].timestamp())

    def _max_runtime_left(self, running_since: float, ran_before: float) -> float:
        max_runtime = (self.job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400)
        return max_runtime - ran_before - (time.monotonic() - running_since)

    # -- one attempt -----------------------------------------------------------------------------------
    def _attempt(self, policy: SpotPolicy | None) -> Attempt:
        if not self._enter("Starting"):
            return self._stopped_early()
        instance = self._new_instance()
        if instance.image.kind == "builtin" or (instance.image.kind == "framework" and instance.script is None):
            self._finish("Failed", failure=(
                f"ClientError: labcloud runs {instance.image.image} in script mode only: set an entry point "
                f"(sagemaker_program), e.g. the SDK's XGBoost/SKLearn/PyTorch estimator with entry_point=. "
                f"SageMaker's built-in algorithms are not available offline."))
            return Attempt.FAILED
        if not self._enter("Downloading"):
            return self._stopped_early()
        s3 = self.ctx.client("s3")
        try:
            argv, cwd, restored = self._download(s3, instance)
        except (container.JobSetupError, UnsafeKeyError) as err:
            self._finish("Failed", failure=str(err))
            return Attempt.FAILED
        sync = self._checkpoint_sync(s3, instance, policy, restored)
        self._check_shutdown()
        if not self._enter("Training"):
            return self._stopped_early()
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        ended_by, exit_code = self._run_container(instance, argv, cwd, sync, tail, policy)
        return self._conclude(s3, instance, ended_by, exit_code, argv, tail)

    def _new_instance(self) -> Instance:
        """A fresh folder laid out as the container's /opt/ml, with its config files."""
        folder = self.family.job_folder(self.name)
        shutil.rmtree(folder, ignore_errors=True)  # every attempt is a fresh instance
        folder.mkdir(parents=True)
        image = resolve(self.job["AlgorithmSpecification"]["TrainingImage"], self.ctx.state_dir, self.ctx.account_id)
        isolated = isolation.private_mounts_available()
        layout = container.ContainerLayout(folder, isolation.OPT_ML if isolated else str(folder))
        if not isolated and not self._run_state().fallback_noted:
            self.family.update_run(self.name, fallback_noted=True)
            self._note(isolation.FALLBACK_NOTICE.format(folder=folder))
        checkpoint_dir = None
        if self.job.get("CheckpointConfig"):
            local = self.job["CheckpointConfig"].get("LocalPath") or checkpoints.DEFAULT_LOCAL_PATH
            inside = local.rstrip("/") == isolation.OPT_ML or local.startswith(isolation.OPT_ML + "/")
            checkpoint_dir = folder / local[len(isolation.OPT_ML):].strip("/") if inside else Path(local)
        container.make_folders(layout, [c["ChannelName"] for c in self.job.get("InputDataConfig") or []],
                               checkpoint_dir)
        container.write_config(layout, self.job)
        script = container.ScriptMode.from_hyperparameters(self.job.get("HyperParameters"))
        return Instance(folder, layout, image, script, checkpoint_dir)

    def _download(self, s3, instance: Instance) -> tuple[list[str], str, dict[str, str]]:
        """Channels, code and checkpoints into the instance; returns (argv, cwd, checkpoints restored)."""
        container.download_channels(s3, instance.layout, self.job)
        if instance.script is not None:
            container.download_code(s3, instance.layout, instance.script)
        argv, cwd = container.command(instance.layout, instance.image, instance.script)
        checkpoint = self.job.get("CheckpointConfig")
        restored = checkpoints.restore(s3, checkpoint["S3Uri"], instance.checkpoint_dir) if checkpoint else {}
        if instance.script is not None and instance.layout.path("code", "requirements.txt").is_file():
            self._note("labcloud: requirements.txt found in the source directory; labcloud does not install it "
                       "(it runs offline): the job uses the packages installed beside labcloud.")
        return argv, cwd, restored

    def _checkpoint_sync(self, s3, instance: Instance, policy: SpotPolicy | None, restored: dict[str, str]):
        checkpoint = self.job.get("CheckpointConfig")
        if not checkpoint:
            return None
        if restored:
            self._note(f"labcloud: restored {len(restored)} checkpoint file(s) from {checkpoint['S3Uri']}")

        def on_checkpoint():
            if policy is not None and policy.interrupt_after_checkpoint():
                self.interrupt_requested.set()

        sync = checkpoints.CheckpointSync(s3, checkpoint["S3Uri"], instance.checkpoint_dir, on_checkpoint)
        sync.mark_restored(restored)
        return sync

    def _run_container(self, instance: Instance, argv, cwd, sync, tail,
                       policy: SpotPolicy | None) -> tuple[EndedBy, int]:
        env = container.environment(instance.layout, self.job, instance.image, instance.script, self.ctx.endpoint_url)
        wrapped = isolation.wrap(argv, instance.folder, cwd)
        ran_before = self._run_state().container_seconds
        started = time.monotonic()
        self.process = subprocess.Popen(
            wrapped or argv, cwd=None if wrapped else cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=processes.die_with_parent)
        reader = threading.Thread(target=self._read_output, args=(self.process, tail), daemon=True)
        reader.start()
        if sync:
            sync.start()
        ended_by = self._supervise(started, ran_before, policy)
        exit_code = self.process.wait()
        # What the script left running (a data loader, a background helper) ends with the job, and lets go
        # of the output pipe.
        processes.terminate_group(self.process, 0)
        reader.join(timeout=10)
        self._report_metrics()
        self.ctx.log_shipper.flush()  # the script's last lines reach the logs before the status moves on
        self.family.add_container_seconds(self.name, time.monotonic() - started)
        if sync:
            sync.stop(final_sync=True)  # however it ended, the newest checkpoint goes to S3
        self.process = None
        return ended_by, exit_code

    def _supervise(self, started: float, ran_before: float, policy: SpotPolicy | None) -> EndedBy:
        """Wait for the process to end, ending it first if asked to. Returns why it ended."""
        grace = self.ctx.settings.stop_grace_seconds
        beat = started
        while True:
            try:
                self.process.wait(timeout=POLL_SECONDS)
                return EndedBy.EXITED
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - beat >= HEARTBEAT_SECONDS:  # what a crash of labcloud would lose, at most
                beat = time.monotonic()
                self.family.update_run(self.name, attempt_seconds=beat - started)
            if self.ctx.shutting_down.is_set():
                processes.terminate_group(self.process, min(grace, SHUTDOWN_GRACE_SECONDS))
                return EndedBy.SHUTDOWN
            reason = self._stop_due(started, ran_before)
            if reason is not None:
                self.family.update_run(self.name, stop_reason=reason.value)
                if self._status() != "Stopping":
                    self.family.transition(self.name, "Stopping")
                self._note(f"labcloud: stopping the job ({reason.value}): SIGTERM, then SIGKILL after {grace:g} s")
                processes.terminate_group(self.process, grace)
                return reason
            if (policy is not None and not self.interrupt_requested.is_set()
                    and policy.interrupt_while_running(time.monotonic() - started)):
                self.interrupt_requested.set()
            if self.interrupt_requested.is_set():
                self._note(f"labcloud: spot interruption (simulated): SIGTERM, then SIGKILL after {grace:g} s")
                processes.terminate_group(self.process, grace)
                return EndedBy.INTERRUPTED

    def _stop_due(self, started: float, ran_before: float) -> EndedBy | None:
        if self.stop_requested.is_set():
            return EndedBy(self._stop_reason())
        if self._max_runtime_left(started, ran_before) <= 0:
            return EndedBy.MAX_RUNTIME
        left = self._max_wait_left()
        if left is not None and left <= 0:
            return EndedBy.MAX_WAIT
        return None

    def _read_output(self, process: subprocess.Popen, tail) -> None:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(line)
            self._note(line)
            self.metrics.feed(line)
            if self.metrics.pending >= PUBLISH_EVERY:
                self.metrics.publish(self.ctx, self._note)  # a long job's values go as they come, in batches
        process.stdout.close()

    def _report_metrics(self) -> None:
        """The end of a container run: its last values to CloudWatch, each metric's last value to the job."""
        self.metrics.publish(self.ctx, self._note)
        final = self.metrics.final_metric_data()
        if final:
            self.family.set_final_metrics(self.name, final)

    def _conclude(self, s3, instance: Instance, ended_by: EndedBy, exit_code: int, argv, tail) -> Attempt:
        """The end of an attempt, by what ended its container."""
        if ended_by is EndedBy.SHUTDOWN:
            raise _Shutdown()
        if ended_by is EndedBy.INTERRUPTED:
            return Attempt.INTERRUPTED
        if ended_by in (EndedBy.STOPPED, EndedBy.MAX_RUNTIME, EndedBy.MAX_WAIT):
            if self._status() != "Stopping":
                self.family.transition(self.name, "Stopping")
            self._upload(s3, instance)
            self._finish(ended_by.value)
            return Attempt.STOPPED
        if exit_code != 0:
            self._finish("Failed", failure=self._failure_reason(instance, argv, exit_code, tail))
            return Attempt.FAILED
        uploading = self._enter("Uploading")
        self._upload(s3, instance)
        if not uploading or self._status() == "Stopping":
            self._finish(self._stop_reason())
            return Attempt.STOPPED
        self._finish("Completed")
        return Attempt.COMPLETED

    def _upload(self, s3, instance: Instance) -> None:
        self.family.set_model_artifacts(self.name, container.upload_artifacts(s3, instance.layout, self.job))

    def _stopped_early(self) -> Attempt:
        """A stop arrived before the container ran: nothing to upload."""
        self._finish(self._stop_reason())
        return Attempt.STOPPED

    def _stop_without_container(self, reason: str) -> Attempt:
        self.family.update_run(self.name, stop_reason=reason)
        if self._status() != "Stopping":
            self.family.transition(self.name, "Stopping")
        self._finish(reason)
        return Attempt.STOPPED

    def _failure_reason(self, instance: Instance, argv, exit_code: int, tail) -> str:
        failure_file = instance.layout.path("output", "failure")
        text = failure_file.read_text(errors="replace").strip() if failure_file.is_file() else ""
        if instance.script is not None:
            # The sagemaker-training toolkit's format for a failing user script.
            message = text or "\n".join(tail)
            reason = (f"AlgorithmError: ExecuteUserScriptError:\nExitCode {exit_code}\nErrorMessage \"{message}\"\n"
                      f"Command \"{' '.join(argv)}\", exit code: {exit_code}")
        else:
            reason = f"AlgorithmError: {text or chr(10).join(tail)}, exit code: {exit_code}"
        return failure_reason(reason, cut_marker="AlgorithmError: ...")
