"""labcloud.start(): the one call a notebook makes to have a local AWS.

It reuses a labcloud already listening on the port (a workshop's shared `labcloud up`, or the one a
test session started) or starts one in the background. A server started here stops when this Python
process exits, even if it is killed, so a notebook kernel leaves nothing behind.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from labcloud.client import prompt_waiters
from labcloud.client.environment import configure
from labcloud.core import settings
from labcloud.core.credentials import user_credentials
from labcloud.platform.ports import free_port

_started: subprocess.Popen | None = None


def health(url: str, timeout: float = 1.0) -> dict | None:
    """What the labcloud on `url` says of itself; its pid and paths only if it is this user's (or open)."""
    request = urllib.request.Request(f"{url}/_labcloud/health",
                                     headers={"Authorization": user_credentials().bearer_authorization})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_until_ready(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = health(url)
        if info and info.get("ready"):
            return info
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"labcloud exited with code {process.returncode} while starting")
        time.sleep(0.05)
    raise TimeoutError(f"labcloud at {url} did not become ready within {timeout:.0f} s")


def _ready_or_gone(url: str, timeout: float = 60.0) -> dict | None:
    """The health of the labcloud on url once it is ready, or None if none answers (or it is stopping)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = health(url)
        if info is None or info.get("ready"):
            return info
        time.sleep(0.05)
    raise TimeoutError(f"labcloud at {url} did not become ready within {timeout:.0f} s")



def start(port: int | None = None, state_dir: str | None = None, quiet: bool = False) -> str:
    """Make sure labcloud runs on 127.0.0.1:<port>, point this process's AWS clients at it, return its URL."""
    global _started
    port = int(port or settings.port())
    url = f"http://127.0.0.1:{port}"
    info = _ready_or_gone(url)
    if info is not None and "pid" not in info:
        # Another user's labcloud (it does not know our credentials): this user gets one of their own.
        info = None
        port = free_port()
        url = f"http://127.0.0.1:{port}"
    if info is not None and info.get("owner_pid") not in (None, os.getpid()):
        # Another process's private labcloud (another notebook's kernel): it stops when that process
        # does, so this process starts its own beside it.
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        info = None
    if info is None:
        if _started is not None and _started.poll() is None:
            raise RuntimeError(f"labcloud started by this process is not answering on {url}")
        command = [sys.executable, "-m", "labcloud", "up", "--port", str(port), "--exit-with-parent"]
        state_dir = state_dir or settings.state_dir()
        if state_dir:
            command += ["--state-dir", str(state_dir)]
        else:
            command += ["--in-memory"]
        log = tempfile.TemporaryFile()
        _started = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        atexit.register(stop)
        try:
            info = wait_until_ready(url, process=_started)
        except RuntimeError as err:
            log.seek(0)
            raise RuntimeError(f"{err}:\n{log.read().decode(errors='replace')[-2000:]}") from None
        how = "started"
    else:
        how = "using"
    configure(url)
    prompt_waiters.arm()  # sessions of AWS's own examples wait as promptly as labcloud.session()'s
    if not quiet:
        print(f"labcloud: {how} {url}")
    return url


def stop() -> None:
    """Stop the labcloud this process started (a shared one is left running)."""
    global _started
    if _started is None:
        return
    process, _started = _started, None
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
