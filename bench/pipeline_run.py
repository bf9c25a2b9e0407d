"""How long a five-step SageMaker pipeline takes on labcloud beside the run time of its jobs.

Starts its own labcloud (in memory, on a free port) and runs, through the SDK v2, the pipeline
Preprocess (processing) -> Train -> Evaluate (processing, with a PropertyFile) -> CheckAccuracy
(condition) -> Register (model registry). Every step is on the critical path, so the orchestration
time is the execution's wall time (StartPipelineExecution until Succeeded) minus the time its three jobs
took (CreationTime to end time, from their Describe answers). The target is under 0.5 s of
orchestration per step. Prints its figures; stops its labcloud.

    python bench/pipeline_run.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labcloud.platform.ports import free_port

STEPS = 5
WORK = "import time; time.sleep({seconds})\n"  # every job does about this much work of its own
PREPROCESS = WORK.format(seconds=0.5) + "open('/opt/ml/processing/train/train.csv', 'w').write('1,2\\n')\n"
TRAIN = WORK.format(seconds=0.5) + "import os; open(os.environ['SM_MODEL_DIR'] + '/model.txt', 'w').write('m')\n"
EVALUATE = WORK.format(seconds=0.5) + (
    "import json; json.dump({'accuracy': 0.9}, open('/opt/ml/processing/evaluation/evaluation.json', 'w'))\n")


def build(session, work: Path, run: int):
    import labcloud
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.model import SKLearnModel
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.functions import JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    role = labcloud.ROLE_ARN
    processor = SKLearnProcessor(framework_version="1.2-1", role=role, instance_type="ml.m5.large",
                                 instance_count=1, sagemaker_session=session)
    preprocess = ProcessingStep(name="Preprocess", step_args=processor.run(
        code=str(work / "preprocess.py"),
        outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train")]))
    estimator = SKLearn(entry_point="train.py", source_dir=str(work / "model"), framework_version="1.2-1",
                        role=role, instance_type="ml.m5.large", sagemaker_session=session)
    train = TrainingStep(name="Train", step_args=estimator.fit(inputs={"train": TrainingInput(
        s3_data=preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri)}))
    report = PropertyFile(name="Report", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(name="Evaluate", property_files=[report], step_args=processor.run(
        code=str(work / "evaluate.py"),
        inputs=[ProcessingInput(source=train.properties.ModelArtifacts.S3ModelArtifacts,
                                destination="/opt/ml/processing/model")],
        outputs=[ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")]))
    model = SKLearnModel(model_data=train.properties.ModelArtifacts.S3ModelArtifacts, role=role,
                         entry_point="train.py", source_dir=str(work / "model"), framework_version="1.2-1",
                         sagemaker_session=session)
    register = ModelStep(name="Register", step_args=model.register(
        content_types=["text/csv"], response_types=["text/csv"], inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"], model_package_group_name="bench-models"))
    check = ConditionStep(name="CheckAccuracy", conditions=[ConditionGreaterThanOrEqualTo(
        left=JsonGet(step_name="Evaluate", property_file=report, json_path="accuracy"), right=0.5)],
        if_steps=[register])
    return Pipeline(name=f"bench-{run}", steps=[preprocess, train, evaluate, check], sagemaker_session=session)


def job_seconds(sm, step: dict) -> float:
    """A job step's job, from its creation to its end (what the job itself took, downloads included)."""
    metadata = step["Metadata"]
    if "TrainingJob" in metadata:
        job = sm.describe_training_job(TrainingJobName=metadata["TrainingJob"]["Arn"].rsplit("/", 1)[-1])
        return (job["TrainingEndTime"] - job["CreationTime"]).total_seconds()
    job = sm.describe_processing_job(ProcessingJobName=metadata["ProcessingJob"]["Arn"].rsplit("/", 1)[-1])
    return (job["ProcessingEndTime"] - job["CreationTime"]).total_seconds()


def run_once(session, sm, work: Path, run: int) -> tuple[float, float]:
    import labcloud

    pipeline = build(session, work, run)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    start = time.perf_counter()
    arn = sm.start_pipeline_execution(PipelineName=f"bench-{run}")["PipelineExecutionArn"]
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status not in ("Executing", "Stopping"):
            break
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if status != "Succeeded":
        raise SystemExit(f"the pipeline ended {status}")
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert len(steps) == STEPS, [s["StepName"] for s in steps]
    jobs = sum(job_seconds(sm, s) for s in steps if {"TrainingJob", "ProcessingJob"} & set(s["Metadata"]))
    return wall, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labcloud-bench-"))
    (work / "model").mkdir()
    (work / "preprocess.py").write_text(PREPROCESS)
    (work / "evaluate.py").write_text(EVALUATE)
    (work / "model" / "train.py").write_text(TRAIN)

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--port", str(port), "--in-memory"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import boto3

        from labcloud.client.embedded import wait_until_ready
        from labcloud.client.environment import configure

        wait_until_ready(f"http://127.0.0.1:{port}", process=server)
        configure(f"http://127.0.0.1:{port}")
        from sagemaker.workflow.pipeline_context import PipelineSession

        boto_session = boto3.Session(region_name="us-east-1")
        session = PipelineSession(boto_session=boto_session, default_bucket="sagemaker-us-east-1-123456789012")
        boto_session.client("s3").create_bucket(Bucket="sagemaker-us-east-1-123456789012")
        sm = boto_session.client("sagemaker")
        results = [run_once(session, sm, work, run) for run in range(args.runs)]
    finally:
        server.terminate()
        server.wait(timeout=60)

    walls, jobs = [w for w, _ in results], [j for _, j in results]
    per_step = [(w - j) / STEPS for w, j in results]
    print(f"\nruns: {args.runs}, {STEPS} steps on the critical path (3 jobs of about 0.5 s of work each)")
    print(f"execution wall time      : {statistics.median(walls):.2f} s (median; all: "
          f"{', '.join(f'{x:.2f}' for x in walls)})")
    print(f"jobs on the critical path: {statistics.median(jobs):.2f} s (median; all: "
          f"{', '.join(f'{x:.2f}' for x in jobs)})")
    print(f"orchestration per step   : {statistics.median(per_step):.3f} s (median; all: "
          f"{', '.join(f'{x:.3f}' for x in per_step)})  (target < 0.5 s)")


if __name__ == "__main__":
    main()
