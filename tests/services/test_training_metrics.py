"""Training metrics through the SageMaker SDK v2: an estimator's metric_definitions read from the job's log,
in DescribeTrainingJob's FinalMetricDataList and in CloudWatch (namespace /aws/sagemaker/TrainingJobs)."""

from __future__ import annotations

import datetime as dt
import textwrap

import boto3
import pytest
from botocore.exceptions import ClientError

import labcloud

NAMESPACE = "/aws/sagemaker/TrainingJobs"
AUC = {"Name": "validation:auc", "Regex": "validation:auc=([0-9.]+)"}
LOSS = {"Name": "train:loss", "Regex": "train:loss=([0-9.]+)"}

SCRIPT = """
print("starting", flush=True)
for epoch, (auc, loss) in enumerate([(0.71, 0.9), (0.85, 0.5), (0.91, 0.25)]):
    print(f"epoch {epoch} validation:auc={auc} train:loss={loss}", flush=True)
print("validation:auc=not-a-number")  # skipped: the last value stays 0.91
"""


def _sklearn(session, tmp_path, script: str, metric_definitions, **extra):
    from sagemaker.sklearn import SKLearn

    (tmp_path / "train.py").write_text(textwrap.dedent(script))
    return SKLearn(entry_point="train.py", source_dir=str(tmp_path), role=labcloud.ROLE_ARN, instance_count=1,
                   instance_type="ml.m5.large", framework_version="1.2-1", sagemaker_session=session,
                   metric_definitions=metric_definitions, **extra)


def _statistics(cloudwatch, job: str, metric: str, description: dict, dimension: dict) -> dict:
    """Sums over the job's time of one metric's datapoints under one dimension."""
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric, Dimensions=[dimension],
        StartTime=description["TrainingStartTime"] - dt.timedelta(minutes=1),
        EndTime=description["TrainingEndTime"] + dt.timedelta(minutes=1),
        Period=60, Statistics=["SampleCount", "Minimum", "Maximum"])["Datapoints"]
    if not points:
        return {}
    return {"count": sum(p["SampleCount"] for p in points), "min": min(p["Minimum"] for p in points),
            "max": max(p["Maximum"] for p in points)}


@pytest.fixture(scope="module")
def trained(sagemaker_session, tmp_path_factory):
    estimator = _sklearn(sagemaker_session, tmp_path_factory.mktemp("metrics-src"), SCRIPT, [AUC, LOSS])
    estimator.fit(logs=False)
    return estimator


def test_final_metric_data_list_has_each_metrics_last_value(trained):
    description = trained.latest_training_job.describe()
    assert description["TrainingJobStatus"] == "Completed"
    assert description["AlgorithmSpecification"]["MetricDefinitions"] == [AUC, LOSS]
    final = description["FinalMetricDataList"]
    assert [(m["MetricName"], m["Value"]) for m in final] == [("validation:auc", 0.91), ("train:loss", 0.25)]
    for metric in final:
        assert isinstance(metric["Timestamp"], dt.datetime)
        assert description["TrainingStartTime"] <= metric["Timestamp"] <= description["TrainingEndTime"]


def test_every_value_is_in_cloudwatch_under_the_host_dimension(trained):
    description = trained.latest_training_job.describe()
    job = description["TrainingJobName"]
    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, Dimensions=[{"Name": "Host", "Value": f"{job}/algo-1"}])
    assert sorted(m["MetricName"] for m in listed["Metrics"]) == ["train:loss", "validation:auc"]

    host = {"Name": "Host", "Value": f"{job}/algo-1"}
    assert _statistics(cloudwatch, job, "validation:auc", description, host) == {"count": 3, "min": 0.71, "max": 0.91}
    assert _statistics(cloudwatch, job, "train:loss", description, host) == {"count": 3, "min": 0.25, "max": 0.9}
    # The same values under TrainingJobName, the dimension the SDK's TrainingJobAnalytics asks for.
    by_name = {"Name": "TrainingJobName", "Value": job}
    assert _statistics(cloudwatch, job, "validation:auc", description, by_name) == {"count": 3, "min": 0.71,
                                                                                    "max": 0.91}
    assert _statistics(cloudwatch, job, "validation:auc", description,
                       {"Name": "Host", "Value": "another-job/algo-1"}) == {}


