"""Running one processing job: a fresh /opt/ml, its inputs, its container process, its outputs.

A ProcessingWorker runs one job on its own thread: download every S3 input, run the container command
(ContainerEntrypoint + ContainerArguments) with the job's environment, ship its output to CloudWatch Logs,
then upload every output and end Completed, Failed (a non-zero exit, with the exit code and the last log
lines) or Stopped (StopProcessingJob or MaxRuntimeInSeconds: SIGTERM, then SIGKILL after the grace
period). Every change of the job's record goes through the family (jobs.py), under its lock.
"""

from __future__ import annotations

import collections
import enum
import shutil
import subprocess
import threading
import time
from pathlib import Path

from labcloud.core.constants import failure_reason
from labcloud.platform import processes
from labcloud.platform.background import Worker
from labcloud.services.sagemaker.job_family import SHUTDOWN_GRACE_SECONDS
from labcloud.runtime import shims
from labcloud.runtime.images import resolve
from labcloud.runtime.processing import container
from labcloud.runtime.s3_transfer import UnsafeKeyError
from labcloud.runtime.training import isolation
from labcloud.runtime.training.container import CURRENT_HOST, ContainerLayout, JobSetupError

LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
POLL_SECONDS = 0.05
_TAIL_LINES = 12


class Outcome(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    SHUT_DOWN = "shut down"  # the server stops: the job stays InProgress, the next start runs it again


class _Shutdown(Exception):
    """The server is stopping: leave the job as it is."""


class ProcessingWorker(Worker):
    def __init__(self, family, name: str, restarted: bool = False):
        super().__init__(family.ctx, name, "processing")
        self.family = family
        self.name = name
        self.restarted = restarted
        self.job = family.snapshot(name).description  # the request; statuses are read from the family
        self.process: subprocess.Popen | None = None
        self.log_stream: str | None = None

    def _note(self, line: str) -> None:
        if self.log_stream:
            self.ctx.log_shipper.ship(LOG_GROUP, self.log_stream, line)

    def _check_shutdown(self) -> None:
        if self.ctx.shutting_down.is_set():
            raise _Shutdown()

    def _stopped(self) -> Outcome:
        self.family.finish(self.name, "Stopped")
        return Outcome.STOPPED

    # -- the worker ------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        try:
            run = self.family.snapshot(self.name).run
            self.log_stream = run.log_stream
            if not self.log_stream:
                self.log_stream = f"{self.name}/{CURRENT_HOST}-{int(time.time())}"
                self.family.update_run(self.name, log_stream=self.log_stream)
            self.ctx.log_shipper.open_stream(LOG_GROUP, self.log_stream)
            self.family.update_run(self.name, runs=run.runs + 1)
            if self.restarted:
                self._note("labcloud: labcloud restarted while the job ran; running the job again from the "
                           "beginning (its outputs are uploaded only when it ends)")
            return self._run_job()
        except _Shutdown:
            return Outcome.SHUT_DOWN

    def failed(self, err: Exception) -> None:
        self.family.finish(self.name, "Failed", failure=f"InternalServerError: labcloud could not run the job: {err}")

    def finished(self) -> None:
        self.ctx.log_shipper.flush()

    def _run_job(self) -> Outcome:
        if self.stop_requested.is_set():
            return self._stopped()
        folder = self.family.job_folder(self.name)
        shutil.rmtree(folder, ignore_errors=True)  # a run again after a restart starts from a fresh /opt/ml
        folder.mkdir(parents=True)
        isolated = isolation.private_mounts_available()
        layout = ContainerLayout(folder, isolation.OPT_ML if isolated else str(folder))
        if not isolated and not self.family.snapshot(self.name).run.fallback_noted:
            self.family.update_run(self.name, fallback_noted=True)
            self._note(container.FALLBACK_NOTICE.format(folder=folder))
        s3 = self.ctx.client("s3")
        try:
            image = resolve(self.job["AppSpecification"]["ImageUri"], self.ctx.state_dir, self.ctx.account_id)
            container.make_folders(layout, self.job)
            container.write_config(layout, self.job)
            container.download_inputs(s3, layout, self.job)
            argv = container.command(layout, image, self.job["AppSpecification"])
        except (JobSetupError, UnsafeKeyError) as err:
            self.family.finish(self.name, "Failed", failure=str(err))
            return Outcome.FAILED
        self._check_shutdown()
        if self.stop_requested.is_set():
            return self._stopped()
        self.family.mark_started(self.name)
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        env = container.environment(self.job, image, self.ctx.endpoint_url,
                                    shims.command_shims(Path(self.ctx.work_dir) / "processing-shims"))
        stopped, exit_code = self._run_container(layout, argv, env, tail)
        try:
            exit_message = container.exit_message(layout)
            container.upload_outputs(s3, layout, self.job)  # a stopped job's outputs are uploaded too, as on AWS
        except JobSetupError as err:
            self.family.finish(self.name, "Failed", failure=str(err))
            return Outcome.FAILED
        if stopped:
            self.family.finish(self.name, "Stopped", exit_message=exit_message)
            return Outcome.STOPPED
        if exit_code != 0:
            self.family.finish(self.name, "Failed", failure=self._failure_reason(exit_code, tail),
                               exit_message=exit_message)
            return Outcome.FAILED
        self.family.finish(self.name, "Completed", exit_message=exit_message)
        return Outcome.COMPLETED

    def _run_container(self, layout: ContainerLayout, argv: list[str], env: dict, tail) -> tuple[bool, int]:
        """Run the command to its end. Returns (whether it was stopped, its exit code)."""
        wrapped = isolation.wrap(argv, layout.host, layout.seen)
        self.process = subprocess.Popen(
            wrapped or argv, cwd=None if wrapped else layout.seen, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=processes.die_with_parent)
        reader = threading.Thread(target=self._read_output, args=(self.process, tail), daemon=True)
        reader.start()
        try:
            stopped = self._supervise(time.monotonic())
        finally:
            exit_code = self.process.wait()
            processes.terminate_group(self.process, 0)  # what the script left running ends with the job
            reader.join(timeout=10)
            self.ctx.log_shipper.flush()  # the last lines reach the logs before the status moves on
            self.process = None
        return stopped, exit_code

    def _supervise(self, started: float) -> bool:
        grace = self.ctx.settings.stop_grace_seconds
        max_runtime = (self.job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        while True:
            try:
                self.process.wait(timeout=POLL_SECONDS)
                return False
            except subprocess.TimeoutExpired:
                pass
            if self.ctx.shutting_down.is_set():
                processes.terminate_group(self.process, min(grace, SHUTDOWN_GRACE_SECONDS))
                raise _Shutdown()
            reason = None
            if self.stop_requested.is_set():
                reason = "StopProcessingJob"
            elif max_runtime and time.monotonic() - started >= max_runtime:
                reason = "MaxRuntimeInSeconds"
                self.family.begin_stop(self.name, reason)
            if reason:
                self._note(f"labcloud: stopping the job ({reason}): SIGTERM, then SIGKILL after {grace:g} s")
                processes.terminate_group(self.process, grace)
                return True

    def _read_output(self, process: subprocess.Popen, tail) -> None:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(line)
            self._note(line)
        process.stdout.close()

    @staticmethod
    def _failure_reason(exit_code: int, tail) -> str:
        # AWS says only "AlgorithmError: See job logs for more information"; the log's end says why here.
        last = "\n".join(tail)
        return failure_reason(f"AlgorithmError: See job logs for more information. The container exited with "
                              f"code {exit_code}; its last lines:\n{last}", cut_marker="AlgorithmError: ...")
