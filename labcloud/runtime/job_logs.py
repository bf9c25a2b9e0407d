"""A job's output to CloudWatch Logs, where the SageMaker SDK tails it.

Lines are batched and flushed every FLUSH_SECONDS from a background thread, so `fit(logs=True)` prints
them while the job runs. The log group and stream are the ones SageMaker uses
(`/aws/sagemaker/TrainingJobs`, `<job>/algo-1-<epoch seconds>`). Writes go through the server's own
HTTP endpoint, so the journal keeps them across restarts.
"""

from __future__ import annotations

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


class LogStreamWriter:
    """Collects lines and sends them to one log stream in batches; close() flushes the rest."""

    def __init__(self, logs_client, group: str, stream: str):
        self.client = logs_client
        self.group = group
        self.stream = stream
        self._pending: list[dict] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # batches leave in the order their lines came
        self._closed = threading.Event()
        ensure_log_stream(logs_client, group, stream)
        self._thread = threading.Thread(target=self._run, name=f"logs-{stream}", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")[:_MAX_EVENT_CHARS]}
        with self._lock:
            self._pending.append(event)

    def _run(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            self.flush()
        self.flush()

    def flush(self) -> None:
        with self._send_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            for start in range(0, len(batch), _MAX_BATCH):
                try:
                    self.client.put_log_events(logGroupName=self.group, logStreamName=self.stream,
                                               logEvents=batch[start:start + _MAX_BATCH])
                except Exception as err:  # the server may be going down; the job must not die of it
                    log.warning("could not write %d log events to %s: %s", len(batch), self.stream, err)
                    return

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=10)
