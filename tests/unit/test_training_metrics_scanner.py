"""The training job's MetricScanner on its own: log lines in, FinalMetricDataList and CloudWatch entries out
(a fake clock and a fake CloudWatch; no server)."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest

from labcloud.services.sagemaker.training.metrics import (BATCH, NAMESPACE, InvalidMetricRegex, MetricScanner,
                                                          compile_definitions)

AUC = {"Name": "validation:auc", "Regex": "validation:auc=([0-9.]+)"}
LOSS = {"Name": "train:loss", "Regex": r"loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def clock():
    """A clock that moves one second each time it is read."""
    ticks = itertools.count()
    return lambda: T0 + dt.timedelta(seconds=next(ticks))


def scanner(definitions=(AUC, LOSS), previous=None) -> MetricScanner:
    return MetricScanner("job-1", "job-1/algo-1", list(definitions), previous=previous, clock=clock())


class FakeCloudWatch:
    def __init__(self, fail: Exception | None = None):
        self.calls: list[dict] = []
        self.fail = fail

    def put_metric_data(self, **request):
        if self.fail:
            raise self.fail
        self.calls.append(request)


def context(cloudwatch) -> SimpleNamespace:
    return SimpleNamespace(client=lambda service: {"cloudwatch": cloudwatch}[service])


def test_last_value_and_its_time_per_metric_in_definition_order():
    metrics = scanner()
    for line in ["epoch 1 loss: 0.9", "validation:auc=0.71", "nothing here", "epoch 2 loss: 4e-1",
                 "validation:auc=0.91 (best)"]:
        metrics.feed(line)
    assert metrics.final_metric_data() == [
        {"MetricName": "validation:auc", "Value": 0.91, "Timestamp": T0 + dt.timedelta(seconds=3)},
        {"MetricName": "train:loss", "Value": 0.4, "Timestamp": T0 + dt.timedelta(seconds=2)},
    ]
    assert metrics.pending == 4


def test_one_line_can_carry_several_metrics():
    metrics = scanner()
    metrics.feed("loss: 0.25 validation:auc=0.8")
    assert {m["MetricName"]: m["Value"] for m in metrics.final_metric_data()} == {
        "validation:auc": 0.8, "train:loss": 0.25}


def test_values_that_are_not_numbers_are_skipped():
    metrics = scanner([AUC, {"Name": "word", "Regex": r"score=(\S+)"}, {"Name": "opt", "Regex": r"a(b)?c"}])
    for line in ["validation:auc=0.5", "validation:auc=...", "validation:auc=1.2.3", "score=high",
                 "score=nan", "score=inf", "ac"]:
        metrics.feed(line)
    assert metrics.final_metric_data() == [
        {"MetricName": "validation:auc", "Value": 0.5, "Timestamp": T0}]
    assert metrics.pending == 1


def test_a_regex_without_a_group_gives_its_whole_match():
    metrics = scanner([{"Name": "n", "Regex": r"(?<=n=)\d+"}])
    metrics.feed("n=42")
    assert metrics.final_metric_data()[0]["Value"] == 42.0


def test_no_definitions_no_metrics():
    metrics = scanner([])
    metrics.feed("validation:auc=0.9")
    assert metrics.final_metric_data() == [] and metrics.pending == 0


def test_an_invalid_regex_names_the_metric_and_the_regex():
    with pytest.raises(InvalidMetricRegex) as err:
        compile_definitions([AUC, {"Name": "broken", "Regex": "acc=(["}])
    assert err.value.name == "broken"
    assert "'broken'" in str(err.value) and "'acc=(['" in str(err.value)
    with pytest.raises(InvalidMetricRegex):
        MetricScanner("j", "j/algo-1", [{"Name": "x", "Regex": "("}])


def test_publish_sends_each_value_under_host_and_training_job_name_then_forgets_it():
    metrics = scanner([AUC])
    metrics.feed("validation:auc=0.5")
    metrics.feed("validation:auc=0.75")
    cloudwatch, notes = FakeCloudWatch(), []
    assert metrics.publish(context(cloudwatch), notes.append) == 4
    assert notes == []
    [call] = cloudwatch.calls
    assert call["Namespace"] == NAMESPACE == "/aws/sagemaker/TrainingJobs"
    assert [(e["Value"], e["Dimensions"], e["Timestamp"]) for e in call["MetricData"]] == [
        (0.5, [{"Name": "Host", "Value": "job-1/algo-1"}], T0),
        (0.5, [{"Name": "TrainingJobName", "Value": "job-1"}], T0),
        (0.75, [{"Name": "Host", "Value": "job-1/algo-1"}], T0 + dt.timedelta(seconds=1)),
        (0.75, [{"Name": "TrainingJobName", "Value": "job-1"}], T0 + dt.timedelta(seconds=1)),
    ]
    assert {e["MetricName"] for e in call["MetricData"]} == {"validation:auc"}
    assert metrics.pending == 0
    assert metrics.publish(context(cloudwatch), notes.append) == 0 and len(cloudwatch.calls) == 1  # nothing new
    assert metrics.final_metric_data()[0]["Value"] == 0.75  # publishing does not forget the last value


def test_publish_batches_at_most_1000_entries_a_call():
    metrics = scanner([AUC])
    for i in range(1201):
        metrics.feed(f"validation:auc={i}")
    cloudwatch = FakeCloudWatch()
    assert metrics.publish(context(cloudwatch), lambda line: None) == 2402
    assert [len(c["MetricData"]) for c in cloudwatch.calls] == [BATCH, BATCH, 402]
    assert cloudwatch.calls[-1]["MetricData"][-1]["Value"] == 1200.0


def test_a_failing_cloudwatch_is_noted_not_raised():
    metrics = scanner([AUC])
    metrics.feed("validation:auc=0.5")
    notes = []
    assert metrics.publish(context(FakeCloudWatch(fail=ConnectionError("refused"))), notes.append) == 0
    assert len(notes) == 1 and "could not publish 2 training metric value(s)" in notes[0] and "refused" in notes[0]
    assert metrics.final_metric_data()[0]["Value"] == 0.5

    def no_client(service):
        raise RuntimeError("no client")

    metrics.feed("validation:auc=0.6")
    assert metrics.publish(SimpleNamespace(client=no_client), notes.append) == 0
    assert "no client" in notes[-1]


def test_an_earlier_attempts_values_stand_until_a_new_one_is_seen():
    earlier = [{"MetricName": "validation:auc", "Value": 0.6, "Timestamp": T0},
               {"MetricName": "train:loss", "Value": 0.3, "Timestamp": T0},
               {"MetricName": "no longer defined", "Value": 1.0, "Timestamp": T0}]
    metrics = scanner(previous=earlier)
    metrics.feed("loss: 0.1")
    assert [(m["MetricName"], m["Value"]) for m in metrics.final_metric_data()] == [
        ("validation:auc", 0.6), ("train:loss", 0.1)]
    assert metrics.pending == 1  # the earlier values were published by the earlier attempt
