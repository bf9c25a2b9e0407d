"""More of what SDK v2 pipelines do on labcloud: independent steps run at the same time (within the
execution's ParallelismConfiguration), and a Transform step scores data with the model a Model step made."""

from __future__ import annotations

import boto3

import labcloud
from tests.services.test_pipelines_mlops import TRAIN, write
from tests.support.pipelines import steps_of, wait_for

SLEEPER = "import time\ntime.sleep(1.5)\nprint('slept')\n"


def job_window(sm, step: dict) -> tuple:
    job = sm.describe_processing_job(ProcessingJobName=step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1])
    return job["ProcessingStartTime"], job["ProcessingEndTime"]


def test_independent_steps_run_at_once_unless_parallelism_says_one_at_a_time(pipeline_session, tmp_path, sm):
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.parallelism_config import ParallelismConfiguration
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import ProcessingStep

    processor = SKLearnProcessor(framework_version="1.2-1", role=labcloud.ROLE_ARN, instance_type="ml.m5.large",
                                 instance_count=1, sagemaker_session=pipeline_session)
    code = write(tmp_path, "sleep.py", SLEEPER)
    steps = [ProcessingStep(name=name, step_args=processor.run(code=code)) for name in ("Left", "Right")]
    pipeline = Pipeline(name="parallel-steps", steps=steps, sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)  # a notebook cell run twice updates the pipeline

    together = pipeline.start()
    assert wait_for(sm, together.arn)["PipelineExecutionStatus"] == "Succeeded"
    (left_start, left_end), (right_start, right_end) = (job_window(sm, steps_of(sm, together.arn)[n])
                                                        for n in ("Left", "Right"))
    assert left_start < right_end and right_start < left_end  # their jobs overlapped

    serial = pipeline.start(parallelism_config=ParallelismConfiguration(max_parallel_execution_steps=1))
    assert wait_for(sm, serial.arn)["PipelineExecutionStatus"] == "Succeeded"
    assert sm.describe_pipeline_execution(PipelineExecutionArn=serial.arn)["ParallelismConfiguration"] == {
        "MaxParallelExecutionSteps": 1}
    windows = sorted(job_window(sm, s) for s in steps_of(sm, serial.arn).values())
    assert windows[0][1] <= windows[1][0]  # one after the other


def test_a_transform_step_scores_data_with_the_model_a_model_step_created(pipeline_session, sagemaker_session,
                                                                         tmp_path, sm):
    from sagemaker.inputs import TrainingInput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.model import SKLearnModel
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import TrainingStep, TransformStep

    bucket = sagemaker_session.default_bucket()
    rows = [(x, x, int(x > 0)) for x in (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)]
    (tmp_path / "train.csv").write_text("x1,x2,label\n" + "\n".join(f"{a},{b},{c}" for a, b, c in rows) + "\n")
    (tmp_path / "score.csv").write_text("3.0,3.0\n-3.0,-3.0\n")
    train_uri = sagemaker_session.upload_data(str(tmp_path / "train.csv"), key_prefix="pipeline-transform/train")
    score_uri = sagemaker_session.upload_data(str(tmp_path / "score.csv"), key_prefix="pipeline-transform/score")

    write(tmp_path / "model", "train.py", TRAIN)
    estimator = SKLearn(entry_point="train.py", source_dir=str(tmp_path / "model"), framework_version="1.2-1",
                        role=labcloud.ROLE_ARN, instance_type="ml.m5.large", sagemaker_session=pipeline_session)
    train = TrainingStep(name="Train", step_args=estimator.fit(inputs={"train": TrainingInput(s3_data=train_uri)}))
    model = SKLearnModel(model_data=train.properties.ModelArtifacts.S3ModelArtifacts, role=labcloud.ROLE_ARN,
                         entry_point="train.py", source_dir=str(tmp_path / "model"), framework_version="1.2-1",
                         sagemaker_session=pipeline_session)
    create = ModelStep(name="MakeModel", step_args=model.create(instance_type="ml.m5.large"))
    output = f"s3://{bucket}/pipeline-transform/scored"
    transformer = Transformer(model_name=create.properties.ModelName, instance_type="ml.m5.large",
                              instance_count=1, output_path=output, accept="text/csv",
                              sagemaker_session=pipeline_session)
    score = TransformStep(name="Score", step_args=transformer.transform(data=score_uri, content_type="text/csv",
                                                                        split_type="Line"))
    pipeline = Pipeline(name="transform-demo", steps=[train, create, score], sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    execution = pipeline.start()
    described = wait_for(sm, execution.arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", steps_of(sm, execution.arn)
    step = steps_of(sm, execution.arn)["Score"]
    job = sm.describe_transform_job(TransformJobName=step["Metadata"]["TransformJob"]["Arn"].rsplit("/", 1)[-1])
    assert job["TransformJobStatus"] == "Completed"
    assert job["ModelName"] == steps_of(sm, execution.arn)["MakeModel-CreateModel"]["Metadata"]["Model"]["Arn"].rsplit(
        "/", 1)[-1]
    scored = boto3.client("s3").get_object(Bucket=bucket, Key="pipeline-transform/scored/score.csv.out")
    assert scored["Body"].read().decode().split() == ["1", "0"]
