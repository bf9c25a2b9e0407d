"""The commands of one build, each in a shell process of its own, with the shell's state carried over.

CodeBuild (buildspec 0.2) runs all of a build's commands in one shell instance: a `cd`, an `export` or a
plain `NAME=value` in one command holds for the next, across phases too; yet every command has its own
exit status, and `exit 0` ends only that command. labcloud gets both by running each command as a script
of its own whose EXIT trap writes the shell's variables (`set -a` makes every assignment one of them) and
its working folder; the next command starts from those. In 0.1 every command starts from the build's
first environment, in the source folder.

A command's process leads its own process group, so that a stop or a timeout ends whatever it started.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from labcloud.platform import processes

# Variables of the shell's own that must not be carried into the next command.
_NOT_CARRIED = {"_", "SHLVL", "PWD", "__labcloud_status"}


class Shell:
    def __init__(self, folder: Path, shell: str, env: dict[str, str], cwd: Path, same_shell: bool = True):
        self.folder = folder  # scripts and saved state, outside the source folder
        self.shell = shell  # "bash" or "/bin/sh"
        self.first_env, self.first_cwd = dict(env), cwd
        self.env, self.cwd = dict(env), cwd
        self.same_shell = same_shell
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def start(self, command: str) -> subprocess.Popen:
        """Start one command; its output (stdout and stderr together) is the process's stdout."""
        self.count += 1
        state = self.folder / f"state-{self.count}"
        script = self.folder / f"command-{self.count}.sh"
        env_file, cwd_file = shlex.quote(str(state) + ".env"), shlex.quote(str(state) + ".cwd")
        script.write_text(
            f"trap '__labcloud_status=$?; pwd > {cwd_file}; env -0 > {env_file}; exit $__labcloud_status' EXIT\n"
            f"set -a\n{command}\n")
        env, cwd = (self.env, self.cwd) if self.same_shell else (self.first_env, self.first_cwd)
        if not cwd.is_dir():  # the folder a command moved to was removed since
            cwd = self.first_cwd
        return subprocess.Popen([self.shell, str(script)], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=processes.die_with_parent)

    def finish(self) -> None:
        """Take the state the last command left (none if it replaced its shell with `exec` or was killed)."""
        state = self.folder / f"state-{self.count}"
        env_file, cwd_file = Path(str(state) + ".env"), Path(str(state) + ".cwd")
        try:
            data, cwd = env_file.read_bytes(), cwd_file.read_text().strip()
        except FileNotFoundError:
            return
        finally:
            env_file.unlink(missing_ok=True)
            cwd_file.unlink(missing_ok=True)
        if not self.same_shell:
            return
        env = {}
        for entry in data.split(b"\0"):
            name, sep, value = entry.decode("utf-8", errors="surrogateescape").partition("=")
            if sep and name and name not in _NOT_CARRIED:
                env[name] = value
        self.env = env
        if cwd and os.path.isdir(cwd):
            self.cwd = Path(cwd)

    def set(self, name: str, value: str) -> None:
        """A variable CodeBuild itself keeps current (CODEBUILD_BUILD_SUCCEEDING)."""
        self.env[name] = value
        self.first_env[name] = value
