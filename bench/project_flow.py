"""How long a SageMaker project takes from `git push` to a staging endpoint that answers, beside the run
time of the jobs that make that model.

Starts its own labcloud (in memory, on a free port), creates a project from the MLOps template, waits for
its first build, then pushes a change to the model-build repository with `git`, approves the version the
build registers, and times push -> staging endpoint InService and answering. The jobs' own time is the
sum, over the SageMaker pipeline execution that the push started, of each processing and training job's
CreationTime-to-end time. Prints its figures; stops its labcloud.

    python bench/project_flow.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labcloud.platform.ports import free_port

PROJECT = "bench"


def git(*args, cwd=None) -> None:
    subprocess.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args], cwd=cwd,
                   check=True, capture_output=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, timeout=120)


def until(check, timeout: float = 600, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise SystemExit("timed out")


def job_seconds(sm, execution_arn: str) -> float:
    total = 0.0
    for step in sm.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)["PipelineExecutionSteps"]:
        metadata = step.get("Metadata") or {}
        if "TrainingJob" in metadata:
            job = sm.describe_training_job(TrainingJobName=metadata["TrainingJob"]["Arn"].rsplit("/", 1)[-1])
            total += (job["TrainingEndTime"] - job["CreationTime"]).total_seconds()
        elif "ProcessingJob" in metadata:
            job = sm.describe_processing_job(ProcessingJobName=metadata["ProcessingJob"]["Arn"].rsplit("/", 1)[-1])
            total += (job["ProcessingEndTime"] - job["CreationTime"]).total_seconds()
    return total


def main() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--port", str(port), "--in-memory"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import boto3

        from labcloud.client.embedded import wait_until_ready
        from labcloud.client.environment import configure
        from labcloud.runtime import project_templates

        wait_until_ready(f"http://127.0.0.1:{port}", process=server)
        configure(f"http://127.0.0.1:{port}")
        sm, codecommit, codepipeline = boto3.client("sagemaker"), boto3.client("codecommit"), boto3.client("codepipeline")
        url = project_templates.template_url(project_templates.MLOPS_BUILD_DEPLOY, "us-east-1")
        project_id = sm.create_project(ProjectName=PROJECT, TemplateProviders=[{"CfnTemplateProvider": {
            "TemplateName": "mlops", "TemplateURL": url}}])["ProjectId"]
        prefix, group = f"sagemaker-{PROJECT}-{project_id}", f"{PROJECT}-{project_id}"
        until(lambda: sm.describe_project(ProjectName=PROJECT)["ProjectStatus"] == "CreateCompleted")

        def build_runs(status_wanted: int):
            found = codepipeline.list_pipeline_executions(pipelineName=f"{prefix}-modelbuild")[
                "pipelineExecutionSummaries"]
            return len(found) >= status_wanted and all(e["status"] not in ("InProgress", "Stopping") for e in found)

        until(lambda: build_runs(1))
        work = Path(tempfile.mkdtemp(prefix="labcloud-bench-")) / "modelbuild"
        clone = codecommit.get_repository(repositoryName=f"{prefix}-modelbuild")["repositoryMetadata"]["cloneUrlHttp"]
        git("clone", clone, str(work))
        code = work / "pipelines" / "pipeline.py"
        code.write_text(code.read_text().replace('hyperparameters={"C": 1.0}', 'hyperparameters={"C": 0.8}'))
        git("commit", "-am", "bench", cwd=work)

        pushed = time.perf_counter()
        git("push", "origin", "main", cwd=work)
        version = until(lambda: [v for v in sm.list_model_packages(ModelPackageGroupName=group)[
            "ModelPackageSummaryList"] if v["ModelPackageVersion"] == 2])[0]
        registered = time.perf_counter()
        sm.update_model_package(ModelPackageArn=version["ModelPackageArn"], ModelApprovalStatus="Approved")
        runtime = boto3.client("sagemaker-runtime")

        def staging_answers():
            try:
                if sm.describe_endpoint(EndpointName=f"{PROJECT}-staging")["EndpointStatus"] != "InService":
                    return False
                runtime.invoke_endpoint(EndpointName=f"{PROJECT}-staging", ContentType="text/csv",
                                        Body="12,70.5,3\n60,25.0,0\n")
                return True
            except Exception:  # noqa: BLE001 - not there yet
                return False

        until(staging_answers)
        answered = time.perf_counter()
        executions = sm.list_pipeline_executions(PipelineName=group, SortBy="CreationTime", SortOrder="Descending")
        jobs = job_seconds(sm, executions["PipelineExecutionSummaries"][0]["PipelineExecutionArn"])
    finally:
        server.terminate()
        server.wait(timeout=60)

    print(f"\npush -> version registered   : {registered - pushed:.1f} s")
    print(f"approval -> staging answering : {answered - registered:.1f} s")
    print(f"push -> staging answering     : {answered - pushed:.1f} s (the approval is immediate here)")
    print(f"the pipeline's jobs' own time : {jobs:.1f} s (processing and training, CreationTime to end)")
    print(f"everything else               : {answered - pushed - jobs:.1f} s (git, CodePipeline, CodeBuild, "
          f"SageMaker Pipelines, the deploy)")


if __name__ == "__main__":
    main()
