"""Process output to CloudWatch Logs, where the SageMaker SDK and learners read it.

One LogShipper per server (`ctx.log_shipper`) takes lines from every training job, model server and
transform job and sends them in batches from one background thread every FLUSH_SECONDS, so a chatty
process never waits on the logs and `fit(logs=True)` prints lines while a job runs. Groups and streams
are SageMaker's (`/aws/sagemaker/TrainingJobs` with `<job>/algo-1-<epoch>`, `/aws/sagemaker/Endpoints/<name>`
with `<variant>/<instance>`, ...). Writes go through the server's own HTTP endpoint, so the journal keeps
them across restarts. Logs are best effort: a failed write is reported, never raised into a job.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

log = logging.getLogger("labcloud.logs")

FLUSH_SECONDS = 0.2
_MAX_BATCH = 1000  # PutLogEvents accepts up to 10,000 events; stay well below
_MAX_EVENT_CHARS = 200_000  # an event is at most 256 KiB


def ensure_log_stream(logs_client, group: str, stream: str) -> None:
    for call, kwargs in ((logs_client.create_log_group, {"logGroupName": group}),
                         (logs_client.create_log_stream, {"logGroupName": group, "logStreamName": stream})):
        try:
            call(**kwargs)
        except logs_client.exceptions.ResourceAlreadyExistsException:
            pass


class LogShipper:
    def __init__(self, logs_client, interval: float = FLUSH_SECONDS):
        self.logs = logs_client
        self.interval = interval
        self._pending: dict[tuple[str, str], list] = collections.defaultdict(list)
        self._created: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # batches leave in the order their lines came
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labcloud-log-shipper", daemon=True)
        self._thread.start()

    def open_stream(self, group: str, stream: str) -> None:
        """Create the stream now, as SageMaker does when a job starts, before it has written anything."""
        with self._send_lock:
            self._ensure(group, stream)

    def _ensure(self, group: str, stream: str) -> None:
        if (group, stream) not in self._created:
            ensure_log_stream(self.logs, group, stream)
            self._created.add((group, stream))

    def ship(self, group: str, stream: str, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line.rstrip("\r\n")[:_MAX_EVENT_CHARS]}
        with self._lock:
            self._pending[(group, stream)].append(event)

    def flush(self) -> None:
        """Send what is pending now (a job calls it before its status moves on)."""
        with self._send_lock:
            with self._lock:
                batches, self._pending = self._pending, collections.defaultdict(list)
            for (group, stream), events in batches.items():
                try:
                    self._ensure(group, stream)
                    for start in range(0, len(events), _MAX_BATCH):
                        self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                                 logEvents=events[start:start + _MAX_BATCH])
                except Exception as err:  # the server may be going down; no job may die of its logs
                    if not self._closed.is_set():
                        log.warning("could not write %d log events to %s/%s: %s", len(events), group, stream, err)

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.flush()  # lines written after the server closed are lost, quietly
