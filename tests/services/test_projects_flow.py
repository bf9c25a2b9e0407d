"""A SageMaker project from end to end, as a learner drives it with boto3 and the ordinary `git`: create the
project; the model-build pipeline runs; push a change and it runs again; a rejected version deploys
nothing; approve a version and it reaches staging; approve the promotion and it reaches production; a
build that fails leaves the SageMaker pipeline untouched and says why."""

from __future__ import annotations

from functools import partial

import boto3
import pytest

from labcloud.runtime import project_templates
from labcloud.runtime.project_templates import MLOPS_BUILD_DEPLOY
from tests.support.codepipeline_api import action_state, executions
from tests.support.git import git
from tests.support.waiting import wait_until

PROJECT = "churn"
SAMPLE = "12,70.5,3\n60,25.0,0\n"
# A project's steps run real jobs, builds and deployments: each wait allows minutes, not seconds.
wait = partial(wait_until, timeout=240, every=0.25)


def settled(codepipeline, name: str, count: int) -> list[dict] | None:
    """The executions once there are `count` and none is in progress."""
    found = executions(name, codepipeline)
    if len(found) >= count and all(e["status"] not in ("InProgress", "Stopping") for e in found):
        return found
    return None


def versions(sm, group: str) -> list[dict]:
    return sm.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime",
                                  SortOrder="Ascending")["ModelPackageSummaryList"]


def answers(endpoint: str) -> list[str]:
    body = boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                                                             Accept="text/csv", Body=SAMPLE)["Body"]
    return body.read().decode().split()


@pytest.fixture
def project(labcloud_server, sm):
    url = project_templates.template_url(MLOPS_BUILD_DEPLOY, "us-east-1")
    created = sm.create_project(ProjectName=PROJECT, ProjectDescription="Churn model, built and deployed by CI/CD",
                                TemplateProviders=[{"CfnTemplateProvider": {"TemplateName": "mlops",
                                                                            "TemplateURL": url}}])
    described = wait(lambda: (lambda d: d if d["ProjectStatus"] not in ("Pending", "CreateInProgress") else None)(
        sm.describe_project(ProjectName=PROJECT)), "the project")
    assert described["ProjectStatus"] == "CreateCompleted", described
    yield created["ProjectId"]
    for stage in ("staging", "prod"):
        try:
            sm.delete_endpoint(EndpointName=f"{PROJECT}-{stage}")
        except sm.exceptions.ClientError:
            pass


