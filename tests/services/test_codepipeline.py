"""CodePipeline through a real labcloud and boto3: its errors on the wire, EventBridge rules that start a
pipeline, and, with labcloud's CodeCommit, CodeBuild and stacks engine, a pipeline a `git push` starts
(Source -> Build -> Approval -> Deploy), approvals, rejections, a failing build and a restart."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from labcloud.services import SERVICES
from tests.support.codepipeline_api import action_state, executions
from tests.support.waiting import wait_until

ROLE = "arn:aws:iam::123456789012:role/pipeline"
PUSH = "CodeCommit Repository State Change"


def _service(name: str) -> bool:
    return f"labcloud.services.{name}:SERVICE" in SERVICES


def _stacks_engine() -> bool:
    try:
        from labcloud.runtime import stacks
    except ImportError:
        return False
    return hasattr(stacks, "deploy")


def requires(*needs: str):
    """Skip until labcloud has these: service names, or 'stacks' for the stacks engine."""
    missing = [n for n in needs if not (_stacks_engine() if n == "stacks" else _service(n))]
    return pytest.mark.skipif(bool(missing), reason=f"waits on labcloud's {', '.join(missing)} (not in labcloud yet)")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def settled(name: str, execution_id: str, timeout: float = 180) -> dict:
    codepipeline = boto3.client("codepipeline")

    def done():
        execution = codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
        return execution["pipelineExecution"] if execution["pipelineExecution"]["status"] not in (
            "InProgress", "Stopping") else None

    return wait_until(done, f"execution {execution_id} of {name} to end", timeout)


def waiting_token(name: str, execution_id: str, stage: str = "Approve", action: str = "Review") -> str:
    def token():
        status = boto3.client("codepipeline").get_pipeline_execution(
            pipelineName=name, pipelineExecutionId=execution_id)["pipelineExecution"]
        assert status["status"] == "InProgress", (status, boto3.client("codepipeline").get_pipeline_state(name=name))
        latest = action_state(name, stage, action).get("latestExecution") or {}
        stage_state = [s for s in boto3.client("codepipeline").get_pipeline_state(name=name)["stageStates"]
                       if s["stageName"] == stage][0]
        current = (stage_state.get("latestExecution") or {}).get("pipelineExecutionId") == execution_id
        return latest.get("token") if current and latest.get("status") == "InProgress" else None

    return wait_until(token, f"the approval of execution {execution_id}")


def source_action(repository: str) -> dict:
    return {"name": "Fetch", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit",
                                              "version": "1"},
            "configuration": {"RepositoryName": repository, "BranchName": "main", "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "Src"}]}


def approval_stage() -> dict:
    return {"name": "Approve", "actions": [{"name": "Review", "actionTypeId": {
        "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": {"CustomData": "Deploy this?"}}]}


def push_rule(name: str, repository_arn: str, pipeline: str) -> str:
    """The rule CodePipeline's console makes for a CodeCommit source: a push to main starts the pipeline."""
    events = boto3.client("events")
    rule = events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["aws.codecommit"], "detail-type": [PUSH], "resources": [repository_arn],
        "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                   "referenceName": ["main"]}}), State="ENABLED")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "pipeline", "RoleArn": ROLE,
                                            "Arn": f"arn:aws:codepipeline:us-east-1:123456789012:{pipeline}"}])
    return rule


