"""The `git` program as labcloud's CodeCommit runs it: where it is, the environment it runs in, and the
errors a caller sees when it is missing or fails.

git is a system program, not a Python package: without it CodeCommit cannot keep repositories
(CreateRepository says so, naming INSTALL_HINT; `labcloud doctor` can check `available()`).

Every git process runs in an environment of its own: the server's GIT_* variables (a GIT_DIR set in the
shell that started labcloud) are dropped, and the user's and the system's git configuration are not read,
so a learner's `commit.gpgSign` or `init.defaultBranch` never changes what the service does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = "install git (on Debian or Ubuntu: apt-get install git) and try again"
TIMEOUT_SECONDS = 300  # a local git command that takes longer than this is stuck, not busy

_ISOLATION = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
              "LC_ALL": "C"}  # C: messages in git's own words, which the service quotes


class GitError(Exception):
    """A git command that failed; `stderr` is what git said."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


class GitMissing(GitError):
    """The git program is not installed (not on PATH)."""


def executable() -> str | None:
    return shutil.which("git")


def available() -> bool:
    return executable() is not None


def require() -> str:
    """The path of the git program; GitMissing when there is none."""
    path = executable()
    if path is None:
        raise GitMissing(f"the git program is not installed: {INSTALL_HINT}")
    return path


def environment(extra: dict | None = None) -> dict:
    """The environment of a git process: this one's without GIT_*, isolated from user configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_ISOLATION)
    env.update(extra or {})
    return env


def run(args: list[str], git_dir: Path | None = None, input: bytes | None = None, env: dict | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """`git [--git-dir <git_dir>] <args>`; GitError (with git's message) when it exits non-zero and check."""
    command = [require()] + (["--git-dir", str(git_dir)] if git_dir is not None else []) + list(args)
    try:
        result = subprocess.run(command, input=input, capture_output=True, env=environment(env),
                                timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {TIMEOUT_SECONDS} seconds") from None
    if check and result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()
        raise GitError(f"git {args[0]} failed: {stderr or f'exit code {result.returncode}'}", stderr)
    return result
