"""A zip's files pushed as the first commit of a branch, with the ordinary `git` program, to any URL git
pushes to (CodeCommit's cloneUrlHttp on labcloud, a bare repository's path in tests)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from labcloud.core.credentials import git_environment

GIT_TIMEOUT_SECONDS = 120
AUTHOR = ("AWS CloudFormation", "noreply@labcloud.invalid")


class SeedError(Exception):
    """The zip could not be read or git could not push it; the message says which and why."""


def push_zip(archive: bytes, url: str, branch: str = "main", message: str = "Initial commit") -> str:
    """Commit the zip's files on `branch` and push it to `url`: the commit's id."""
    with tempfile.TemporaryDirectory(prefix="labcloud-seed-") as folder:
        work = Path(folder) / "work"
        work.mkdir()
        extract(archive, work)
        env = _environment(Path(folder))
        _git(["init", "-q", "-b", branch], work, env)
        _git(["add", "-A"], work, env)
        _git(["commit", "-q", "--allow-empty", "--no-verify", "-m", message], work, env)
        _git(["push", "-q", url, f"HEAD:refs/heads/{branch}"], work, {**env, **git_environment(url)})
        return _git(["rev-parse", "HEAD"], work, env).strip()


def extract(archive: bytes, target: Path) -> None:
    """The zip's files under `target`, executable bits kept; a path leaving `target` is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            for info in zipped.infolist():
                path = PurePosixPath(info.filename)
                if path.is_absolute() or ".." in path.parts:
                    raise SeedError(f"the zip holds a path outside its folder: {info.filename}")
                if info.is_dir():
                    continue
                destination = target.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(zipped.read(info))
                if (info.external_attr >> 16) & stat.S_IXUSR:
                    destination.chmod(0o755)
    except zipfile.BadZipFile as err:
        raise SeedError(f"the code is not a zip file: {err}") from None


def _environment(home: Path) -> dict:
    """git without the machine's or the user's configuration (hooks, signing, credential helpers) and
    without ever prompting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
                "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1]})
    return env


def _git(args: list[str], cwd: Path, env: dict) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SeedError("the git program is not installed") from None
    except subprocess.TimeoutExpired:
        raise SeedError(f"git {args[0]} did not finish within {GIT_TIMEOUT_SECONDS} seconds") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-1000:]
        raise SeedError(f"git {args[0]} failed (exit {done.returncode}): {output}")
    return done.stdout
