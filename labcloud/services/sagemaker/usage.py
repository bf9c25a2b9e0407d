"""What this lab cloud's SageMaker resources used, as AWS would meter it: one row per job, transform or
endpoint variant, with its instance type, instance count and billable seconds (`labcloud bill` prices them).

Where each figure comes from (the least state that says it):

    training-job    ResourceConfig (or each of its InstanceGroups) and BillableTimeInSeconds, as
                    DescribeTrainingJob reports it (spot jobs bill the discounted seconds: training/jobs.py);
                    0 until the job ends
    processing-job  ProcessingResources.ClusterConfig; ProcessingStartTime to ProcessingEndTime (or now)
    transform-job   TransformResources; TransformStartTime to TransformEndTime (or now)
    endpoint        an EndpointUsage record per endpoint (hosting/endpoints.py keeps it after DeleteEndpoint):
                    each stretch in service with one endpoint config, to the next config, the deletion, or now

Seconds are whole seconds, rounded up (AWS meters per second). A row without an instance type (a serverless
variant) has instance_type None.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import asdict, dataclass

from labcloud.core.clock import utc_now

KINDS = ("training-job", "processing-job", "transform-job", "endpoint")


@dataclass(frozen=True)
class UsageRow:
    kind: str  # one of KINDS
    name: str  # the job's or endpoint's name (an endpoint's variant: "<endpoint>/<variant>")
    instance_type: str | None
    instance_count: int
    billable_seconds: int  # per instance
    status: str  # the resource's status now (an endpoint that was deleted: "Deleted")
    start: dt.datetime | None = None
    end: dt.datetime | None = None  # None while it still runs
    spot: bool = False  # a managed spot training job
    training_seconds: int | None = None  # TrainingTimeInSeconds of a training job

    def to_json(self) -> dict:
        row = asdict(self)
        for key in ("start", "end"):
            row[key] = row[key].isoformat() if row[key] else None
        return row

    @classmethod
    def from_json(cls, row: dict) -> "UsageRow":
        row = dict(row)
        for key in ("start", "end"):
            row[key] = dt.datetime.fromisoformat(row[key]) if row.get(key) else None
        return cls(**row)


def seconds_between(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> int:
    if start is None:
        return 0
    return max(0, math.ceil(((end or now) - start).total_seconds()))


def training_rows(job: dict) -> list[UsageRow]:
    config = job.get("ResourceConfig") or {}
    groups = config.get("InstanceGroups") or [config]
    common = dict(kind="training-job", status=job["TrainingJobStatus"], start=job.get("TrainingStartTime"),
                  end=job.get("TrainingEndTime"), spot=bool(job.get("EnableManagedSpotTraining")),
                  billable_seconds=int(job.get("BillableTimeInSeconds") or 0),
                  training_seconds=job.get("TrainingTimeInSeconds"))
    name = job["TrainingJobName"]
    return [UsageRow(name=name if len(groups) == 1 else f"{name}/{g.get('InstanceGroupName')}",
                     instance_type=g.get("InstanceType"), instance_count=int(g.get("InstanceCount", 1)), **common)
            for g in groups]


def processing_rows(job: dict, now: dt.datetime) -> list[UsageRow]:
    cluster = job["ProcessingResources"]["ClusterConfig"]
    start, end = job.get("ProcessingStartTime"), job.get("ProcessingEndTime")
    return [UsageRow("processing-job", job["ProcessingJobName"], cluster.get("InstanceType"),
                     int(cluster.get("InstanceCount", 1)), seconds_between(start, end, now),
                     job["ProcessingJobStatus"], start, end)]


def transform_rows(job: dict, now: dt.datetime) -> list[UsageRow]:
    resources = job["TransformResources"]
    start, end = job.get("TransformStartTime"), job.get("TransformEndTime")
    return [UsageRow("transform-job", job["TransformJobName"], resources.get("InstanceType"),
                     int(resources.get("InstanceCount", 1)), seconds_between(start, end, now),
                     job["TransformJobStatus"], start, end)]


class EndpointUsage:
    """One endpoint's time in service, kept from its creation to after its deletion (record kind
    'endpoint-usage', keyed by `key()`: an endpoint deleted and created again under the same name is two)."""

    KIND = "endpoint-usage"

    def __init__(self, record: dict):
        self.record = record  # {"EndpointName", "CreationTime", "Segments": [...], "DeletionTime"?}

    @classmethod
    def new(cls, name: str, created: dt.datetime) -> "EndpointUsage":
        return cls({"EndpointName": name, "CreationTime": created, "Segments": []})

    @staticmethod
    def key(name: str, created: dt.datetime) -> str:
        return f"{name}@{int(created.timestamp() * 1000)}"

    @property
    def name(self) -> str:
        return self.record["EndpointName"]

    def in_service(self, config: dict, when: dt.datetime) -> bool:
        """The endpoint serves `config` from `when`: a new stretch unless it already served that config
        (a restart of labcloud brings it back without a new stretch). Returns whether it changed."""
        segments = self.record["Segments"]
        if segments and "EndTime" not in segments[-1]:
            if segments[-1]["EndpointConfigName"] == config["EndpointConfigName"]:
                return False
            segments[-1]["EndTime"] = when
        variants = [{"VariantName": v["VariantName"], "InstanceType": v.get("InstanceType"),
                     "InstanceCount": int(v.get("InitialInstanceCount") or 1)} for v in config["ProductionVariants"]]
        segments.append({"EndpointConfigName": config["EndpointConfigName"], "Variants": variants,
                         "StartTime": when})
        return True

    def deleted(self, when: dt.datetime) -> None:
        segments = self.record["Segments"]
        if segments and "EndTime" not in segments[-1]:
            segments[-1]["EndTime"] = when
        self.record["DeletionTime"] = when

    def rows(self, status: str | None, now: dt.datetime) -> list[UsageRow]:
        """One row per variant of each stretch; `status` is the endpoint's now (None: it was deleted)."""
        rows = []
        segments = self.record["Segments"]
        for segment in segments:
            for variant in segment["Variants"]:
                name = self.name if len(segment["Variants"]) == 1 else f"{self.name}/{variant['VariantName']}"
                rows.append(UsageRow("endpoint", name, variant["InstanceType"], variant["InstanceCount"],
                                     seconds_between(segment["StartTime"], segment.get("EndTime"), now),
                                     status or "Deleted", segment["StartTime"], segment.get("EndTime")))
        return rows

    def snapshot(self) -> dict:
        return copy.deepcopy(self.record)


def collect(training, processing, transform, endpoints, now: dt.datetime | None = None) -> list[UsageRow]:
    """Every usage row of the SageMaker service's families, oldest first."""
    now = now or utc_now()
    rows: list[UsageRow] = []
    for job in _descriptions(training):
        rows += training_rows(job)
    for job in _descriptions(processing):
        rows += processing_rows(job, now)
    for job in _descriptions(transform):
        rows += transform_rows(job, now)
    rows += endpoints.usage_rows(now)
    far_future = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(rows, key=lambda r: (r.start or far_future, r.kind, r.name))


def _descriptions(family) -> list[dict]:
    with family.lock:
        return [copy.deepcopy(job.description) for job in family.jobs.values()]
