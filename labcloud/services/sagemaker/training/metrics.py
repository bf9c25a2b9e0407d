"""Training metrics: AlgorithmSpecification.MetricDefinitions, read from the job's log as SageMaker does.

Each definition is {"Name", "Regex"}; every log line (the container's stdout and stderr) is searched with
each regex, and the first capture group, read as a float, is one value of that metric. What follows, as
on AWS:
- DescribeTrainingJob's FinalMetricDataList: per metric seen, its last value and when it was seen.
- CloudWatch: every value, in namespace /aws/sagemaker/TrainingJobs, as MetricName = the definition's
  Name. AWS files a training job's metrics under dimension Host = "<job>/algo-1"; the SDK v2's
  TrainingJobAnalytics reads them with dimension TrainingJobName = "<job>", so each value is put under
  both, and both ways of reading it find it.

The regexes are Python's `re`, which reads the usual metric patterns ("loss=([0-9.]+)",
"auc: ([-+]?[0-9]*\\.?[0-9]+)") as AWS does.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from dataclasses import dataclass
from typing import Callable

from labcloud.core.clock import utc_now

NAMESPACE = "/aws/sagemaker/TrainingJobs"
BATCH = 1000  # PutMetricData's limit on MetricData entries in one call
PUBLISH_EVERY = BATCH // 2  # values kept before a long job publishes them (each value is two entries)


class InvalidMetricRegex(ValueError):
    """A MetricDefinitions Regex that does not compile; CreateTrainingJob refuses it."""

    def __init__(self, name: str, regex: str, error: re.error):
        super().__init__(f"Invalid MetricDefinitions: the Regex of metric '{name}' is not a valid regular "
                         f"expression: {regex!r} ({error})")
        self.name = name
        self.regex = regex


@dataclass
class _Metric:
    name: str
    pattern: re.Pattern


def compile_definitions(definitions: list[dict] | None) -> list[_Metric]:
    metrics = []
    for definition in definitions or []:
        name, regex = definition["Name"], definition["Regex"]
        try:
            metrics.append(_Metric(name, re.compile(regex)))
        except re.error as err:
            raise InvalidMetricRegex(name, regex, err) from None
    return metrics


class MetricScanner:
    """Reads a job's log lines for its metrics; keeps each metric's last value and the values not yet
    in CloudWatch. Fed by the thread that reads the container's output, published by the job's worker:
    a lock keeps the two apart."""

    def __init__(self, job_name: str, host: str, definitions: list[dict] | None,
                 previous: list[dict] | None = None, clock: Callable[[], dt.datetime] = utc_now):
        self.job_name = job_name
        self.host = host  # "<job>/algo-1"
        self.metrics = compile_definitions(definitions)
        self.clock = clock
        self._lock = threading.Lock()
        # An attempt before this worker's (a job resumed after a restart) already reported these: a metric
        # this attempt does not print keeps its last value from then.
        known = {m.name for m in self.metrics}
        self._last: dict[str, tuple[float, dt.datetime]] = {
            p["MetricName"]: (p["Value"], p["Timestamp"]) for p in previous or [] if p["MetricName"] in known}
        self._pending: list[tuple[str, float, dt.datetime]] = []

    def feed(self, line: str) -> None:
        """One log line: a value for every metric whose regex matches it."""
        if not self.metrics:
            return
        now = None
        for metric in self.metrics:
            match = metric.pattern.search(line)
            if match is None:
                continue
            # The first capture group is the value; a regex without one gives its whole match.
            text = match.group(1) if metric.pattern.groups else match.group(0)
            try:
                value = float(text)
            except (TypeError, ValueError):
                continue  # not a number (or an optional group that did not take part): AWS skips it too
            if not math.isfinite(value):
                continue  # nan and inf are not values CloudWatch accepts, nor JSON numbers
            now = now or self.clock()
            with self._lock:
                self._last[metric.name] = (value, now)
                self._pending.append((metric.name, value, now))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def final_metric_data(self) -> list[dict]:
        """DescribeTrainingJob's FinalMetricDataList: the last value of each metric seen, in the order of
        the definitions; empty when none was (AWS then leaves the member out)."""
        with self._lock:
            return [{"MetricName": m.name, "Value": self._last[m.name][0], "Timestamp": self._last[m.name][1]}
                    for m in self.metrics if m.name in self._last]

    def datapoints(self) -> list[dict]:
        """Take the values not yet published, as PutMetricData's MetricData entries (two per value: under
        Host and under TrainingJobName)."""
        with self._lock:
            pending, self._pending = self._pending, []
        entries = []
        for name, value, when in pending:
            for dimension in ({"Name": "Host", "Value": self.host},
                              {"Name": "TrainingJobName", "Value": self.job_name}):
                entries.append({"MetricName": name, "Dimensions": [dimension], "Timestamp": when,
                                "Value": value, "Unit": "None"})
        return entries

    def publish(self, ctx, note: Callable[[str], None]) -> int:
        """Put the values not yet published into CloudWatch; returns how many entries went. A CloudWatch
        that fails does not fail the job (metrics are a report of the training, not part of it): the job's
        log says what was lost instead."""
        entries = self.datapoints()
        sent = 0
        try:
            if entries:
                cloudwatch = ctx.client("cloudwatch")
            for start in range(0, len(entries), BATCH):
                cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=entries[start:start + BATCH])
                sent += len(entries[start:start + BATCH])
        except Exception as err:  # any failure of the call or the client: reported, never raised
            note(f"labcloud: could not publish {len(entries) - sent} training metric value(s) to CloudWatch "
                 f"({type(err).__name__}: {err}); FinalMetricDataList still has each metric's last value")
        return sent
