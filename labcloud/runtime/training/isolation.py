"""Giving each training job its own /opt/ml, so scripts that use the literal paths work unchanged.

On Linux a job runs in a private mount namespace where its own folder is bind-mounted on /opt/ml:
`unshare --mount --propagation private` as root, `unshare --user --map-root-user --mount` otherwise.
Where that is impossible (macOS, Windows, no `unshare`, /opt/ml cannot be created, user namespaces
disabled) the job runs with the SM_* variables pointing at its folder, and literal /opt/ml paths do
not work; the job's log says so once.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

OPT_ML = "/opt/ml"
FALLBACK_NOTICE = ("labcloud: this machine cannot give the job a private /opt/ml (no mount namespaces); "
                   "the SM_* variables point at the job's folder {folder}, and literal /opt/ml paths do not "
                   "work here. Use the SM_* variables (SM_MODEL_DIR, SM_CHANNEL_<NAME>, ...) in scripts.")

# Inside the namespace: mount the job folder ($0) on /opt/ml, enter the working folder ($1) - only now,
# since a folder entered before the mount would be the one underneath - and become the job's command.
_MOUNT_AND_EXEC = 'mount --bind "$0" /opt/ml && cd "$1" && shift && exec "$@"'


def _unshare_prefix() -> list[str] | None:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return None
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private"]
    return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]


def _ensure_mount_point() -> bool:
    try:
        Path(OPT_ML).mkdir(parents=True, exist_ok=True)
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def private_mounts_available() -> bool:
    """Try once: can a child bind-mount a folder on /opt/ml in its own namespace?"""
    prefix = _unshare_prefix()
    if prefix is None or not _ensure_mount_point():
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        result = subprocess.run(prefix + ["sh", "-c", _MOUNT_AND_EXEC, str(probe), "/opt/ml", "true"],
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def wrap(argv: list[str], job_folder: Path, cwd: str) -> list[str] | None:
    """argv that runs `argv` in `cwd` with `job_folder` on /opt/ml, or None when this machine cannot."""
    if not private_mounts_available():
        return None
    return _unshare_prefix() + ["sh", "-c", _MOUNT_AND_EXEC, str(job_folder), cwd] + argv