# -- the API on the wire (CodePipeline alone) -------------------------------------------------------------
def test_the_api_answers_with_codepipelines_errors(labcloud_server):
    codepipeline = boto3.client("codepipeline")
    name = unique("wire")
    one_stage = {"name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": "artifacts"},
                 "stages": [{"name": "Source", "actions": [source_action("repo")]}]}
    with pytest.raises(ClientError) as err:
        codepipeline.create_pipeline(pipeline=one_stage)
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"
    assert "minimum of 2 stages" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        codepipeline.get_pipeline(name=name)
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"
    bad_type = {**one_stage, "stages": [{"name": "Source", "actions": [source_action("repo")]},
                                        {"name": "Build", "actions": [{"name": "B", "actionTypeId": {
                                            "category": "Build", "owner": "AWS", "provider": "Jenkins",
                                            "version": "1"}, "inputArtifacts": [{"name": "Src"}]}]}]}
    with pytest.raises(ClientError) as err:
        codepipeline.create_pipeline(pipeline=bad_type)
    assert err.value.response["Error"]["Code"] == "InvalidActionDeclarationException"
    with pytest.raises(ClientError) as err:
        codepipeline.start_pipeline_execution(name=name)
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"
    with pytest.raises(ClientError) as err:
        codepipeline.put_approval_result(pipelineName=name, stageName="Approve", actionName="Review",
                                         token=str(uuid.uuid4()), result={"summary": "", "status": "Approved"})
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"

    pipeline = {**one_stage, "stages": [{"name": "Source", "actions": [source_action(unique("missing"))]},
                                        approval_stage()]}
    created = codepipeline.create_pipeline(pipeline=pipeline)["pipeline"]
    assert created["version"] == 1 and created["stages"][1]["actions"][0]["runOrder"] == 1
    got = codepipeline.get_pipeline(name=name)
    assert got["metadata"]["pipelineArn"] == f"arn:aws:codepipeline:us-east-1:123456789012:{name}"
    assert name in {p["name"] for p in codepipeline.list_pipelines()["pipelines"]}
    # CreatePipeline starts a first execution; its source repository does not exist, so it fails and says so.
    [first] = wait_until(lambda: executions(name), "the first execution")
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    ended = settled(name, first["pipelineExecutionId"])
    assert ended["status"] == "Failed"
    fetch = action_state(name, "Source", "Fetch")["latestExecution"]
    assert fetch["status"] == "Failed" and "does not exist" in fetch["errorDetails"]["message"]
    with pytest.raises(ClientError) as err:
        codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=first["pipelineExecutionId"])
    assert err.value.response["Error"]["Code"] == "PipelineExecutionNotStoppableException"
    with pytest.raises(ClientError) as err:
        codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=str(uuid.uuid4()))
    assert err.value.response["Error"]["Code"] == "PipelineExecutionNotFoundException"
    with pytest.raises(ClientError) as err:
        codepipeline.create_pipeline(pipeline=pipeline)
    assert err.value.response["Error"]["Code"] == "PipelineNameInUseException"
    codepipeline.delete_pipeline(name=name)
    assert name not in {p["name"] for p in codepipeline.list_pipelines()["pipelines"]}


