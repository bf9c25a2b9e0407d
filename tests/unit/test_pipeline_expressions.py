"""The pieces of a pipeline execution that need no server: property paths, expressions, conditions,
durations, retry policies."""

from __future__ import annotations

import datetime as dt

import pytest

from labcloud.services.sagemaker.pipelines import cache
from labcloud.services.sagemaker.pipelines.expressions import Evaluator, StepFailure, follow, parse_path

DESCRIBED = {"ProcessingOutputConfig": {"Outputs": [
    {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
    {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}}]},
    "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.91}]}


def evaluator(values: dict, documents: dict | None = None) -> Evaluator:
    return Evaluator(lambda ref: values[ref], lambda step, name: documents[(step, name)],
                     lambda uri: documents[uri])


def test_property_paths_follow_lists_by_their_name_members():
    assert follow(DESCRIBED, parse_path("ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"), "x") == "s3://b/test"
    assert follow(DESCRIBED, parse_path("ProcessingOutputConfig.Outputs[0].OutputName"), "x") == "train"
    assert follow(DESCRIBED, parse_path("FinalMetricDataList['validation:auc'].Value"), "x") == 0.91
    with pytest.raises(StepFailure, match="no item named 'eval'"):
        follow(DESCRIBED, parse_path("ProcessingOutputConfig.Outputs['eval']"), "x")


def test_join_json_get_and_conditions():
    report = {"metrics": {"accuracy": {"value": 0.82}}, "items": [{"x": 1}]}
    e = evaluator({"Parameters.Threshold": 0.8, "Execution.PipelineExecutionId": "abc", "Parameters.On": True},
                  {("Evaluate", "Report"): report, "s3://b/r.json": report})
    joined = {"Std:Join": {"On": "/", "Values": ["s3:/", "bucket", {"Get": "Execution.PipelineExecutionId"}, 3,
                                                 {"Get": "Parameters.On"}]}}
    assert e.value(joined) == "s3://bucket/abc/3/true"
    accuracy = {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"},
                                "Path": "metrics.accuracy.value"}}
    assert e.value(accuracy) == 0.82
    assert e.value({"Std:JsonGet": {"S3Uri": "s3://b/r.json", "Path": "items[0].x"}}) == 1
    threshold = {"Get": "Parameters.Threshold"}
    assert e.condition({"Type": "GreaterThanOrEqualTo", "LeftValue": accuracy, "RightValue": threshold})
    assert not e.condition({"Type": "LessThan", "LeftValue": accuracy, "RightValue": threshold})
    assert e.condition({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 2}})
    assert e.condition({"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                                                     {"Type": "In", "QueryValue": "b", "Values": ["a", "b"]}]})
    assert e.condition({"Type": "Equals", "LeftValue": 1, "RightValue": 1.0})
    with pytest.raises(StepFailure, match="the path 'metrics.loss' is not in the JSON file"):
        e.value({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"},
                                 "Path": "metrics.loss"}})
    with pytest.raises(StepFailure, match="cannot compare"):
        e.condition({"Type": "GreaterThan", "LeftValue": "high", "RightValue": 1})


def test_iso_durations_and_retry_delays():
    assert cache.duration("PT1H") == dt.timedelta(hours=1)
    assert cache.duration("P30D") == dt.timedelta(days=30)
    assert cache.duration("P1Y2M") == dt.timedelta(days=425)
    assert cache.duration(None) is None
    with pytest.raises(ValueError, match="ISO 8601"):
        cache.duration("1 hour")
    policies = [{"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 2, "BackoffRate": 3,
                 "MaxAttempts": 3}]
    assert cache.retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 1) == 2
    assert cache.retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 2) == 6
    assert cache.retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 3) is None  # MaxAttempts reached
    assert cache.retry_delay(policies, "Step.THROTTLING", 1) is None
    assert cache.retry_delay(policies, None, 1) is None
