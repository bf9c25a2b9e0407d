"""Process output to CloudWatch Logs, where the SageMaker SDK and learners read it.

One LogShipper per server (`ctx.log_shipper`) takes lines from every training job, model server and
transform job and sends them in batches from one background thread every FLUSH_SECONDS, so a chatty
process never waits on the logs and `fit(logs=True)` prints lines while a job runs. Groups and streams
are SageMaker's (`/aws/sagemaker/TrainingJobs` with `<job>/algo-1-<epoch>`, `/aws/sagemaker/Endpoints/<name>`
with `<variant>/<instance>`, ...). Writes go through the server's own HTTP endpoint, so the journal keeps
them across restarts. No line is lost: CloudWatch Logs refuses an empty message, an event over 256 KiB and
a batch over 1 MiB, so a blank line is sent as one space, a long line as several events, and batches are cut
by size as well as count; a write that fails is tried again at the next flush (and never raised into a
job).
"""

from __future__ import annotations

import collections
import logging
import threading
import time

log = logging.getLogger("labcloud.logs")

FLUSH_SECONDS = 0.2
_MAX_BATCH = 1000  # PutLogEvents accepts up to 10,000 events; stay well below
_MAX_EVENT_BYTES = 200_000  # an event's message is at most 256 KiB (less 26 bytes of overhead)
_MAX_BATCH_BYTES = 900_000  # a batch is at most 1 MiB, counting 26 bytes per event
_EVENT_OVERHEAD = 26


def events_of(line: str, timestamp: int) -> list[dict]:
    """The CloudWatch events that carry one output line: a blank one as a space, a long one in pieces."""
    data = (line.rstrip("\r\n") or " ").encode("utf-8", errors="replace")
    pieces, start = [], 0
    while start < len(data):
        end = min(start + _MAX_EVENT_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # do not cut a character in two
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
    return [{"timestamp": timestamp, "message": piece} for piece in pieces]


def batches_of(events: list[dict]) -> list[list[dict]]:
    """Consecutive batches within PutLogEvents' limits of count and size."""
    batches, current, size = [], [], 0
    for event in events:
        cost = len(event["message"].encode("utf-8")) + _EVENT_OVERHEAD
        if current and (len(current) >= _MAX_BATCH or size + cost > _MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += cost
    if current:
        batches.append(current)
    return batches


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
        events = events_of(line, int(time.time() * 1000))
        with self._lock:
            self._pending[(group, stream)].extend(events)

    def flush(self) -> None:
        """Send what is pending now (a job calls it before its status moves on)."""
        with self._send_lock:
            with self._lock:
                batches, self._pending = self._pending, collections.defaultdict(list)
            for (group, stream), events in batches.items():
                sent = 0
                try:
                    self._ensure(group, stream)
                    for batch in batches_of(events):
                        self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                        sent += len(batch)
                except Exception as err:  # the server may be going down; no job may die of its logs
                    with self._lock:  # what was not sent goes first at the next flush, in order
                        self._pending[(group, stream)][:0] = events[sent:]
                    self._created.discard((group, stream))  # someone may have deleted it: make it again
                    if not self._closed.is_set():
                        log.warning("could not write %d log events to %s/%s (trying again): %s",
                                    len(events) - sent, group, stream, err)

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.flush()  # lines written after the server closed are lost, quietly
