"""The log shipper loses no line: blank lines, very long lines, bursts and a failed write."""

from __future__ import annotations

import threading

from labcloud.runtime.job_logs import LogShipper, batches_of, events_of


class StrictLogs:
    """CloudWatch Logs' limits on PutLogEvents, and one failure when asked."""

    class exceptions:
        class ResourceAlreadyExistsException(Exception):
            pass

    def __init__(self, fail_first: int = 0):
        self.messages: list[str] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def create_log_group(self, **_):
        pass

    def create_log_stream(self, **_):
        pass

    def put_log_events(self, logGroupName, logStreamName, logEvents):
        assert 1 <= len(logEvents) <= 10_000
        assert sum(len(e["message"].encode()) + 26 for e in logEvents) <= 1_048_576
        for event in logEvents:
            assert 1 <= len(event["message"].encode()) <= 262_144 - 26
        with self.lock:
            if self.fail_first:
                self.fail_first -= 1
                raise ConnectionError("the endpoint is busy")
            self.messages.extend(e["message"] for e in logEvents)


def test_blank_and_long_lines_become_valid_events_that_keep_every_character():
    assert [e["message"] for e in events_of("\n", 1)] == [" "]
    long_line = "é" * 250_000  # 500,000 bytes of two-byte characters
    pieces = events_of(long_line, 1)
    assert len(pieces) == 3 and "".join(p["message"] for p in pieces) == long_line
    assert all(len(p["message"].encode()) <= 200_000 for p in pieces)


def test_batches_respect_count_and_size():
    events = [{"timestamp": 1, "message": "x" * 150_000}] * 20 + [{"timestamp": 1, "message": "y"}] * 2500
    batches = batches_of(events)
    assert sum(len(b) for b in batches) == len(events)
    assert all(len(b) <= 1000 and sum(len(e["message"]) + 26 for e in b) <= 1_048_576 for b in batches)


def test_nothing_is_lost_across_a_burst_blank_lines_long_lines_and_a_failed_write():
    logs = StrictLogs(fail_first=1)
    shipper = LogShipper(logs, interval=3600)  # flushed by hand below
    lines = [f"line {i}" for i in range(3000)] + ["", "\r\n", "z" * 600_000, "last"]
    for line in lines:
        shipper.ship("/aws/sagemaker/TrainingJobs", "job/algo-1-1", line)
    shipper.flush()  # the first write fails: its lines wait for the next flush
    assert logs.messages == []
    shipper.flush()
    shipper.close()
    expected = [f"line {i}" for i in range(3000)] + [" ", " ", "z" * 200_000, "z" * 200_000, "z" * 200_000, "last"]
    assert logs.messages == expected
