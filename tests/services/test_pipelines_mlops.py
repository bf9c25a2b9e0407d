"""The model-building pipeline a SageMaker Project runs, written with the SDK v2 as a learner writes it:
preprocess (processing) -> train -> evaluate (processing, with a PropertyFile) -> a condition on the
evaluation's accuracy against a threshold parameter -> register a PendingManualApproval version, else
fail. Every step runs for real; then a person approves the version, a rule's SQS queue hears of it, and
the approved package is deployed and answers."""

from __future__ import annotations

import json
import textwrap

import boto3
import numpy as np
import pytest

import labcloud
from tests.support.pipelines import steps_of, wait_for
from tests.support.events import approval_queue, received

GROUP = "mlops-build-models"

PREPROCESS = """
import os
import pandas as pd
frame = pd.read_csv("/opt/ml/processing/input/raw.csv").sample(frac=1.0, random_state=0)
cut = int(len(frame) * 0.75)
for name, part in (("train", frame[:cut]), ("test", frame[cut:])):
    part.to_csv(f"/opt/ml/processing/{name}/{name}.csv", index=False)
print(f"preprocess: {cut} rows to train, {len(frame) - cut} to test")
"""

TRAIN = """
import os
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    frame = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"))
    model = LogisticRegression().fit(frame[["x1", "x2"]], frame["label"])
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
    print("train: fitted on", len(frame), "rows")
"""

EVALUATE = """
import json, os, tarfile
import joblib
import pandas as pd
with tarfile.open("/opt/ml/processing/model/model.tar.gz") as tar:
    tar.extractall("/opt/ml/processing/model")
model = joblib.load("/opt/ml/processing/model/model.joblib")
test = pd.read_csv("/opt/ml/processing/test/test.csv")
accuracy = float((model.predict(test[["x1", "x2"]]) == test["label"]).mean())
with open("/opt/ml/processing/evaluation/evaluation.json", "w") as f:
    json.dump({"metrics": {"accuracy": {"value": accuracy}}}, f)
print("evaluate: accuracy", accuracy)
"""


@pytest.fixture(scope="module")
def raw_uri(sagemaker_session, tmp_path_factory):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 2))
    label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    folder = tmp_path_factory.mktemp("mlops-raw")
    lines = ["x1,x2,label"] + [f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, label)]
    (folder / "raw.csv").write_text("\n".join(lines) + "\n")
    return sagemaker_session.upload_data(str(folder / "raw.csv"), key_prefix="mlops/raw")


def write(folder, name: str, code: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code))
    return str(folder / name)


