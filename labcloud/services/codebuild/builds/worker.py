"""Running one build: its phases, in CodeBuild's order, as local processes.

A BuildWorker runs one build on its own thread, in a fresh folder (`<work dir>/codebuild/<project>/<uuid>/`,
the source in its `src/`, CODEBUILD_SRC_DIR): PROVISIONING (the environment), DOWNLOAD_SOURCE (the source,
the buildspec, the variables read from SSM and Secrets Manager), INSTALL, PRE_BUILD, BUILD and POST_BUILD
(the buildspec's commands, through shell.py), UPLOAD_ARTIFACTS, FINALIZING. Which phase follows a failure
is lifecycle.py's table. Every output line goes to CloudWatch Logs (`/aws/codebuild/<project>`, stream
`<uuid>`) among CodeBuild's own "[Container] ..." lines.

StopBuild and the timeout end the running command's process group: SIGTERM, then SIGKILL after the grace
period (LABCLOUD_STOP_GRACE_SECONDS). When labcloud stops, the build ends FAULT (it is not run again).
"""

from __future__ import annotations

import enum
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from labcloud.core.clock import utc_now
from labcloud.core.credentials import git_environment
from labcloud.platform import processes
from labcloud.platform.background import Worker
from labcloud.runtime.shims import command_shims
from labcloud.services.codebuild.builds import artifacts as artifact_files
from labcloud.services.codebuild.builds import buildspec as buildspecs
from labcloud.services.codebuild.builds import environment, sources
from labcloud.services.codebuild.builds.lifecycle import AFTER_FAILURE, COMMAND_PHASES, SERVER_STOPPED, following
from labcloud.services.codebuild.builds.shell import Shell

SECONDS_PER_MINUTE = 60.0  # the unit of timeoutInMinutes (tests make it shorter)
POLL_SECONDS = 0.05
SHUTDOWN_GRACE_SECONDS = 2.0
_OUTPUT_DRAIN_SECONDS = 1.0  # after a command, for its last lines (a process it left running keeps the pipe)


