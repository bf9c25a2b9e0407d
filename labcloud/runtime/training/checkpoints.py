"""Checkpoints as SageMaker handles them: local folder <-> CheckpointConfig.S3Uri.

Before every start of a job (its first, after a spot interruption, after a server restart, and for a new
job naming the same S3 URI) the objects under the S3 URI are copied into the local checkpoint folder.
While the job runs, a watcher looks at the folder every WATCH_SECONDS and uploads files that are new or
changed, and deletes from S3 the objects of files that were in the folder and are gone, as SageMaker
does ("if a checkpoint is deleted in the SageMaker AI container, it is also deleted in the S3 folder");
a final sync runs when the container stops, however it stops. Only objects the sync restored or uploaded
are ever deleted: what else lies under the prefix is left alone. Each sync that uploaded something counts
as a checkpoint written, which is what the spot interruption policy listens to; a deletion alone does not.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from labcloud.runtime.s3_transfer import download_objects, join_key, split_s3_uri

log = logging.getLogger("labcloud.checkpoints")

WATCH_SECONDS = 0.25
DEFAULT_LOCAL_PATH = "/opt/ml/checkpoints"


def restore(s3, s3_uri: str, local: Path) -> dict[str, str]:
    """Copy the checkpoints under `s3_uri` into `local`; returns {file name in local: its object's key}."""
    local.mkdir(parents=True, exist_ok=True)
    return download_objects(s3, s3_uri.rstrip("/") + "/", local)


class CheckpointSync:
    """Mirrors `local` to `s3_uri`: uploads what is new or changed, deletes what is gone;
    `on_checkpoint()` is called after each sync that uploaded something."""

    def __init__(self, s3, s3_uri: str, local: Path, on_checkpoint: Callable[[], None] | None = None):
        self.s3 = s3
        self.bucket, self.prefix = split_s3_uri(s3_uri)
        self.local = local
        self.on_checkpoint = on_checkpoint
        self._seen: dict[str, tuple[int, int]] = {}  # the files at the last look: name -> (mtime, size)
        # The files whose object this sync restored or uploaded: name -> key. Only these objects are ever
        # deleted. Not every file of the snapshot: one can be in the folder without having come from S3
        # (left before the job by a LocalPath outside /opt/ml), and S3 can gain objects after the restore
        # (another job on the same URI); neither is this job's to delete.
        self._objects: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.uploads = 0
        self.deletions = 0

    def mark_restored(self, restored: dict[str, str]) -> None:
        """Files restored before the start (restore()'s answer) are not new checkpoints, but their
        objects are the sync's to delete."""
        self._seen = self._snapshot()
        self._objects = {name: key for name, key in restored.items() if name in self._seen}

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
        """Upload new or changed files and delete the objects of known files that are gone, now.
        Returns how many were uploaded."""
        with self._lock:
            current = self._snapshot()
            changed = [name for name, sig in current.items() if self._seen.get(name) != sig]
            gone = [name for name in self._objects if name not in current]
            uploaded = 0
            for name in sorted(changed):
                key = join_key(self.prefix, name)
                try:
                    self.s3.upload_file(str(self.local / name), self.bucket, key)
                    self._objects[name] = key
                    uploaded += 1
                except FileNotFoundError:
                    continue
                except Exception as err:
                    log.warning("checkpoint upload of %s failed: %s", name, err)
                    current.pop(name, None)  # retry next time
            for name in sorted(gone):
                if self._is_gone(name):
                    self._delete(name)
            self._seen = current
            self.uploads += uploaded
        if uploaded and self.on_checkpoint:
            self.on_checkpoint()
        return uploaded

    def _is_gone(self, name: str) -> bool:
        """The file is not there: not merely missing from a look that could not enter its folder."""
        try:
            return not (self.local / name).is_file()
        except OSError:  # e.g. a folder the script made unreadable: keep the object
            return False

    def _delete(self, name: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self._objects[name])
        except Exception as err:
            log.warning("checkpoint deletion of %s failed: %s", name, err)
            return  # still known: tried again at the next sync
        del self._objects[name]
        self.deletions += 1

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
