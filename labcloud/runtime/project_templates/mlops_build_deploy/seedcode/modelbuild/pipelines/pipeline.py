"""The model-building SageMaker pipeline of this project.

    Preprocess (processing) -> Train -> Evaluate (processing, writes evaluation.json)
        -> CheckAccuracy: accuracy >= AccuracyThreshold ?
              yes -> RegisterModel (a new version in the project's model package group)
              no  -> AccuracyTooLow (Fail)
"""

import os

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

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMEWORK_VERSION = "1.2-1"
INSTANCE_TYPE = "ml.m5.large"


def get_pipeline(session, role, pipeline_name, model_package_group_name, input_data_uri,
                 accuracy_threshold=0.7):
    """The pipeline, built on a PipelineSession (steps are recorded, not run, until an execution starts)."""
    input_data = ParameterString(name="InputDataUrl", default_value=input_data_uri)
    threshold = ParameterFloat(name="AccuracyThreshold", default_value=accuracy_threshold)
    approval = ParameterString(name="ModelApprovalStatus", default_value="PendingManualApproval")

    processor = SKLearnProcessor(framework_version=FRAMEWORK_VERSION, role=role, instance_type=INSTANCE_TYPE,
                                 instance_count=1, base_job_name=f"{pipeline_name}-process",
                                 sagemaker_session=session)
    preprocess = ProcessingStep(name="Preprocess", step_args=processor.run(
        code=os.path.join(HERE, "preprocess.py"),
        inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                 ProcessingOutput(output_name="test", source="/opt/ml/processing/test")]))
    splits = preprocess.properties.ProcessingOutputConfig.Outputs

    estimator = SKLearn(entry_point="train.py", source_dir=HERE, framework_version=FRAMEWORK_VERSION,
                        role=role, instance_type=INSTANCE_TYPE, base_job_name=f"{pipeline_name}-train",
                        hyperparameters={"C": 1.0}, sagemaker_session=session)
    train = TrainingStep(name="Train", step_args=estimator.fit(inputs={"train": TrainingInput(
        s3_data=splits["train"].S3Output.S3Uri, content_type="text/csv")}))
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(name="Evaluate", property_files=[report], step_args=processor.run(
        code=os.path.join(HERE, "evaluate.py"),
        inputs=[ProcessingInput(source=model_data, destination="/opt/ml/processing/model"),
                ProcessingInput(source=splits["test"].S3Output.S3Uri, destination="/opt/ml/processing/test")],
        outputs=[ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")]))

    evaluation_uri = Join(on="/", values=[
        evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri, "evaluation.json"])
    model = SKLearnModel(model_data=model_data, role=role, entry_point="train.py", source_dir=HERE,
                         framework_version=FRAMEWORK_VERSION, sagemaker_session=session)
    register = ModelStep(name="RegisterModel", step_args=model.register(
        content_types=["text/csv"], response_types=["text/csv"], inference_instances=[INSTANCE_TYPE],
        transform_instances=[INSTANCE_TYPE], model_package_group_name=model_package_group_name,
        approval_status=approval,
        model_metrics=ModelMetrics(model_statistics=MetricsSource(s3_uri=evaluation_uri,
                                                                  content_type="application/json"))))
    too_low = FailStep(name="AccuracyTooLow", error_message=Join(
        on=" ", values=["The model's accuracy is below the threshold", threshold]))
    accuracy = JsonGet(step_name=evaluate.name, property_file=report, json_path="metrics.accuracy.value")
    check = ConditionStep(name="CheckAccuracy",
                          conditions=[ConditionGreaterThanOrEqualTo(left=accuracy, right=threshold)],
                          if_steps=[register], else_steps=[too_low])
    return Pipeline(name=pipeline_name, parameters=[input_data, threshold, approval],
                    steps=[preprocess, train, evaluate, check], sagemaker_session=session)