class Outcome(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAULT = "FAULT"
    STOPPED = "STOPPED"
    TIMED_OUT = "TIMED_OUT"


class _Ended(Exception):
    """The build ends early: StopBuild, its timeout, or labcloud stopping."""

    def __init__(self, status: str, context: dict):
        super().__init__(context["message"])
        self.status, self.context = status, context


class _PhaseFailed(Exception):
    def __init__(self, status_code: str, message: str):
        super().__init__(message)
        self.context = {"statusCode": status_code, "message": message}


def container_line(text: str) -> str:
    return f"[Container] {utc_now().strftime('%Y/%m/%d %H:%M:%S.%f')} {text}"


def _reason(status: int) -> str:
    if status < 0:
        try:
            return f"signal: {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"exit status {status}"


class BuildWorker(Worker):
    def __init__(self, family, build_id: str):
        super().__init__(family.ctx, build_id, "codebuild")
        self.family = family
        self.build_id = build_id
        record = family.snapshot(build_id)
        self.build, self.settings = record.description, record.run
        self.uuid = build_id.partition(":")[2]
        self.folder = family.build_folder(build_id)
        self.src = self.folder / "src"
        self.process: subprocess.Popen | None = None
        self.groups: list[int] = []  # every command's process group, ended with the build
        self.failed_phase = False
        self.deadline = 0.0
        self.shell: Shell | None = None
        self.spec: buildspecs.Buildspec | None = None

    # -- logs ------------------------------------------------------------------------------------------
    def _log(self, line: str) -> None:
        if self.settings.log_group:
            self.ctx.log_shipper.ship(self.settings.log_group, self.settings.log_stream, line)

    def _say(self, text: str) -> None:
        self._log(container_line(text))

    # -- phases ----------------------------------------------------------------------------------------
    def _enter(self, phase: str) -> None:
        self._check()
        self.family.enter_phase(self.build_id, phase)
        self._say(f"Entering phase {phase}")

    def _succeed(self, phase: str) -> None:
        self.family.end_phase(self.build_id, "SUCCEEDED")
        self._say(f"Phase complete: {phase} State: SUCCEEDED")
        self._say("Phase context status code:  Message: ")

    def _fail(self, phase: str, context: dict, status: str = "FAILED") -> None:
        self.failed_phase = True
        if not self.family.end_phase(self.build_id, status, context):
            return  # it had ended already (a stop between two phases)
        self._say(f"Phase complete: {phase} State: {status}")
        self._say(f"Phase context status code: {context['statusCode']} Message: {context['message']}")

    # -- the worker ------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        self.deadline = time.monotonic() + self.build["timeoutInMinutes"] * SECONDS_PER_MINUTE
        if self.settings.log_group:
            self.ctx.log_shipper.open_stream(self.settings.log_group, self.settings.log_stream)
        try:
            status = self._phases()
        except _Ended as ended:
            phase = self.family.snapshot(self.build_id).description["currentPhase"]
            self._fail(phase, ended.context, ended.status)
            status = ended.status
        self._finalize()
        self.family.finish(self.build_id, status)
        return Outcome(self.family.snapshot(self.build_id).description["buildStatus"])

    def failed(self, err: Exception) -> None:
        context = {"statusCode": "INTERNAL_FAULT",
                   "message": f"labcloud failed while running the build ({type(err).__name__}: {err}); this is "
                              f"labcloud's fault, not the build's."}
        self.family.end_phase(self.build_id, "FAULT", context)
        self.family.finish(self.build_id, "FAULT")

    def finished(self) -> None:
        self._end_leftovers()
        self.ctx.log_shipper.flush()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _phases(self) -> str:
        self._enter("PROVISIONING")
        self.src.mkdir(parents=True, exist_ok=True)
        self._say("Running on labcloud: the build's commands run as local processes")
        self._succeed("PROVISIONING")

        self._enter("DOWNLOAD_SOURCE")
        try:
            self._download_source()
        except _PhaseFailed as err:
            self._fail("DOWNLOAD_SOURCE", err.context)
            return "FAILED"
        self._succeed("DOWNLOAD_SOURCE")

        phase = "INSTALL"
        while phase in COMMAND_PHASES:
            self._enter(phase)
            spec = self.spec.phase(COMMAND_PHASES[phase])
            context = self._commands(spec)
            if context is None:
                self._succeed(phase)
                phase = following(phase)
            else:
                self._fail(phase, context)
                phase = following(phase) if spec.on_failure == "CONTINUE" else AFTER_FAILURE[phase]
        self._export_variables()
        if phase == "UPLOAD_ARTIFACTS":
            self._enter("UPLOAD_ARTIFACTS")
            try:
                self._upload_artifacts()
                self._succeed("UPLOAD_ARTIFACTS")
            except _PhaseFailed as err:
                self._fail("UPLOAD_ARTIFACTS", err.context)
        return "FAILED" if self.failed_phase else "SUCCEEDED"

    def _finalize(self) -> None:
        self.family.enter_phase(self.build_id, "FINALIZING")
        self._say("Entering phase FINALIZING")
        self._end_leftovers()
        self._say("Phase complete: FINALIZING State: SUCCEEDED")
        self.ctx.log_shipper.flush()  # the last lines are in the logs before the build is complete

    # -- DOWNLOAD_SOURCE -------------------------------------------------------------------------------
    def _download_source(self) -> None:
        source = self.build["source"]
        self._say(f"CODEBUILD_SRC_DIR={self.src}")
        try:
            resolved = sources.fetch(source, self.build.get("sourceVersion"), self.src, self.folder / "scratch",
                                     self.ctx.client("s3"), self._run_git)
            secondary = self._download_secondary_sources()
        except sources.SourceError as err:
            raise _PhaseFailed(err.status_code, err.message) from None
        try:
            self.spec = buildspecs.parse(self._buildspec_text())
        except buildspecs.BuildspecError as err:
            raise _PhaseFailed("YAML_FILE_ERROR", str(err)) from None
        for note in self.spec.notes:
            self._say(f"labcloud: {note}")
        self._say("Processing environment variables")
        try:
            values = environment.resolve_buildspec(self.spec, self.ctx.client)
            values.update(environment.resolve(self.build["environment"]["environmentVariables"], self.ctx.client))
        except environment.VariableError as err:
            raise _PhaseFailed(err.status_code, err.message) from None
        if resolved is None and values.get("CODEBUILD_RESOLVED_SOURCE_VERSION"):
            resolved = values["CODEBUILD_RESOLVED_SOURCE_VERSION"]  # CodePipeline's source revision
        if resolved:
            self.family.update(self.build_id, resolvedSourceVersion=resolved)
        env = environment.base_environment(self.ctx.endpoint_url, command_shims(
            Path(self.ctx.work_dir) / "codebuild-shims", where="CodeBuild builds", what="build"))
        env.update(values)
        env.update(self._builtin_variables(resolved))
        env.update({f"CODEBUILD_SRC_DIR_{identifier}": str(folder) for identifier, folder in secondary.items()})
        self._say(f"Moving to directory {self.src}")
        self.shell = Shell(self.folder / "shell", self.spec.shell, env, self.src, self.spec.same_shell)

    def _download_secondary_sources(self) -> dict[str, Path]:
        """Each secondary source into a folder of its own; sourceIdentifier -> folder."""
        versions = {v["sourceIdentifier"]: v["sourceVersion"] for v in self.build.get("secondarySourceVersions") or []}
        folders = {}
        for source in self.build.get("secondarySources") or []:
            identifier = source["sourceIdentifier"]
            folder = self.folder / "secondary" / identifier
            self._say(f"CODEBUILD_SRC_DIR_{identifier}={folder}")
            sources.fetch(source, versions.get(identifier), folder, self.folder / "scratch" / identifier,
                          self.ctx.client("s3"), self._run_git)
            folders[identifier] = folder
        return folders

    def _buildspec_text(self) -> str:
        given = self.settings.buildspec or buildspecs.DEFAULT_FILE
        if buildspecs.is_inline(given):
            return given
        if given.startswith("arn:aws:s3:::"):
            bucket, key = sources.split_location(given)
            self._say(f"YAML location is s3://{bucket}/{key}")
            try:
                return self.ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            except Exception as err:  # noqa: BLE001
                raise buildspecs.BuildspecError(f"cannot read the buildspec s3://{bucket}/{key}: {err}") from None
        path = self.src / given
        self._say(f"YAML location is {path}")
        if not path.resolve().is_relative_to(self.src.resolve()) or not path.is_file():
            raise buildspecs.BuildspecError(f"stat {path}: no such file or directory")
        return path.read_text(encoding="utf-8", errors="replace")

    def _builtin_variables(self, resolved: str | None) -> dict[str, str]:
        build = self.build
        variables = {
            "CODEBUILD_BUILD_ID": build["id"], "CODEBUILD_BUILD_ARN": build["arn"],
            "CODEBUILD_BUILD_NUMBER": str(build["buildNumber"]), "CODEBUILD_SRC_DIR": str(self.src),
            "CODEBUILD_INITIATOR": build["initiator"], "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_START_TIME": str(int(build["startTime"].timestamp() * 1000)),
            "CODEBUILD_BUILD_IMAGE": build["environment"]["image"], "CODEBUILD_CI": "true",
            "CODEBUILD_KMS_KEY_ID": build.get("encryptionKey") or "",
            "AWS_REGION": self.ctx.region, "AWS_DEFAULT_REGION": self.ctx.region,
        }
        if self.settings.log_stream:
            variables["CODEBUILD_LOG_PATH"] = self.settings.log_stream
        if build.get("sourceVersion"):
            variables["CODEBUILD_SOURCE_VERSION"] = build["sourceVersion"]
        if build["source"].get("location"):
            variables["CODEBUILD_SOURCE_REPO_URL"] = build["source"]["location"]
        if resolved:
            variables["CODEBUILD_RESOLVED_SOURCE_VERSION"] = resolved
        return variables

    # -- commands --------------------------------------------------------------------------------------
    def _commands(self, phase: buildspecs.Phase) -> dict | None:
        """Run the phase's commands, then its finally commands; the context of the first failure, or None."""
        context = None
        for group in (phase.commands, phase.finally_commands):
            for command in group:
                status = self._command(command)
                if status != 0:
                    context = context or {"statusCode": "COMMAND_EXECUTION_ERROR",
                                          "message": f"Error while executing command: {command}. Reason: "
                                                     f"{_reason(status)}"}
                    break
        return context

    def _command(self, command: str) -> int:
        self._check()
        self.shell.set("CODEBUILD_BUILD_SUCCEEDING", "0" if self.failed_phase else "1")
        self._say(f"Running command {command}")
        process = self.shell.start(command)
        self.groups.append(process.pid)
        status, _ = self._supervise(process, log_output=True)
        self.shell.finish()
        if status != 0:
            self._say(f"Command did not exit successfully {command} {_reason(status)}")
        return status

    def _run_git(self, argv: list[str], log_output: bool) -> tuple[int, list[str]]:
        # CodeBuild's own clone: no prompt (a bad URL fails at once), not the user's git configuration, and
        # labcloud's endpoint never through a proxy.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCLOUD_", "GIT_"))}
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
        env.update(git_environment(self.ctx.endpoint_url, self.ctx.credentials))  # labcloud's CodeCommit asks
        for name in ("NO_PROXY", "no_proxy"):
            env[name] = ",".join(filter(None, [env.get(name), "127.0.0.1", "localhost"]))
        process = subprocess.Popen(argv, cwd=self.folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=processes.die_with_parent)
        status, lines = self._supervise(process, log_output)
        processes.terminate_group(process, 0)
        return status, lines

    def _supervise(self, process: subprocess.Popen, log_output: bool) -> tuple[int, list[str]]:
        """Wait for the process, its output going to the logs; a stop, the timeout or labcloud stopping end
        its group and the build (_Ended)."""
        lines: list[str] = []
        reader = threading.Thread(target=self._read, args=(process, lines, log_output), daemon=True)
        reader.start()
        self.process = process
        try:
            while True:
                try:
                    process.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    self._check(process)
        finally:
            reader.join(timeout=_OUTPUT_DRAIN_SECONDS)
            self.process = None
        return process.returncode, lines

    def _read(self, process: subprocess.Popen, lines: list[str], log_output: bool) -> None:
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            lines.append(line)
            if log_output:
                self._log(line)
        process.stdout.close()

    def _check(self, process: subprocess.Popen | None = None) -> None:
        """End the build here if it was stopped, ran out of time, or labcloud stops."""
        grace = self.ctx.settings.stop_grace_seconds
        if self.ctx.shutting_down.is_set():
            status, context, grace = "FAULT", dict(SERVER_STOPPED), min(grace, SHUTDOWN_GRACE_SECONDS)
        elif self.stop_requested.is_set() or self.family.stop_requested(self.build_id):
            status, context = "STOPPED", {"statusCode": "BUILD_STOPPED",
                                          "message": "The build was stopped (StopBuild)."}
        elif time.monotonic() >= self.deadline:
            minutes = self.build["timeoutInMinutes"]
            status, context = "TIMED_OUT", {"statusCode": "BUILD_TIMED_OUT",
                                            "message": f"Build has timed out. It ran longer than its timeoutInMinutes "
                                                       f"({minutes} minutes); raise the project's timeout or make the "
                                                       f"build faster."}
        else:
            return
        if process is not None and process.poll() is None:
            self._say(f"labcloud: ending the running command ({status}): SIGTERM, then SIGKILL after {grace:g} s")
            processes.terminate_group(process, grace)
        raise _Ended(status, context)

    def _end_leftovers(self) -> None:
        """What the build's commands left running in the background ends with the build."""
        for group in self.groups:
            processes.signal_group(group, signal.SIGKILL)
        self.groups = []

    # -- the build's end -------------------------------------------------------------------------------
    def _export_variables(self) -> None:
        if self.spec and self.spec.exported_variables and self.shell:
            exported = [{"name": n, "value": self.shell.env.get(n, "")} for n in self.spec.exported_variables]
            self.family.update(self.build_id, exportedEnvironmentVariables=exported)

    def _upload_artifacts(self) -> None:
        primary = self._upload(self.settings.artifacts or {"type": "NO_ARTIFACTS"}, self.spec.artifacts, "artifacts")
        if primary:
            self.family.update(self.build_id, artifacts=primary)
        uploaded = []
        for settings in self.settings.secondary_artifacts:
            identifier = settings["artifactIdentifier"]
            spec = self.spec.secondary_artifacts.get(identifier)
            where = f"artifacts/secondary-artifacts/{identifier}"
            uploaded.append({**(self._upload(settings, spec, where) or {"location": ""}),
                             "artifactIdentifier": identifier})
        if uploaded:
            self.family.update(self.build_id, secondaryArtifacts=uploaded)

    def _upload(self, settings: dict, spec: buildspecs.ArtifactsSpec | None, where: str) -> dict | None:
        """Upload one set of artifacts; BatchGetBuilds' entry for it, or None for NO_ARTIFACTS."""
        if settings["type"] == "NO_ARTIFACTS":
            self._say(f"Skipping the upload of {where}: NO_ARTIFACTS")
            return None
        if spec is None:
            raise _PhaseFailed("CLIENT_ERROR", f"no {where} section in the buildspec: the build's artifacts are of "
                                               f"type S3, so list the files to upload under {where}/files")
        self._say(f"Assembling file list for {where}")
        try:
            spec = artifact_files.expanded(spec, self.shell.env)
            files = artifact_files.select(self.src, spec)
            self._say(f"Found {len(files)} file(s)")
            dest = artifact_files.destination(settings, self.uuid, spec.name)
            self._say(f"Uploading S3 artifacts to s3://{dest.bucket}/{dest.key} (packaging {dest.packaging})")
            scratch = self.folder / "scratch" / "artifacts" / where.replace("/", "_")
            scratch.mkdir(parents=True, exist_ok=True)
            return artifact_files.upload(self.ctx.client("s3"), files, dest, scratch)
        except artifact_files.ArtifactError as err:
            raise _PhaseFailed("CLIENT_ERROR", str(err)) from None
