"""Checkpoints as SageMaker handles them: local folder <-> CheckpointConfig.S3Uri.

Before every start of a job (its first, after a spot interruption, after a server restart, and for a new
job naming the same S3 URI) the objects under the S3 URI are copied into the local checkpoint folder.
While the job runs, a watcher looks at the folder every WATCH_SECONDS and uploads files that are new or
changed; a final sync runs when the container stops, however it stops. Files the script deletes are
left in S3, as SageMaker does. Each sync that uploaded something counts as a checkpoint written, which
is what the spot interruption policy listens to.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from labcloud.runtime.s3_transfer import download_prefix, join_key, split_s3_uri

log = logging.getLogger("labcloud.checkpoints")

WATCH_SECONDS = 0.25
DEFAULT_LOCAL_PATH = "/opt/ml/checkpoints"


def restore(s3, s3_uri: str, local: Path) -> int:
    local.mkdir(parents=True, exist_ok=True)
    return download_prefix(s3, s3_uri.rstrip("/") + "/", local)


class CheckpointSync:
    """Uploads what changes in `local` to `s3_uri`; `on_checkpoint()` is called after each upload."""

    def __init__(self, s3, s3_uri: str, local: Path, on_checkpoint: Callable[[], None] | None = None):
        self.s3 = s3
        self.bucket, self.prefix = split_s3_uri(s3_uri)
        self.local = local
        self.on_checkpoint = on_checkpoint
        self._seen: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.uploads = 0

    def mark_restored(self) -> None:
        """Files restored before the start are not new checkpoints."""
        self._seen = self._snapshot()

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        files = {}
        if self.local.is_dir():
            for path in self.local.rglob("*"):
                try:
                    if path.is_file():
                        stat = path.stat()
                        files[path.relative_to(self.local).as_posix()] = (stat.st_mtime_ns, stat.st_size)
                except FileNotFoundError:  # removed while we looked
                    continue
        return files

    def sync(self) -> int:
        """Upload new or changed files now. Returns how many were uploaded."""
        with self._lock:
            current = self._snapshot()
            changed = [name for name, sig in current.items() if self._seen.get(name) != sig]
            uploaded = 0
            for name in sorted(changed):
                try:
                    self.s3.upload_file(str(self.local / name), self.bucket, join_key(self.prefix, name))
                    uploaded += 1
                except FileNotFoundError:
                    continue
                except Exception as err:
                    log.warning("checkpoint upload of %s failed: %s", name, err)
                    current.pop(name, None)  # retry next time
            self._seen = current
            self.uploads += uploaded
        if uploaded and self.on_checkpoint:
            self.on_checkpoint()
        return uploaded

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="checkpoint-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            self.sync()

    def stop(self, final_sync: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if final_sync:
            self.on_checkpoint = None  # the container is gone: nothing left to interrupt
            self.sync()