def test_an_enabled_rule_that_targets_a_pipeline_starts_it_on_a_matching_event(in_process):
    server = in_process(state_dir=None)
    codepipeline, events, sqs = boto3.client("codepipeline"), boto3.client("events"), boto3.client("sqs")
    name, repository_arn = "triggered", "arn:aws:codecommit:us-east-1:123456789012:app"
    # CodePipeline's own events reach a learner's rule too.
    queue = sqs.create_queue(QueueName="pipeline-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="watch", EventPattern=json.dumps({
        "source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"pipeline": [name]}}))
    events.put_targets(Rule="watch", Targets=[{"Id": "q", "Arn": queue_arn}])
    codepipeline.create_pipeline(pipeline={"name": name, "roleArn": ROLE,
                                           "artifactStore": {"type": "S3", "location": "artifacts"},
                                           "stages": [{"name": "Source", "actions": [source_action("app")]},
                                                      approval_stage()]})
    [first] = wait_until(lambda: executions(name), "the first execution")
    rule_arn = push_rule("on-push", repository_arn, name)
    events.put_rule(Name="off", State="DISABLED", EventPattern=json.dumps({"source": ["aws.codecommit"]}))
    events.put_targets(Rule="off", Targets=[{"Id": "p", "Arn": f"arn:aws:codepipeline:us-east-1:123456789012:{name}"}])

    def push(branch: str) -> None:
        server.ctx.events.publish("aws.codecommit", PUSH, {
            "event": "referenceUpdated", "repositoryName": "app", "referenceType": "branch",
            "referenceName": branch, "referenceFullName": f"refs/heads/{branch}", "commitId": "0" * 40},
            [repository_arn])

    push("dev")  # the rule wants main: nothing starts (the disabled rule would take any branch)
    push("main")
    started = wait_until(lambda: (lambda found: found if len(found) == 2 else None)(executions(name)),
                   "the execution the rule starts")[1]
    assert started["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule_arn}
    time.sleep(1.0)
    assert len(executions(name)) == 2  # one rule matched one event
    settled(name, started["pipelineExecutionId"])

    seen: dict[str, tuple[str, str]] = {}  # message id -> (execution id, state): a redelivery counts once
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [s for _, s in seen.values()].count("FAILED") < 2:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []):
            body = json.loads(message["Body"])
            assert body["source"] == "aws.codepipeline" and body["resources"] == [
                f"arn:aws:codepipeline:us-east-1:123456789012:{name}"]
            seen[message["MessageId"]] = (body["detail"]["execution-id"], body["detail"]["state"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    transitions = sorted(set(seen.values()))
    ids = {first["pipelineExecutionId"], started["pipelineExecutionId"]}
    assert transitions == sorted((i, s) for i in ids for s in ("STARTED", "FAILED")), transitions
    assert first["pipelineExecutionId"] != started["pipelineExecutionId"]


# -- with labcloud's CodeCommit, CodeBuild and stacks engine --------------------------------------------
TEMPLATE = """\
Parameters:
  BucketName:
    Type: String
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref BucketName
Outputs:
  Name:
    Value: !Ref Bucket
"""

def buildspec(first_command: str = 'echo "building for $STAGE"') -> str:
    """The build: the template and a configuration naming the bucket to deploy, as the artifact."""
    return f"""\
version: 0.2
phases:
  build:
    commands:
      - {first_command}
      - mkdir -p out
      - cp template.yml out/template.yml
      - |
        printf '{{"Parameters": {{"BucketName": "%s"}}}}' "$(cat bucket.txt)" > out/config.json
artifacts:
  base-directory: out
  files:
    - template.yml
    - config.json
"""


def git(*args, cwd=None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    result = subprocess.run(["git", "-c", "user.name=Learner", "-c", "user.email=learner@example.com", *args],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def commit_and_push(work, message: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    git("push", "-q", "origin", "main", cwd=work)


def ci_cd(tmp_path, prefix: str, build_sleep: int = 0) -> dict:
    """A repository with the code, a build project, an artifact bucket, the push rule and the pipeline
    Source -> Build -> Approve -> Deploy; returns their names."""
    codecommit, codebuild, s3 = boto3.client("codecommit"), boto3.client("codebuild"), boto3.client("s3")
    names = {"repository": unique(f"{prefix}-repo"), "project": unique(f"{prefix}-build"),
             "bucket": unique(f"{prefix}-artifacts"), "pipeline": unique(f"{prefix}-pipeline"),
             "stack": unique(f"{prefix}-stack"), "deployed": unique(f"{prefix}-deployed")}
    repository = codecommit.create_repository(repositoryName=names["repository"])["repositoryMetadata"]
    work = tmp_path / names["repository"]
    git("clone", "-q", repository["cloneUrlHttp"], str(work))
    git("checkout", "-q", "-b", "main", cwd=work)
    spec = buildspec(f"sleep {build_sleep}") if build_sleep else buildspec()
    commit_and_push(work, "The first version", {"template.yml": TEMPLATE, "buildspec.yml": spec,
                                                 "bucket.txt": names["deployed"]})
    s3.create_bucket(Bucket=names["bucket"])
    codebuild.create_project(name=names["project"], source={"type": "CODEPIPELINE"},
                             artifacts={"type": "CODEPIPELINE"}, serviceRole=ROLE,
                             environment={"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL",
                                          "image": "aws/codebuild/standard:7.0"})
    names["rule"] = push_rule(unique(f"{prefix}-push"), repository["Arn"], names["pipeline"])
    boto3.client("codepipeline").create_pipeline(pipeline={
        "name": names["pipeline"], "roleArn": ROLE, "artifactStore": {"type": "S3", "location": names["bucket"]},
        "stages": [
            {"name": "Source", "actions": [source_action(names["repository"])]},
            {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": {
                "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": names["project"],
                                  "EnvironmentVariables": '[{"name":"STAGE","value":"prod","type":"PLAINTEXT"}]'},
                "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "BuildOut"}]}]},
            approval_stage(),
            {"name": "Deploy", "actions": [{"name": "Stack", "actionTypeId": {
                "category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": names["stack"], "RoleArn": ROLE,
                                  "TemplatePath": "BuildOut::template.yml",
                                  "TemplateConfiguration": "BuildOut::config.json"},
                "inputArtifacts": [{"name": "BuildOut"}]}]}]})
    names["work"] = work
    return names


def bucket_exists(name: str) -> bool:
    try:
        boto3.client("s3").head_bucket(Bucket=name)
        return True
    except ClientError:
        return False


def source_repository(tmp_path, prefix: str, files: dict[str, str]) -> tuple[dict, object]:
    """A CodeCommit repository with a first commit on main, and the learner's clone of it."""
    repository = boto3.client("codecommit").create_repository(
        repositoryName=unique(f"{prefix}-repo"))["repositoryMetadata"]
    work = tmp_path / repository["repositoryName"]
    git("clone", "-q", repository["cloneUrlHttp"], str(work))
    git("checkout", "-q", "-b", "main", cwd=work)
    commit_and_push(work, "The first version", files)
    return repository, work


@requires("codecommit")
def test_a_git_push_starts_the_pipeline_and_executions_take_turns_at_the_approval(labcloud_server, tmp_path):
    codepipeline, s3 = boto3.client("codepipeline"), boto3.client("s3")
    repository, work = source_repository(tmp_path, "turns", {"app.py": "print(1)\n", "docs/readme.md": "hi\n"})
    pipeline, bucket = unique("turns"), unique("turns-artifacts")
    s3.create_bucket(Bucket=bucket)
    rule = push_rule(unique("turns-push"), repository["Arn"], pipeline)
    codepipeline.create_pipeline(pipeline={
        "name": pipeline, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": bucket},
        "stages": [{"name": "Source", "actions": [source_action(repository["repositoryName"])]}, approval_stage()]})
    [first] = wait_until(lambda: executions(pipeline), "the first execution")
    first_token = waiting_token(pipeline, first["pipelineExecutionId"])

    # The source artifact: the commit's files, zipped without .git, under <pipeline[:20]>/<artifact[:10]>/.
    fetch = codepipeline.list_action_executions(pipelineName=pipeline, filter={
        "pipelineExecutionId": first["pipelineExecutionId"]})["actionExecutionDetails"]
    [source_run] = [d for d in fetch if d["actionName"] == "Fetch"]
    [artifact] = source_run["output"]["outputArtifacts"]
    location = artifact["s3location"]
    assert location["bucket"] == bucket and location["key"].startswith(f"{pipeline[:20]}/Src/")
    body = s3.get_object(Bucket=bucket, Key=location["key"])["Body"].read()
    names = sorted(n for n in zipfile.ZipFile(io.BytesIO(body)).namelist() if not n.endswith("/"))
    assert names == ["app.py", "docs/readme.md"]
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert source_run["output"]["executionResult"]["externalExecutionId"] == head
    assert action_state(pipeline, "Source", "Fetch")["currentRevision"]["revisionId"] == head

    # A push starts a second execution; it fetches, then waits at the approval the first one holds.
    commit_and_push(work, "Second", {"app.py": "print(2)\n"})
    second = wait_until(lambda: (lambda found: found[1] if len(found) > 1 else None)(executions(pipeline)),
                  "the execution the push starts")
    assert second["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule}
    wait_until(lambda: codepipeline.get_pipeline_state(name=pipeline)["stageStates"][1].get("inboundExecution"),
         "the second execution to wait at Approve")
    assert codepipeline.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=second[
        "pipelineExecutionId"])["pipelineExecution"]["status"] == "InProgress"
    codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review",
                                     token=first_token, result={"summary": "first is fine", "status": "Approved"})
    assert settled(pipeline, first["pipelineExecutionId"])["status"] == "Succeeded"
    second_token = waiting_token(pipeline, second["pipelineExecutionId"])
    assert second_token != first_token
    codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review",
                                     token=second_token, result={"summary": "not this", "status": "Rejected"})
    rejected = settled(pipeline, second["pipelineExecutionId"])
    assert rejected["status"] == "Failed" and "Rejected: not this" in rejected["statusSummary"]
    assert rejected["artifactRevisions"][0]["revisionId"] == git("rev-parse", "HEAD", cwd=work).strip()
    assert rejected["artifactRevisions"][0]["revisionSummary"] == "Second"
    # A push to another branch starts nothing.
    git("checkout", "-q", "-b", "feature", cwd=work)
    (work / "app.py").write_text("print(3)\n")
    git("commit", "-qam", "Elsewhere", cwd=work)
    git("push", "-q", "origin", "feature", cwd=work)
    time.sleep(1.5)
    assert len(executions(pipeline)) == 2


@requires("codecommit", "codebuild", "stacks")
def test_a_push_builds_waits_for_approval_and_deploys(labcloud_server, tmp_path):
    codepipeline = boto3.client("codepipeline")
    names = ci_cd(tmp_path, "flow")
    pipeline, work = names["pipeline"], names["work"]

    # The first execution (CreatePipeline) fetches, builds and waits; a rejection fails it, nothing deploys.
    [first] = wait_until(lambda: executions(pipeline), "the first execution")
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    token = waiting_token(pipeline, first["pipelineExecutionId"])
    fetch = action_state(pipeline, "Source", "Fetch")
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert fetch["latestExecution"]["status"] == "Succeeded" and fetch["currentRevision"]["revisionId"] == head
    compile_state = action_state(pipeline, "Build", "Compile")["latestExecution"]
    assert compile_state["status"] == "Succeeded"
    build = boto3.client("codebuild").batch_get_builds(ids=[compile_state["externalExecutionId"]])["builds"][0]
    assert build["buildStatus"] == "SUCCEEDED" and build["source"]["type"] == "S3"
    assert build["source"]["location"].startswith(f"{names['bucket']}/{pipeline[:20]}/Src/")
    codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review", token=token,
                                     result={"summary": "not this one", "status": "Rejected"})
    rejected = settled(pipeline, first["pipelineExecutionId"])
    assert rejected["status"] == "Failed"
    review = action_state(pipeline, "Approve", "Review")["latestExecution"]
    assert review["status"] == "Failed" and review["errorDetails"]["message"] == "Rejected: not this one"
    assert not bucket_exists(names["deployed"])
    with pytest.raises(ClientError) as err:
        codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review",
                                         token=token, result={"summary": "again", "status": "Approved"})
    assert err.value.response["Error"]["Code"] == "ApprovalAlreadyCompletedException"

    # A push to main: the rule starts the pipeline; approved, it deploys the stack the build described.
    commit_and_push(work, "Deploy it", {"release.txt": "1\n"})
    second = wait_until(lambda: (lambda found: found[1] if len(found) > 1 else None)(executions(pipeline)),
                  "the execution the push starts")
    assert second["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": names["rule"]}
    token = waiting_token(pipeline, second["pipelineExecutionId"])
    with pytest.raises(ClientError) as err:
        codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review",
                                         token=str(uuid.uuid4()), result={"summary": "", "status": "Approved"})
    assert err.value.response["Error"]["Code"] == "InvalidApprovalTokenException"
    codepipeline.put_approval_result(pipelineName=pipeline, stageName="Approve", actionName="Review", token=token,
                                     result={"summary": "ship it", "status": "Approved"})
    done = settled(pipeline, second["pipelineExecutionId"])
    assert done["status"] == "Succeeded", action_state(pipeline, "Deploy", "Stack")
    assert done["artifactRevisions"][0]["revisionId"] == git("rev-parse", "HEAD", cwd=work).strip()
    assert done["artifactRevisions"][0]["revisionSummary"] == "Deploy it"
    assert bucket_exists(names["deployed"])
    state = codepipeline.get_pipeline_state(name=pipeline)
    assert [(s["stageName"], s["latestExecution"]["status"]) for s in state["stageStates"]] == [
        ("Source", "Succeeded"), ("Build", "Succeeded"), ("Approve", "Succeeded"), ("Deploy", "Succeeded")]
    assert action_state(pipeline, "Approve", "Review")["latestExecution"]["summary"] == "ship it"
    details = codepipeline.list_action_executions(
        pipelineName=pipeline, filter={"pipelineExecutionId": second["pipelineExecutionId"]})["actionExecutionDetails"]
    [build_detail] = [d for d in details if d["actionName"] == "Compile"]
    [artifact] = build_detail["output"]["outputArtifacts"]
    assert artifact["name"] == "BuildOut" and artifact["s3location"]["bucket"] == names["bucket"]
    assert artifact["s3location"]["key"].startswith(f"{pipeline[:20]}/BuildOut/")
    boto3.client("s3").head_object(Bucket=names["bucket"], Key=artifact["s3location"]["key"])

    # A push that breaks the build: the execution fails at Build and says why.
    broken = buildspec("python -c \"raise SystemExit('broken on purpose')\"")
    commit_and_push(work, "Break it", {"buildspec.yml": broken})
    third = wait_until(lambda: (lambda found: found[2] if len(found) > 2 else None)(executions(pipeline)),
                 "the execution of the broken push")
    failed = settled(pipeline, third["pipelineExecutionId"])
    assert failed["status"] == "Failed"
    compile_state = action_state(pipeline, "Build", "Compile")["latestExecution"]
    assert compile_state["status"] == "Failed"
    assert compile_state["errorDetails"]["message"].startswith("Build terminated with state: FAILED")
    assert "Action Compile in stage Build failed" in failed["statusSummary"]
    state = codepipeline.get_pipeline_state(name=pipeline)
    assert state["stageStates"][2]["latestExecution"]["pipelineExecutionId"] == second["pipelineExecutionId"]


@requires("codecommit", "codebuild")
def test_after_a_restart_the_approval_still_waits_and_the_interrupted_build_failed(in_process, tmp_path):
    first_server = in_process()
    codepipeline, s3 = boto3.client("codepipeline"), boto3.client("s3")
    s3.create_bucket(Bucket="restart-artifacts")
    store = {"type": "S3", "location": "restart-artifacts"}
    repository, _ = source_repository(tmp_path, "restart", {"buildspec.yml": buildspec("sleep 60")})
    boto3.client("codebuild").create_project(
        name="slow", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"}, serviceRole=ROLE,
        environment={"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL",
                     "image": "aws/codebuild/standard:7.0"})
    codepipeline.create_pipeline(pipeline={"name": "waits", "roleArn": ROLE, "artifactStore": store, "stages": [
        {"name": "Source", "actions": [source_action(repository["repositoryName"])]}, approval_stage()]})
    codepipeline.create_pipeline(pipeline={"name": "builds", "roleArn": ROLE, "artifactStore": store, "stages": [
        {"name": "Source", "actions": [source_action(repository["repositoryName"])]},
        {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": {
            "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "slow"}, "inputArtifacts": [{"name": "Src"}]}]}]})
    [waiting] = wait_until(lambda: executions("waits"), "the first execution")
    token = waiting_token("waits", waiting["pipelineExecutionId"])
    [building] = wait_until(lambda: executions("builds"), "the build pipeline's execution")
    wait_until(lambda: action_state("builds", "Build", "Compile").get("latestExecution", {}).get("externalExecutionId"),
         "the slow build to start")

    first_server.stop()
    in_process()  # labcloud again, on the same state directory
    codepipeline = boto3.client("codepipeline")
    assert codepipeline.get_pipeline_execution(pipelineName="waits", pipelineExecutionId=waiting[
        "pipelineExecutionId"])["pipelineExecution"]["status"] == "InProgress"
    assert waiting_token("waits", waiting["pipelineExecutionId"]) == token
    interrupted = settled("builds", building["pipelineExecutionId"])
    assert interrupted["status"] == "Failed"
    compile_state = action_state("builds", "Build", "Compile")["latestExecution"]
    assert compile_state["status"] == "Failed"
    assert "labcloud restarted while this action ran" in compile_state["errorDetails"]["message"]
    codepipeline.put_approval_result(pipelineName="waits", stageName="Approve", actionName="Review", token=token,
                                     result={"summary": "after the restart", "status": "Approved"})
    assert settled("waits", waiting["pipelineExecutionId"])["status"] == "Succeeded"
    assert action_state("waits", "Approve", "Review")["latestExecution"]["summary"] == "after the restart"