def test_training_job_analytics_reads_the_metrics(trained):
    from sagemaker.analytics import TrainingJobAnalytics

    job = trained.latest_training_job.name
    frame = TrainingJobAnalytics(job, sagemaker_session=trained.sagemaker_session).dataframe()
    assert set(frame["metric_name"]) == {"validation:auc", "train:loss"}
    # One minute's values are one CloudWatch period: their average (the analytics' statistic).
    averages = frame.groupby("metric_name")["value"].mean()
    assert averages["validation:auc"] == pytest.approx((0.71 + 0.85 + 0.91) / 3, abs=0.08)
    assert 0.25 <= averages["train:loss"] <= 0.9


def test_definitions_that_match_nothing_leave_final_metric_data_list_out(sagemaker_session, tmp_path):
    estimator = _sklearn(sagemaker_session, tmp_path, 'print("no metrics here")',
                         [{"Name": "never", "Regex": "never=([0-9.]+)"}])
    estimator.fit(logs=False)
    description = estimator.latest_training_job.describe()
    assert description["TrainingJobStatus"] == "Completed"
    assert "FinalMetricDataList" not in description


def test_an_invalid_regex_is_refused_naming_the_metric(sagemaker_session, tmp_path):
    estimator = _sklearn(sagemaker_session, tmp_path, 'print("never runs")',
                         [AUC, {"Name": "broken:metric", "Regex": "("}])
    with pytest.raises(ClientError) as err:
        estimator.fit(logs=False, job_name="metrics-invalid-regex")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    message = err.value.response["Error"]["Message"]
    assert "'broken:metric'" in message and "'('" in message
    with pytest.raises(ClientError) as missing:
        sagemaker_session.sagemaker_client.describe_training_job(TrainingJobName="metrics-invalid-regex")
    assert missing.value.response["Error"]["Code"] == "ValidationException"  # no job was made


SPOT_SCRIPT = """
import json, os, time
checkpoint = "/opt/ml/checkpoints/state.json"
state = json.load(open(checkpoint)) if os.path.exists(checkpoint) else {"epoch": 0}
if state["epoch"] == 0:
    print("fresh:start=1", flush=True)  # only the first attempt prints it
for epoch in range(state["epoch"], 4):
    print(f"validation:auc={(epoch + 1) / 10}", flush=True)
    state["epoch"] = epoch + 1
    with open(checkpoint + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(checkpoint + ".tmp", checkpoint)
    time.sleep(0.4)
"""


def test_across_spot_attempts_the_last_value_wins(sagemaker_session, tmp_path):
    bucket = sagemaker_session.default_bucket()
    estimator = _sklearn(sagemaker_session, tmp_path, SPOT_SCRIPT,
                         [AUC, {"Name": "fresh:start", "Regex": "fresh:start=([0-9]+)"}],
                         use_spot_instances=True, max_run=300, max_wait=600,
                         checkpoint_s3_uri=f"s3://{bucket}/tests/metrics/spot-ckpt",
                         tags=[{"Key": "labcloud:spot-interruptions", "Value": "1"}])
    estimator.fit(logs=False)
    description = estimator.latest_training_job.describe()
    assert description["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]].count("Interrupted") == 1
    final = {m["MetricName"]: m for m in description["FinalMetricDataList"]}
    assert final["validation:auc"]["Value"] == 0.4  # the second attempt's last epoch
    # A metric only the first attempt printed keeps its value, from before the interruption.
    assert final["fresh:start"]["Value"] == 1.0
    assert final["fresh:start"]["Timestamp"] < final["validation:auc"]["Timestamp"]
    job = description["TrainingJobName"]
    seen = _statistics(boto3.client("cloudwatch"), job, "validation:auc", description,
                       {"Name": "Host", "Value": f"{job}/algo-1"})
    assert seen["count"] >= 4 and seen["min"] == 0.1 and seen["max"] == 0.4  # both attempts' values


def test_final_metrics_and_cloudwatch_values_survive_a_restart(in_process, tmp_path):
    server = in_process()
    estimator = _sklearn(labcloud.session(), tmp_path, SCRIPT, [AUC])
    estimator.fit(logs=False)
    job = estimator.latest_training_job.name
    before = boto3.client("sagemaker").describe_training_job(TrainingJobName=job)
    server.stop()

    in_process()
    after = boto3.client("sagemaker").describe_training_job(TrainingJobName=job)
    assert after["FinalMetricDataList"] == before["FinalMetricDataList"]
    assert [(m["MetricName"], m["Value"]) for m in after["FinalMetricDataList"]] == [("validation:auc", 0.91)]
    seen = _statistics(boto3.client("cloudwatch"), job, "validation:auc", after,
                       {"Name": "Host", "Value": f"{job}/algo-1"})
    assert seen == {"count": 3, "min": 0.71, "max": 0.91}
