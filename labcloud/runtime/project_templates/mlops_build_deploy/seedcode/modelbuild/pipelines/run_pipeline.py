"""Upsert the project's SageMaker pipeline and run it once: what the CodeBuild step of the model-build
CodePipeline does after every push to main."""

import argparse
import os
import sys
import time

import boto3
from sagemaker.workflow.pipeline_context import PipelineSession

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pipelines.pipeline import get_pipeline  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
POLL_SECONDS = 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--artifact-bucket", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--accuracy-threshold", type=float, default=0.7)
    args = parser.parse_args()

    name = f"{args.project_name}-{args.project_id}"  # the pipeline and the model package group
    boto_session = boto3.Session(region_name=args.region)
    session = PipelineSession(boto_session=boto_session, default_bucket=args.artifact_bucket)
    data = session.upload_data(os.path.join(HERE, "..", "data", "churn.csv"), bucket=args.artifact_bucket,
                               key_prefix=f"{name}/data")
    pipeline = get_pipeline(session, args.role_arn, name, name, data, args.accuracy_threshold)
    tags = [{"Key": "sagemaker:project-name", "Value": args.project_name},
            {"Key": "sagemaker:project-id", "Value": args.project_id}]
    pipeline.upsert(role_arn=args.role_arn, description=f"Model build for the project {args.project_name}",
                    tags=tags)
    execution = pipeline.start()
    print(f"started {execution.arn}", flush=True)

    client = boto_session.client("sagemaker")
    while True:
        described = client.describe_pipeline_execution(PipelineExecutionArn=execution.arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            break
        time.sleep(POLL_SECONDS)
    for step in client.list_pipeline_execution_steps(PipelineExecutionArn=execution.arn)["PipelineExecutionSteps"]:
        print(f"  {step['StepName']}: {step['StepStatus']} {step.get('FailureReason', '')}".rstrip())
    status = described["PipelineExecutionStatus"]
    print(f"execution {status}")
    if status != "Succeeded":
        sys.exit(f"the pipeline execution {status}: {described.get('FailureReason', '')}")


if __name__ == "__main__":
    main()
