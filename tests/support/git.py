"""The ordinary `git` program as tests drive it against labcloud's CodeCommit: never prompting (a bad URL
fails at once), never reading the user's or the system's git configuration, never going through a proxy,
with a fixed author."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHOR = ("-c", "user.name=t", "-c", "user.email=t@example.com")


def git_env() -> dict:
    """The environment's own git settings dropped, except the credentials labcloud gives git
    (client_environment: GIT_CONFIG_COUNT and its pair), as a learner's git after labcloud.start() has them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith("GIT_CONFIG_KEY_")
           or k.startswith("GIT_CONFIG_VALUE_") or k == "GIT_CONFIG_COUNT"}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    return env


def git(*args: str, cwd: str | Path | None = None, check: bool = True, timeout: float = 120,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """`git <args>` (`env`: more variables); with check, an AssertionError quoting git when it fails."""
    result = subprocess.run(["git", *AUTHOR, *args], cwd=cwd, env={**git_env(), **(env or {})},
                            capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
    return result


TRACE_HEADERS = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}  # git's HTTP headers on stderr


def sent_headers(result: subprocess.CompletedProcess) -> list[str]:
    """The request headers a git run under TRACE_HEADERS sent, e.g. "Transfer-Encoding: chunked"."""
    return [line.split("Send header: ", 1)[1].strip() for line in result.stderr.splitlines()
            if "Send header: " in line]


def commit_file(work: Path, path: str, content: str | bytes, message: str) -> str:
    """Write a file in a clone, commit it; returns the commit id."""
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    git("add", path, cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()
