"""The endpoint invocation metrics SageMaker publishes to CloudWatch (namespace AWS/SageMaker), from
labcloud's own InvokeEndpoint calls:

    Invocations, Invocation4XXErrors, Invocation5XXErrors   counts (Sum), per EndpointName and VariantName
    ModelLatency       the containers' time together, microseconds
    OverheadLatency    the rest of the request's time at the endpoint, microseconds
    ContainerLatency   one container's time, microseconds, with ContainerName too (models of 2 or more containers)

As AWS does, values are aggregated (SampleCount, Sum, Minimum, Maximum) and put as statistic sets, here
every FLUSH_SECONDS rather than every minute so that a lab sees them at once. CloudWatch failing never
fails an invocation: what could not be put is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

NAMESPACE = "AWS/SageMaker"
FLUSH_SECONDS = 1.0
BATCH = 1000  # PutMetricData's limit of MetricData entries
log = logging.getLogger("labcloud.metrics")


class _Stats:
    __slots__ = ("count", "total", "low", "high")

    def __init__(self):
        self.count, self.total, self.low, self.high = 0, 0.0, float("inf"), float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low, self.high = min(self.low, value), max(self.high, value)


class InvocationMetrics:
    def __init__(self, ctx):
        self.ctx = ctx
        self._lock = threading.Lock()
        self._pending: dict[tuple, _Stats] = {}
        self._thread: threading.Thread | None = None

    def record(self, endpoint: str, variant: str, total_seconds: float, containers: list[tuple[str, float]],
               error_status: int | None, several_containers: bool) -> None:
        """One InvokeEndpoint: its time at the endpoint, each container's, and the error status if it failed."""
        base = (("EndpointName", endpoint), ("VariantName", variant))
        model = sum(seconds for _, seconds in containers)
        with self._lock:
            self._add("Invocations", base, 1, "None")
            self._add("Invocation4XXErrors", base, 1 if error_status and 400 <= error_status < 500 else 0, "None")
            self._add("Invocation5XXErrors", base, 1 if error_status is not None and not 400 <= error_status < 500
                      else 0, "None")
            if containers:
                self._add("ModelLatency", base, model * 1e6, "Microseconds")
                self._add("OverheadLatency", base, max(0.0, total_seconds - model) * 1e6, "Microseconds")
            if several_containers:
                for name, seconds in containers:
                    self._add("ContainerLatency", base + (("ContainerName", name),), seconds * 1e6, "Microseconds")

    def _add(self, metric: str, dimensions: tuple, value: float, unit: str) -> None:
        self._pending.setdefault((metric, dimensions, unit), _Stats()).add(value)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="endpoint-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self.ctx.shutting_down.wait(FLUSH_SECONDS):
            self.flush()

    def flush(self) -> int:
        """Put what was recorded since the last flush; returns how many statistic sets went."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        now = dt.datetime.now(dt.timezone.utc)
        entries = [{"MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                    "Timestamp": now, "Unit": unit,
                    "StatisticValues": {"SampleCount": stats.count, "Sum": stats.total,
                                        "Minimum": stats.low, "Maximum": stats.high}}
                   for (metric, dimensions, unit), stats in pending.items()]
        sent = 0
        try:
            cloudwatch = self.ctx.client("cloudwatch")
            for start in range(0, len(entries), BATCH):
                cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=entries[start:start + BATCH])
                sent += len(entries[start:start + BATCH])
        except Exception as err:  # noqa: BLE001 - metrics report the endpoint; they never fail it
            log.warning("could not put %d endpoint metric set(s) to CloudWatch: %s", len(entries) - sent, err)
        return sent
