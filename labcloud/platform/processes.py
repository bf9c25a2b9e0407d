"""Process helpers shared by the server and the runtime: children that die with their parent, signalling
a process group, and stopping one politely, then firmly.

The standard library only: the model-server launcher imports this module before it preloads anything."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def signal_group(pid: int, sig: int, process=None) -> None:
    """Send `sig` to the process group that `pid` leads (the process and whatever it started). When there is
    no such group, the signal goes to `process` alone, if given: a subprocess.Popen (or a launched process)
    knows whether it has been reaped, so a pid taken over by another process is never signalled."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        if process is None:
            return
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass


def terminate_group(process: subprocess.Popen, grace_seconds: float) -> int:
    """SIGTERM the process group, wait up to grace_seconds, then SIGKILL it. Returns the exit code."""
    if process.poll() is None:
        signal_group(process.pid, signal.SIGTERM, process)
        try:
            return process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    signal_group(process.pid, signal.SIGKILL, process)  # also reaps grandchildren left in the group
    return process.wait()