def build_pipeline(pipeline_session, tmp_path, raw_uri):
    from sagemaker.inputs import TrainingInput
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.model import SKLearnModel
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    role = labcloud.ROLE_ARN
    input_data = ParameterString(name="InputData", default_value=raw_uri)
    threshold = ParameterFloat(name="AccuracyThreshold", default_value=0.7)
    approval = ParameterString(name="ModelApprovalStatus", default_value="PendingManualApproval")

    processor = SKLearnProcessor(framework_version="1.2-1", role=role, instance_type="ml.m5.large",
                                 instance_count=1, sagemaker_session=pipeline_session)
    preprocess = ProcessingStep(name="Preprocess", step_args=processor.run(
        code=write(tmp_path / "code", "preprocess.py", PREPROCESS),
        inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                 ProcessingOutput(output_name="test", source="/opt/ml/processing/test")]))

    estimator = SKLearn(entry_point="train.py", source_dir=str(tmp_path / "model"), framework_version="1.2-1",
                        role=role, instance_type="ml.m5.large", sagemaker_session=pipeline_session)
    write(tmp_path / "model", "train.py", TRAIN)
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    train = TrainingStep(name="Train", step_args=estimator.fit(inputs={"train": TrainingInput(
        s3_data=outputs["train"].S3Output.S3Uri, content_type="text/csv")}))

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(name="Evaluate", property_files=[report], step_args=processor.run(
        code=write(tmp_path / "code", "evaluate.py", EVALUATE),
        inputs=[ProcessingInput(source=train.properties.ModelArtifacts.S3ModelArtifacts,
                                destination="/opt/ml/processing/model"),
                ProcessingInput(source=outputs["test"].S3Output.S3Uri, destination="/opt/ml/processing/test")],
        outputs=[ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")]))

    evaluation_uri = Join(on="/", values=[
        evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri, "evaluation.json"])
    model = SKLearnModel(model_data=train.properties.ModelArtifacts.S3ModelArtifacts, role=role,
                         entry_point="train.py", source_dir=str(tmp_path / "model"), framework_version="1.2-1",
                         sagemaker_session=pipeline_session)
    register = ModelStep(name="Register", step_args=model.register(
        content_types=["text/csv"], response_types=["text/csv"], inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"], model_package_group_name=GROUP, approval_status=approval,
        model_metrics=ModelMetrics(model_statistics=MetricsSource(s3_uri=evaluation_uri,
                                                                  content_type="application/json"))))
    accuracy = JsonGet(step_name=evaluate.name, property_file=report, json_path="metrics.accuracy.value")
    too_low = FailStep(name="AccuracyTooLow", error_message=Join(
        on=" ", values=["Accuracy is below the threshold", threshold]))
    check = ConditionStep(name="CheckAccuracy", conditions=[ConditionGreaterThanOrEqualTo(left=accuracy,
                                                                                         right=threshold)],
                          if_steps=[register], else_steps=[too_low])
    return Pipeline(name="mlops-build", parameters=[input_data, threshold, approval],
                    steps=[preprocess, train, evaluate, check], sagemaker_session=pipeline_session)


def job_of(step: dict, kind: str) -> str:
    return step["Metadata"][kind]["Arn"].rsplit("/", 1)[-1]


def test_the_model_build_pipeline_registers_a_version_that_once_approved_deploys(
        pipeline_session, sagemaker_session, tmp_path, raw_uri, sm):
    from sagemaker import ModelPackage

    pipeline = build_pipeline(pipeline_session, tmp_path, raw_uri)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    execution = pipeline.start()
    described = wait_for(sm, execution.arn, timeout=180)
    assert described["PipelineExecutionStatus"] == "Succeeded", steps_of(sm, execution.arn)
    steps = steps_of(sm, execution.arn)
    assert set(steps) == {"Preprocess", "Train", "Evaluate", "CheckAccuracy", "Register-RegisterModel"}
    assert {s["StepStatus"] for s in steps.values()} == {"Succeeded"}

    # Each job step ran its job; the evaluation's report is the one the condition read.
    evaluated = sm.describe_processing_job(ProcessingJobName=job_of(steps["Evaluate"], "ProcessingJob"))
    assert evaluated["ProcessingJobStatus"] == "Completed"
    report_uri = evaluated["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] + "/evaluation.json"
    bucket, key = report_uri[5:].split("/", 1)
    accuracy = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())[
        "metrics"]["accuracy"]["value"]
    assert 0.7 <= accuracy <= 1.0
    assert steps["CheckAccuracy"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    trained = sm.describe_training_job(TrainingJobName=job_of(steps["Train"], "TrainingJob"))
    preprocessed = sm.describe_processing_job(ProcessingJobName=job_of(steps["Preprocess"], "ProcessingJob"))
    train_uri = preprocessed["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert trained["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == train_uri

    package_arn = steps["Register-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"]
    package = sm.describe_model_package(ModelPackageName=package_arn)
    assert (package["ModelPackageGroupName"], package["ModelPackageVersion"]) == (GROUP, 1)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == report_uri
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == \
        trained["ModelArtifacts"]["S3ModelArtifacts"]

    # A threshold no model reaches takes the other branch: the Fail step ends the execution, nothing registers.
    strict = pipeline.start(parameters={"AccuracyThreshold": 1.01})
    described = wait_for(sm, strict.arn, timeout=180)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert described["FailureReason"] == "Accuracy is below the threshold 1.01"
    steps = steps_of(sm, strict.arn)
    assert steps["CheckAccuracy"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    assert steps["AccuracyTooLow"]["StepStatus"] == "Failed"
    assert "Register-RegisterModel" not in steps
    assert len(sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 1

    # A person approves the version: the rule's queue hears of it, and the approved package serves.
    queue = approval_queue(GROUP)
    sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved",
                            ApprovalDescription=f"accuracy {accuracy:.2f} on the test split")
    [event] = received(queue)
    assert event["detail"]["ModelApprovalStatus"] == "Approved" and event["resources"] == [package_arn]
    ModelPackage(role=labcloud.ROLE_ARN, model_package_arn=package_arn, sagemaker_session=sagemaker_session).deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="mlops-staging")
    try:
        answer = boto3.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="mlops-staging", ContentType="text/csv", Accept="text/csv", Body="2.0,1.0\n-2.0,-1.0\n")
        assert answer["Body"].read().decode().split() == ["1", "0"]
    finally:
        sm.delete_endpoint(EndpointName="mlops-staging")
