"""SageMaker Pipelines on labcloud through the SDK v2, written as a learner writes them: the definition the
SDK produces runs as a graph, each step really runs its job."""

from __future__ import annotations

import time

import boto3
import numpy as np
import pytest

import labcloud
from tests.support.pipelines import steps_of, wait_for

TRAIN_SCRIPT = """
import os, joblib, numpy as np
from sklearn.linear_model import LogisticRegression
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
joblib.dump(LogisticRegression().fit(data[:, 1:], data[:, 0]), os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print("trained")
"""
SLOW_SCRIPT = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"
FAILING_SCRIPT = "raise SystemExit('the data has no label column')\n"


@pytest.fixture(scope="module")
def data_uri(sagemaker_session, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline-data")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    np.savetxt(folder / "data.csv", np.column_stack([(x[:, 0] > 0).astype(int), x]), delimiter=",")
    return sagemaker_session.upload_data(str(folder / "data.csv"), key_prefix="pipelines/data")


def training_step(pipeline_session, tmp_path, script: str, name: str = "Train", **step_options):
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.workflow.steps import TrainingStep

    source = tmp_path / f"src-{name}"
    source.mkdir(exist_ok=True)
    (source / "train.py").write_text(script)
    estimator = SKLearn(entry_point="train.py", source_dir=str(source), framework_version="1.2-1",
                        role=labcloud.ROLE_ARN, instance_type="ml.m5.large", sagemaker_session=pipeline_session)
    return estimator, step_options.pop("inputs", None), TrainingStep(
        name=name, step_args=estimator.fit(inputs=step_options.pop("fit_inputs")), **step_options)


def threshold_pipeline(pipeline_session, tmp_path, data_uri, name: str):
    """Train -> CheckThreshold (Threshold <= 0.9) -> CreateModel, else Fail."""
    from sagemaker.inputs import TrainingInput
    from sagemaker.sklearn.model import SKLearnModel
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline

    threshold = ParameterFloat(name="Threshold", default_value=0.5)
    data = ParameterString(name="TrainData", default_value=data_uri)
    _, _, train = training_step(pipeline_session, tmp_path, TRAIN_SCRIPT,
                                fit_inputs={"train": TrainingInput(s3_data=data, content_type="text/csv")})
    model = SKLearnModel(model_data=train.properties.ModelArtifacts.S3ModelArtifacts, role=labcloud.ROLE_ARN,
                         entry_point="train.py", source_dir=str(tmp_path / "src-Train"), framework_version="1.2-1",
                         sagemaker_session=pipeline_session)
    create = ModelStep(name="CreateModel", step_args=model.create(instance_type="ml.m5.large"))
    fail = FailStep(name="ThresholdTooHigh", error_message=Join(on=" ", values=["Threshold", threshold, "is above 0.9"]))
    check = ConditionStep(name="CheckThreshold", conditions=[ConditionLessThanOrEqualTo(left=threshold, right=0.9)],
                          if_steps=[create], else_steps=[fail])
    return Pipeline(name=name, parameters=[threshold, data], steps=[train, check], sagemaker_session=pipeline_session)


def test_a_pipeline_trains_checks_a_parameter_and_creates_the_model(pipeline_session, tmp_path, data_uri, sm):
    pipeline = threshold_pipeline(pipeline_session, tmp_path, data_uri, "threshold-demo")
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    execution = pipeline.start()
    described = wait_for(sm, execution.arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described
    steps = steps_of(sm, execution.arn)
    assert set(steps) == {"Train", "CheckThreshold", "CreateModel-CreateModel"}  # the Fail step never ran
    assert all(s["StepStatus"] == "Succeeded" for s in steps.values())
    job = steps["Train"]["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[-1]
    trained = sm.describe_training_job(TrainingJobName=job)
    assert trained["TrainingJobStatus"] == "Completed" and job.startswith("pipelines-")
    assert steps["CheckThreshold"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    model = sm.describe_model(ModelName=steps["CreateModel-CreateModel"]["Metadata"]["Model"]["Arn"].rsplit("/", 1)[-1])
    # The model step read the training step's property: its artifacts.
    assert model["PrimaryContainer"]["ModelDataUrl"] == trained["ModelArtifacts"]["S3ModelArtifacts"]
    assert sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution.arn)["PipelineParameters"] == [
        {"Name": "Threshold", "Value": "0.5"}, {"Name": "TrainData", "Value": data_uri}]

    # The other branch, by a parameter override: the Fail step fails the execution with its message.
    failing = pipeline.start(parameters={"Threshold": 2.0})
    described = wait_for(sm, failing.arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert described["FailureReason"] == "Threshold 2.0 is above 0.9"
    steps = steps_of(sm, failing.arn)
    assert steps["CheckThreshold"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    assert steps["ThresholdTooHigh"]["StepStatus"] == "Failed"
    assert steps["ThresholdTooHigh"]["Metadata"] == {"Fail": {"ErrorMessage": "Threshold 2.0 is above 0.9"}}
    assert "CreateModel-CreateModel" not in steps


def test_a_failing_step_fails_the_execution_and_the_steps_after_it_never_run(pipeline_session, tmp_path,
                                                                              data_uri, sm):
    from sagemaker.inputs import TrainingInput
    from sagemaker.workflow.pipeline import Pipeline

    _, _, broken = training_step(pipeline_session, tmp_path, FAILING_SCRIPT, name="Broken",
                                 fit_inputs={"train": TrainingInput(s3_data=data_uri)})
    _, _, fine = training_step(pipeline_session, tmp_path, TRAIN_SCRIPT, name="Fine",
                               fit_inputs={"train": TrainingInput(s3_data=data_uri)})
    _, _, after = training_step(pipeline_session, tmp_path, TRAIN_SCRIPT, name="After", depends_on=[broken],
                                fit_inputs={"train": TrainingInput(s3_data=data_uri)})
    pipeline = Pipeline(name="failing-demo", steps=[broken, fine, after], sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    execution = pipeline.start()
    described = wait_for(sm, execution.arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert described["FailureReason"].startswith("Step failure: One or multiple steps failed. Broken: AlgorithmError")
    steps = steps_of(sm, execution.arn)
    assert steps["Broken"]["StepStatus"] == "Failed" and "the data has no label column" in steps["Broken"]["FailureReason"]
    assert steps["Fine"]["StepStatus"] == "Succeeded"  # it ran beside the broken one: nothing depends on it
    assert "After" not in steps


def test_stopping_an_execution_stops_its_running_training_job(pipeline_session, tmp_path, data_uri, sm):
    from sagemaker.inputs import TrainingInput
    from sagemaker.workflow.pipeline import Pipeline

    _, _, slow = training_step(pipeline_session, tmp_path, SLOW_SCRIPT, name="Slow",
                               fit_inputs={"train": TrainingInput(s3_data=data_uri)})
    pipeline = Pipeline(name="stopping-demo", steps=[slow], sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    execution = pipeline.start()
    deadline = time.monotonic() + 60
    while steps_of(sm, execution.arn).get("Slow", {}).get("StepStatus") != "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job = steps_of(sm, execution.arn)["Slow"]["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[-1]
    while sm.describe_training_job(TrainingJobName=job)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    execution.stop()
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution.arn)["PipelineExecutionStatus"] in (
        "Stopping", "Stopped")
    described = wait_for(sm, execution.arn, timeout=60)
    assert described["PipelineExecutionStatus"] == "Stopped"
    assert sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"
    assert steps_of(sm, execution.arn)["Slow"]["StepStatus"] == "Stopped"


def test_two_executions_at_once_keep_their_own_parameters_and_jobs(pipeline_session, tmp_path, data_uri, sm):
    pipeline = threshold_pipeline(pipeline_session, tmp_path, data_uri, "parallel-demo")
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    first, second = pipeline.start(parameters={"Threshold": 0.1}), pipeline.start(parameters={"Threshold": 5})
    assert wait_for(sm, first.arn)["PipelineExecutionStatus"] == "Succeeded"
    assert wait_for(sm, second.arn)["PipelineExecutionStatus"] == "Failed"
    jobs = {steps_of(sm, arn)["Train"]["Metadata"]["TrainingJob"]["Arn"] for arn in (first.arn, second.arn)}
    assert len(jobs) == 2
    assert steps_of(sm, second.arn)["ThresholdTooHigh"]["FailureReason"] == "Threshold 5.0 is above 0.9"


def test_a_second_identical_execution_hits_the_cache_and_events_reach_a_rule(pipeline_session, tmp_path,
                                                                             data_uri, sm):
    import json

    from sagemaker.inputs import TrainingInput
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import CacheConfig

    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="pipeline-done", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {"currentPipelineExecutionStatus": ["Succeeded"]}}))
    events.put_targets(Rule="pipeline-done", Targets=[{"Id": "q", "Arn": queue_arn}])

    _, _, train = training_step(pipeline_session, tmp_path, TRAIN_SCRIPT, name="CachedTrain",
                                cache_config=CacheConfig(enable_caching=True, expire_after="PT1H"),
                                fit_inputs={"train": TrainingInput(s3_data=data_uri)})
    pipeline = Pipeline(name="cache-demo", steps=[train], sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    first = pipeline.start()
    assert wait_for(sm, first.arn)["PipelineExecutionStatus"] == "Succeeded"
    jobs_before = len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    second = pipeline.start()
    assert wait_for(sm, second.arn)["PipelineExecutionStatus"] == "Succeeded"
    step, earlier = steps_of(sm, second.arn)["CachedTrain"], steps_of(sm, first.arn)["CachedTrain"]
    assert step["CacheHitResult"] == {"SourcePipelineExecutionArn": first.arn}
    assert step["Metadata"] == earlier["Metadata"] and "CacheHitResult" not in earlier
    assert len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]) == jobs_before  # no new job ran

    bodies = [json.loads(m["Body"]) for m in
              sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
    done = {b["detail"]["pipelineExecutionArn"] for b in bodies}
    assert done == {first.arn, second.arn}
    assert all(b["detail"]["previousPipelineExecutionStatus"] == "Executing" for b in bodies)