def test_a_project_builds_on_push_and_deploys_what_a_person_approves(project, sm, tmp_path):
    project_id = project
    codecommit, codepipeline, s3 = boto3.client("codecommit"), boto3.client("codepipeline"), boto3.client("s3")
    prefix = f"sagemaker-{PROJECT}-{project_id}"
    group = f"{PROJECT}-{project_id}"
    build_pipeline, deploy_pipeline = f"{prefix}-modelbuild", f"{prefix}-modeldeploy"

    # What the template made, with AWS's names.
    names = {r["repositoryName"] for r in codecommit.list_repositories()["repositories"]}
    assert {f"{prefix}-modelbuild", f"{prefix}-modeldeploy"} <= names
    assert {build_pipeline, deploy_pipeline} <= {p["name"] for p in codepipeline.list_pipelines()["pipelines"]}
    assert sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupName"] == group

    # Created pipelines run once: the build registers version 1; the deploy finds nothing approved.
    [first] = wait(lambda: settled(codepipeline, build_pipeline, 1), "the first model build")
    assert first["status"] == "Succeeded", action_state(build_pipeline, "Build", "BuildAndExecuteSageMakerPipeline",
                                                        codepipeline)
    assert [v["ModelApprovalStatus"] for v in versions(sm, group)] == ["PendingManualApproval"]
    assert sm.describe_pipeline(PipelineName=group)["PipelineName"] == group
    [deploy_first] = wait(lambda: settled(codepipeline, deploy_pipeline, 1), "the first deploy run")
    assert deploy_first["status"] == "Failed"
    build_error = action_state(deploy_pipeline, "Build", "BuildDeploymentTemplates", codepipeline)
    assert build_error["latestExecution"]["status"] == "Failed"

    # The learner clones the build repository, changes a hyperparameter and pushes: a second build.
    clone_url = codecommit.get_repository(repositoryName=f"{prefix}-modelbuild")["repositoryMetadata"]["cloneUrlHttp"]
    work = tmp_path / "modelbuild"
    git("clone", clone_url, str(work))
    pipeline_code = work / "pipelines" / "pipeline.py"
    pipeline_code.write_text(pipeline_code.read_text().replace('hyperparameters={"C": 1.0}',
                                                               'hyperparameters={"C": 0.5}'))
    git("commit", "-am", "Regularise a little more", cwd=work)
    git("push", "origin", "main", cwd=work)
    builds = wait(lambda: settled(codepipeline, build_pipeline, 2), "the build after the push")
    assert builds[-1]["status"] == "Succeeded"
    assert builds[-1]["trigger"]["triggerType"] == "CloudWatchEvent"
    one, two = versions(sm, group)
    assert (one["ModelPackageVersion"], two["ModelPackageVersion"]) == (1, 2)

    # A rejected version deploys nothing: the deploy run fails at its build, no endpoint appears.
    sm.update_model_package(ModelPackageArn=one["ModelPackageArn"], ModelApprovalStatus="Rejected")
    runs = wait(lambda: settled(codepipeline, deploy_pipeline, 2), "the deploy run after the rejection")
    assert runs[-1]["status"] == "Failed"
    assert not sm.list_endpoints(NameContains=PROJECT)["Endpoints"]

    # Approval: the deploy pipeline deploys version 2 to staging, tests it, and waits for a person.
    sm.update_model_package(ModelPackageArn=two["ModelPackageArn"], ModelApprovalStatus="Approved",
                            ApprovalDescription="accuracy above the bar")
    approval = wait(lambda: (lambda a: a if (a.get("latestExecution") or {}).get("status") == "InProgress"
                             and a["latestExecution"].get("token") else None)(
        action_state(deploy_pipeline, "DeployStaging", "ApproveDeployment", codepipeline)), "the manual approval")
    assert sm.describe_endpoint(EndpointName=f"{PROJECT}-staging")["EndpointStatus"] == "InService"
    assert len(answers(f"{PROJECT}-staging")) == 2
    staging_model = sm.describe_model(ModelName=sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(
        EndpointName=f"{PROJECT}-staging")["EndpointConfigName"])["ProductionVariants"][0]["ModelName"])
    assert staging_model["PrimaryContainer"]["ModelPackageName"] == two["ModelPackageArn"]
    assert action_state(deploy_pipeline, "DeployStaging", "TestStaging", codepipeline)["latestExecution"][
        "status"] == "Succeeded"

    # The promotion is approved: production serves the same version.
    codepipeline.put_approval_result(pipelineName=deploy_pipeline, stageName="DeployStaging",
                                     actionName="ApproveDeployment", token=approval["latestExecution"]["token"],
                                     result={"summary": "staging looks good", "status": "Approved"})
    runs = wait(lambda: settled(codepipeline, deploy_pipeline, 3), "the deployment to production")
    assert runs[-1]["status"] == "Succeeded"
    assert answers(f"{PROJECT}-prod") == answers(f"{PROJECT}-staging")

    # A push that breaks the build: the build fails and says why; the SageMaker pipeline is untouched.
    definition_before = sm.describe_pipeline(PipelineName=group)["PipelineDefinition"]
    executions_before = len(sm.list_pipeline_executions(PipelineName=group)["PipelineExecutionSummaries"])
    (work / "pipelines" / "run_pipeline.py").write_text("raise SystemExit('the build is broken on purpose')\n")
    git("commit", "-am", "Break the build", cwd=work)
    git("push", "origin", "main", cwd=work)
    builds = wait(lambda: settled(codepipeline, build_pipeline, 3), "the broken build")
    assert builds[-1]["status"] == "Failed"
    failed = action_state(build_pipeline, "Build", "BuildAndExecuteSageMakerPipeline", codepipeline)["latestExecution"]
    assert failed["status"] == "Failed" and failed["errorDetails"]["message"]
    build_id = failed["externalExecutionId"]
    build = boto3.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    assert build["buildStatus"] == "FAILED"
    logs = boto3.client("logs").get_log_events(logGroupName=build["logs"]["groupName"],
                                               logStreamName=build["logs"]["streamName"])["events"]
    assert any("the build is broken on purpose" in e["message"] for e in logs)
    assert sm.describe_pipeline(PipelineName=group)["PipelineDefinition"] == definition_before
    assert len(sm.list_pipeline_executions(PipelineName=group)["PipelineExecutionSummaries"]) == executions_before
    assert s3.head_bucket(Bucket=f"sagemaker-project-{project_id}")

    # Deleting the project removes its repositories, pipelines and rules; the versions and data stay.
    sm.delete_project(ProjectName=PROJECT)
    wait(lambda: PROJECT not in {p["ProjectName"] for p in sm.list_projects()["ProjectSummaryList"]},
         "the project's deletion")
    assert not {f"{prefix}-modelbuild", f"{prefix}-modeldeploy"} & {
        r["repositoryName"] for r in codecommit.list_repositories()["repositories"]}
    assert not {build_pipeline, deploy_pipeline} & {p["name"] for p in codepipeline.list_pipelines()["pipelines"]}
    assert len(versions(sm, group)) == 2
