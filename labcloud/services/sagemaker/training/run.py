"""Running one training job: its attempts, its container process, its stops and interruptions.

A TrainingRun owns one background thread per job. Each attempt is one "instance": a fresh /opt/ml,
Starting -> Downloading (channels, code, checkpoints) -> Training (the process) -> then, by what ended
it, Uploading -> Completed, Failed, Stopping -> Stopped | MaxRuntimeExceeded | MaxWaitTimeExceeded, or
Interrupted -> (wait for spot capacity) -> a new attempt.
"""

from __future__ import annotations

import collections
import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

from labcloud.platform import processes
from labcloud.runtime.training import checkpoints, isolation
from labcloud.runtime.training import container
from labcloud.runtime.images import resolve
from labcloud.runtime.s3_transfer import UnsafeKeyError
from labcloud.runtime.training.spot import SpotPolicy, tagged_interruptions

log = logging.getLogger("labcloud.training")

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
POLL_SECONDS = 0.05
SHUTDOWN_GRACE_SECONDS = 2.0
_FAILURE_REASON_MAX = 1024
_TAIL_LINES = 12


class _Shutdown(Exception):
    """The server is stopping: leave the job as it is, a restart resumes it."""


class TrainingRun:
    def __init__(self, family, name: str):
        self.family = family
        self.ctx = family.ctx
        self.name = name
        self.stop_requested = threading.Event()  # StopTrainingJob, or a limit reached
        self.interrupt_requested = threading.Event()
        self.process: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._main, name=f"training-{name}", daemon=True)

    # -- helpers ---------------------------------------------------------------------------------------
    @property
    def job(self) -> dict:
        return self.family.jobs[self.name]

    @property
    def state(self) -> dict:
        return self.family.runs_state[self.name]

    def _note(self, line: str) -> None:
        stream = self.state.get("log_stream")
        if stream:
            self.ctx.log_shipper.ship(LOG_GROUP, stream, line)

    def _check_shutdown(self) -> None:
        if self.ctx.shutting_down.is_set():
            raise _Shutdown()

    def start(self) -> None:
        self.thread.start()

    # -- main loop -------------------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            state = self.state
            if not state.get("log_stream"):
                state["log_stream"] = f"{self.name}/{container.CURRENT_HOST}-{int(time.time())}"
                self.family.save(self.name)
            self.ctx.log_shipper.open_stream(LOG_GROUP, state["log_stream"])
            self._run_attempts()
        except _Shutdown:
            pass
        except Exception as err:  # a labcloud fault: fail the job visibly rather than hang it
            log.exception("training job %s", self.name)
            if not self.ctx.shutting_down.is_set():
                self._finish("Failed", failure=f"InternalServerError: labcloud could not run the job: {err}")
        finally:
            self.ctx.log_shipper.flush()
            self.family.run_ended(self.name)

    def _run_attempts(self) -> None:
        job = self.job
        spot = bool(job.get("EnableManagedSpotTraining"))
        policy = SpotPolicy(self.name, tagged_interruptions(self.family.tags.get(self.name)),
                            self.state.get("interruptions", 0), self.ctx.settings.spot_interruption_rate,
                            self.ctx.settings.spot_seed) if spot else None
        while True:
            outcome = self._attempt(policy)
            if outcome != "interrupted":
                return
            self.state["interruptions"] = self.state.get("interruptions", 0) + 1
            self.family.transition(self.name, "Interrupted")
            self._note("labcloud: spot capacity reclaimed (simulated); waiting "
                       f"{self.ctx.settings.spot_capacity_wait_seconds:g} s for capacity")
            wait = self.ctx.settings.spot_capacity_wait_seconds
            left = self._max_wait_left()
            if left is not None and left <= wait:
                self._wait(left)
                self._stop_without_container("MaxWaitTimeExceeded")
                return
            if self._wait(wait):
                self._stop_without_container(self.state.get("stop_reason") or "Stopped")
                return
            self.interrupt_requested.clear()

    def _wait(self, seconds: float) -> bool:
        """Wait, unless stopped (True) or the server shuts down."""
        deadline = time.monotonic() + max(0.0, seconds)
        while time.monotonic() < deadline:
            self._check_shutdown()
            if self.stop_requested.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
                return True
        return self.stop_requested.is_set()

    def _max_wait_left(self) -> float | None:
        job = self.job
        max_wait = (job.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
        if not job.get("EnableManagedSpotTraining") or not max_wait:
            return None
        elapsed = time.time() - job["CreationTime"].timestamp()
        return max_wait - elapsed

    def _max_runtime_left(self, running_since: float) -> float:
        max_runtime = (self.job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400)
        return max_runtime - self.state.get("container_seconds", 0.0) - (time.monotonic() - running_since)

    # -- one attempt -----------------------------------------------------------------------------------
    def _attempt(self, policy: SpotPolicy | None) -> str:
        job = self.job
        s3 = self.ctx.client("s3")
        if job["SecondaryStatus"] != "Starting":
            if not self.family.transition(self.name, "Starting"):
                return self._stopped_early()
        folder = self.family.job_folder(self.name)
        shutil.rmtree(folder, ignore_errors=True)  # every attempt is a fresh instance
        folder.mkdir(parents=True)
        image = resolve(job["AlgorithmSpecification"]["TrainingImage"], self.ctx.state_dir, self.ctx.account_id)
        script = container.ScriptMode.from_hyperparameters(job.get("HyperParameters"))
        isolated = isolation.private_mounts_available()
        layout = container.ContainerLayout(folder, isolation.OPT_ML if isolated else str(folder))
        if not isolated and not self.state.get("fallback_noted"):
            self.state["fallback_noted"] = True
            self._note(isolation.FALLBACK_NOTICE.format(folder=folder))
        if image.kind == "builtin" or (image.kind == "framework" and script is None):
            self._finish("Failed", failure=(
                f"ClientError: labcloud runs {image.image} in script mode only: set an entry point "
                f"(sagemaker_program), e.g. the SDK's XGBoost/SKLearn/PyTorch estimator with entry_point=. "
                f"SageMaker's built-in algorithms are not available offline."))
            return "failed"

        checkpoint = job.get("CheckpointConfig")
        checkpoint_dir = None
        if checkpoint:
            local = checkpoint.get("LocalPath") or checkpoints.DEFAULT_LOCAL_PATH
            inside = local.rstrip("/") == isolation.OPT_ML or local.startswith(isolation.OPT_ML + "/")
            checkpoint_dir = folder / local[len(isolation.OPT_ML):].strip("/") if inside else Path(local)
        container.make_folders(layout, [c["ChannelName"] for c in job.get("InputDataConfig") or []],
                               checkpoint_dir)
        container.write_config(layout, job)

        if not self.family.transition(self.name, "Downloading"):
            return self._stopped_early()
        try:
            container.download_channels(s3, layout, job)
            if script is not None:
                container.download_code(s3, layout, script)
            argv, cwd = container.command(layout, image, script)
            restored = checkpoints.restore(s3, checkpoint["S3Uri"], checkpoint_dir) if checkpoint else 0
        except (container.JobSetupError, UnsafeKeyError) as err:
            self._finish("Failed", failure=str(err))
            return "failed"
        if script is not None and layout.path("code", "requirements.txt").is_file():
            self._note("labcloud: requirements.txt found in the source directory; labcloud does not install it "
                       "(it runs offline): the job uses the packages installed beside labcloud.")
        sync = None
        if checkpoint:
            if restored:
                self._note(f"labcloud: restored {restored} checkpoint file(s) from {checkpoint['S3Uri']}")

            def on_checkpoint():
                if policy is not None and policy.interrupt_after_checkpoint():
                    self.interrupt_requested.set()

            sync = checkpoints.CheckpointSync(s3, checkpoint["S3Uri"], checkpoint_dir, on_checkpoint)
            sync.mark_restored()
        self._check_shutdown()
        if not self.family.transition(self.name, "Training"):
            return self._stopped_early()

        env = container.environment(layout, job, image, script, self.ctx.endpoint_url)
        wrapped = isolation.wrap(argv, folder, cwd)
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        started = time.monotonic()
        self.process = subprocess.Popen(
            wrapped or argv, cwd=None if wrapped else cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=processes.die_with_parent)
        reader = threading.Thread(target=self._read_output, args=(self.process, tail), daemon=True)
        reader.start()
        if sync:
            sync.start()
        ended_by = self._supervise(started)
        exit_code = self.process.wait()
        # What the script left running (a data loader, a background helper) ends with the job, and lets go
        # of the output pipe.
        processes.terminate_group(self.process, 0)
        reader.join(timeout=10)
        self.ctx.log_shipper.flush()  # the script's last lines reach the logs before the status moves on
        self.state["container_seconds"] = self.state.get("container_seconds", 0.0) + time.monotonic() - started
        self.family.save(self.name)
        if sync:
            sync.stop(final_sync=True)  # however it ended, the newest checkpoint goes to S3
        self.process = None
        if ended_by == "shutdown":
            raise _Shutdown()
        if ended_by == "interrupted":
            return "interrupted"
        if ended_by in ("Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"):
            if self.job["TrainingJobStatus"] != "Stopping":
                self.family.transition(self.name, "Stopping")
            self._upload(s3, layout)
            self._finish(ended_by)
            return "stopped"
        if exit_code != 0:
            self._finish("Failed", failure=self._failure_reason(layout, script, argv, exit_code, tail))
            return "failed"
        if not self.family.transition(self.name, "Uploading"):
            self._upload(s3, layout)
            self._finish(self.state.get("stop_reason") or "Stopped")
            return "stopped"
        self._upload(s3, layout)
        if self.job["TrainingJobStatus"] == "Stopping":
            self._finish(self.state.get("stop_reason") or "Stopped")
            return "stopped"
        self._finish("Completed")
        return "completed"

    def _supervise(self, started: float) -> str:
        """Wait for the process to end, ending it first if asked to. Returns why it ended."""
        grace = self.ctx.settings.stop_grace_seconds
        while True:
            try:
                self.process.wait(timeout=POLL_SECONDS)
                return "exited"
            except subprocess.TimeoutExpired:
                pass
            if self.ctx.shutting_down.is_set():
                processes.terminate_group(self.process, min(grace, SHUTDOWN_GRACE_SECONDS))
                return "shutdown"
            reason = None
            if self.stop_requested.is_set():
                reason = self.state.get("stop_reason") or "Stopped"
            elif self._max_runtime_left(started) <= 0:
                reason = "MaxRuntimeExceeded"
            elif (left := self._max_wait_left()) is not None and left <= 0:
                reason = "MaxWaitTimeExceeded"
            if reason is not None:
                self.state["stop_reason"] = reason
                if self.job["TrainingJobStatus"] != "Stopping":
                    self.family.transition(self.name, "Stopping")
                self._note(f"labcloud: stopping the job ({reason}): SIGTERM, then SIGKILL after {grace:g} s")
                processes.terminate_group(self.process, grace)
                return reason
            if self.interrupt_requested.is_set():
                self._note(f"labcloud: spot interruption (simulated): SIGTERM, then SIGKILL after {grace:g} s")
                processes.terminate_group(self.process, grace)
                return "interrupted"

    def _read_output(self, process: subprocess.Popen, tail) -> None:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(line)
            self._note(line)
        process.stdout.close()

    def _upload(self, s3, layout) -> None:
        uri = container.upload_artifacts(s3, layout, self.job)
        with self.family.lock:
            self.job["ModelArtifacts"] = {"S3ModelArtifacts": uri}
        self.family.save(self.name)

    def _stopped_early(self) -> str:
        """A stop arrived before the container ran: nothing to upload."""
        self._finish(self.state.get("stop_reason") or "Stopped")
        return "stopped"

    def _stop_without_container(self, reason: str) -> None:
        self.state["stop_reason"] = reason
        if self.job["TrainingJobStatus"] != "Stopping":
            self.family.transition(self.name, "Stopping")
        self._finish(reason)

    def _failure_reason(self, layout, script, argv, exit_code: int, tail) -> str:
        failure_file = layout.path("output", "failure")
        text = failure_file.read_text(errors="replace").strip() if failure_file.is_file() else ""
        if script is not None:
            # The sagemaker-training toolkit's format for a failing user script.
            message = text or "\n".join(tail)
            reason = (f"AlgorithmError: ExecuteUserScriptError:\nExitCode {exit_code}\nErrorMessage \"{message}\"\n"
                      f"Command \"{' '.join(argv)}\", exit code: {exit_code}")
        else:
            reason = f"AlgorithmError: {text or chr(10).join(tail)}, exit code: {exit_code}"
        if len(reason) > _FAILURE_REASON_MAX:  # keep the end, where the error is
            reason = "AlgorithmError: ..." + reason[-(_FAILURE_REASON_MAX - 19):]
        return reason

    def _finish(self, status: str, failure: str | None = None) -> None:
        self.family.finish(self.name, status, failure)
