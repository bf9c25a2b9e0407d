"""The action providers with stand-in clients: the CodeCommit source from a local git repository, the
CodeBuild request and its failure text, CloudFormation's parameters and stack records, manual approvals."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import types
import zipfile

import pytest
from botocore.exceptions import ClientError

from labcloud.services.codepipeline.actions import cloudformation, codebuild, codecommit, manual_approval
from labcloud.services.codepipeline.actions.base import ActionJob
from labcloud.services.codepipeline.actions.stack_records import StackRecords
from tests.support.codepipeline import action


def client_error(code: str, message: str = "nope", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class FakeS3:
    def __init__(self):
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, Bucket, Key, Body):
        self.objects[(Bucket, Key)] = Body

    def upload_file(self, path, bucket, key):
        with open(path, "rb") as f:
            self.objects[(bucket, key)] = f.read()

    def get_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise client_error("NoSuchKey", "The specified key does not exist.", 404)
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def job(declaration: dict, clients: dict, inputs=None, outputs=None, **extra) -> ActionJob:
    return ActionJob(pipeline="pipe", pipeline_version=1, execution_id="e", stage="S", action=declaration,
                     inputs=inputs or {}, outputs=outputs or {}, clients=lambda name: clients[name],
                     stop=threading.Event(), shutting_down=threading.Event(), **extra)


# -- Source/AWS/CodeCommit ------------------------------------------------------------------------------
def git(*args, cwd=None) -> str:
    return subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


class FakeCodeCommit:
    def __init__(self, repos: dict):
        self.repos = repos  # name -> bare repository path

    def get_repository(self, repositoryName):
        if repositoryName not in self.repos:
            raise client_error("RepositoryDoesNotExistException", f"{repositoryName} does not exist")
        return {"repositoryMetadata": {"cloneUrlHttp": str(self.repos[repositoryName])}}

    def get_branch(self, repositoryName, branchName):
        try:
            commit = git("rev-parse", f"refs/heads/{branchName}", cwd=self.repos[repositoryName])
        except subprocess.CalledProcessError:
            raise client_error("BranchDoesNotExistException", f"{branchName} does not exist") from None
        return {"branch": {"branchName": branchName, "commitId": commit}}


@pytest.fixture
def repository(tmp_path):
    work, bare = tmp_path / "work", tmp_path / "repo.git"
    git("init", "-q", "-b", "main", str(work))
    (work / "src").mkdir()
    (work / "src" / "app.py").write_text("print('hello')\n")
    (work / "buildspec.yml").write_text("version: 0.2\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "First commit", cwd=work)
    git("clone", "-q", "--bare", str(work), str(bare))
    return work, bare


def test_the_source_action_zips_the_branch_tip(repository):
    work, bare = repository
    s3 = FakeS3()
    source = action("Fetch", "Source", outputs=["Src"], RepositoryName="repo", BranchName="main")
    reported = {}
    result = codecommit.run(job(source, {"codecommit": FakeCodeCommit({"repo": bare}), "s3": s3},
                                outputs={"Src": {"bucket": "b", "key": "pipe/Src/abc"}}, report=reported.update))
    assert result.status == "Succeeded", result.error
    commit = git("rev-parse", "HEAD", cwd=work)
    assert result.revision["revisionId"] == commit and result.revision["revisionSummary"] == "First commit"
    assert reported["externalExecutionId"] == commit and result.output_variables["CommitId"] == commit
    archive = zipfile.ZipFile(io.BytesIO(s3.objects[("b", "pipe/Src/abc")]))
    assert sorted(n for n in archive.namelist() if not n.endswith("/")) == ["buildspec.yml", "src/app.py"]
    assert archive.read("src/app.py") == b"print('hello')\n"


def test_the_source_action_takes_a_commit_it_is_given(repository):
    work, bare = repository
    first = git("rev-parse", "HEAD", cwd=work)
    (work / "later.txt").write_text("later\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "Later", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    s3 = FakeS3()
    result = codecommit.run(job(action("Fetch", "Source", outputs=["Src"]),
                                {"codecommit": FakeCodeCommit({"repo": bare}), "s3": s3},
                                outputs={"Src": {"bucket": "b", "key": "k"}}, source_revision=first))
    assert result.revision["revisionId"] == first
    assert "later.txt" not in zipfile.ZipFile(io.BytesIO(s3.objects[("b", "k")])).namelist()


@pytest.mark.parametrize("repo, branch, message", [
    ("missing", "main", "The CodeCommit repository missing does not exist"),
    ("repo", "dev", "The branch dev does not exist in the CodeCommit repository repo"),
])
def test_the_source_action_fails_for_a_missing_repository_or_branch(repository, repo, branch, message):
    _, bare = repository
    result = codecommit.run(job(action("Fetch", "Source", outputs=["Src"], RepositoryName=repo, BranchName=branch),
                                {"codecommit": FakeCodeCommit({"repo": bare}), "s3": FakeS3()},
                                outputs={"Src": {"bucket": "b", "key": "k"}}))
    assert result.status == "Failed" and message in result.error["message"]


# -- Build/AWS/CodeBuild --------------------------------------------------------------------------------
class FakeCodeBuild:
    def __init__(self, outcome: dict, polls_before_done: int = 2):
        self.outcome, self.polls = outcome, polls_before_done
        self.requests, self.stopped = [], []

    def start_build(self, **request):
        self.requests.append(request)
        return {"build": {"id": "proj:1"}}

    def batch_get_builds(self, ids):
        self.polls -= 1
        if self.polls > 0:
            return {"builds": [{"id": ids[0], "buildComplete": False, "buildStatus": "IN_PROGRESS"}]}
        return {"builds": [{"id": ids[0], "buildComplete": True, **self.outcome}]}

    def stop_build(self, id):
        self.stopped.append(id)
        return {"build": {"id": id}}


def test_the_build_action_starts_the_build_on_its_input_and_follows_it():
    build = FakeCodeBuild({"buildStatus": "SUCCEEDED",
                           "exportedEnvironmentVariables": [{"name": "MODEL", "value": "v2"}]})
    declaration = action("Compile", inputs=["Src", "Extra"], outputs=["Out"], ProjectName="proj",
                         PrimarySource="Src", EnvironmentVariables='[{"name":"STAGE","value":"prod"}]')
    result = codebuild.run(job(declaration, {"codebuild": build},
                               inputs={"Src": {"bucket": "b", "key": "pipe/Src/1"},
                                       "Extra": {"bucket": "b", "key": "pipe/Extra/2"}},
                               outputs={"Out": {"bucket": "b", "key": "pipe/Out/3"}}))
    assert result.status == "Succeeded" and result.external_id == "proj:1"
    assert result.output_variables == {"MODEL": "v2"}
    [request] = build.requests
    assert request == {
        "projectName": "proj", "sourceTypeOverride": "S3", "sourceLocationOverride": "b/pipe/Src/1",
        "secondarySourcesOverride": [{"type": "S3", "location": "b/pipe/Extra/2", "sourceIdentifier": "Extra"}],
        "artifactsOverride": {"type": "S3", "location": "b", "path": "pipe/Out", "name": "3", "packaging": "ZIP",
                              "namespaceType": "NONE"},
        "environmentVariablesOverride": [{"name": "STAGE", "value": "prod", "type": "PLAINTEXT"}]}


def test_a_failed_build_fails_the_action_with_the_failing_phase():
    build = FakeCodeBuild({"buildStatus": "FAILED", "phases": [
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "BUILD", "phaseStatus": "FAILED", "contexts": [
            {"statusCode": "COMMAND_EXECUTION_ERROR",
             "message": "Error while executing command: python run.py. Reason: exit status 1"}]}]})
    result = codebuild.run(job(action("Compile", inputs=["Src"]), {"codebuild": build},
                               inputs={"Src": {"bucket": "b", "key": "k"}}))
    assert result.status == "Failed"
    assert result.error["message"] == ("Build terminated with state: FAILED. Phase: BUILD, Code: "
                                       "COMMAND_EXECUTION_ERROR, Message: Error while executing command: python "
                                       "run.py. Reason: exit status 1")
    assert build.requests[0]["artifactsOverride"] == {"type": "NO_ARTIFACTS"}


def test_a_missing_project_fails_the_action_and_an_abandoned_build_is_stopped():
    class Missing(FakeCodeBuild):
        def start_build(self, **request):
            raise client_error("ResourceNotFoundException", "Project cannot be found: arn:aws:codebuild:x")

    result = codebuild.run(job(action("Compile", inputs=["Src"], ProjectName="gone"), {"codebuild": Missing({})},
                               inputs={"Src": {"bucket": "b", "key": "k"}}))
    assert result.status == "Failed" and "Error Code: ResourceNotFoundException" in result.error["message"]

    build = FakeCodeBuild({"buildStatus": "SUCCEEDED"}, polls_before_done=10 ** 6)
    running = job(action("Compile", inputs=["Src"]), {"codebuild": build}, inputs={"Src": {"bucket": "b", "key": "k"}})
    threading.Timer(0.3, running.stop.set).start()
    result = codebuild.run(running)
    assert result.status == "Abandoned" and build.stopped == ["proj:1"]


# -- Deploy/AWS/CloudFormation --------------------------------------------------------------------------
class FakeEngine(types.ModuleType):
    class StackError(Exception):
        pass

    def __init__(self, fail: str | None = None):
        super().__init__("labcloud.runtime.stacks")
        self.fail, self.calls = fail, []

    def deploy(self, stack_name, template_text, parameters, clients, previous=None, region="us-east-1",
               account_id="123456789012"):
        self.calls.append(("deploy", stack_name, template_text, dict(parameters), previous))
        if self.fail:
            raise self.StackError(self.fail)
        status = "UPDATE_COMPLETE" if previous else "CREATE_COMPLETE"
        return {"StackName": stack_name, "StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/"
                                                    f"{stack_name}/1", "StackStatus": status,
                "Parameters": dict(parameters), "Outputs": {"Bucket": "made"}, "Resources": {}, "Events": []}

    def delete(self, record, clients):
        self.calls.append(("delete", record["StackName"]))


@pytest.fixture
def engine(monkeypatch):
    import labcloud.runtime

    def install(fail=None):
        fake = FakeEngine(fail)
        monkeypatch.setitem(sys.modules, "labcloud.runtime.stacks", fake)
        monkeypatch.setattr(labcloud.runtime, "stacks", fake, raising=False)
        return fake

    return install


def deploy_job(s3, stacks, **configuration):
    declaration = action("Stack", "Deploy", inputs=["BuildOut"], outputs=["StackOut"], **configuration)
    return job(declaration, {"s3": s3}, inputs={"BuildOut": {"bucket": "b", "key": "pipe/BuildOut/1"}},
               outputs={"StackOut": {"bucket": "b", "key": "pipe/StackOut/2"}}, stacks=stacks)


def test_the_deploy_action_creates_then_updates_the_stack_with_its_parameters(engine):
    fake = engine()
    s3 = FakeS3()
    s3.objects[("b", "pipe/BuildOut/1")] = zipped({
        "template.yml": "Resources: {}\n", "config.json": json.dumps({"Parameters": {"Stage": "staging",
                                                                                    "Count": 2}, "Tags": {}}),
        "values.json": json.dumps({"ImageTag": "v7"})})
    stacks = StackRecords(None)
    configuration = {"StackName": "app", "TemplatePath": "BuildOut::template.yml",
                     "TemplateConfiguration": "BuildOut::config.json", "OutputFileName": "out.json",
                     "ParameterOverrides": json.dumps({"Stage": "prod", "Image": {"Fn::GetParam": [
                         "BuildOut", "values.json", "ImageTag"]}, "Where": {"Fn::GetArtifactAtt": [
                             "BuildOut", "BucketName"]}})}
    first = cloudformation.run(deploy_job(s3, stacks, **configuration))
    assert first.status == "Succeeded", first.error
    assert first.summary == "Stack app: CREATE_COMPLETE" and first.output_variables == {"Bucket": "made"}
    _, name, template, parameters, previous = fake.calls[0]
    assert (name, template, previous) == ("app", "Resources: {}\n", None)
    assert parameters == {"Stage": "prod", "Count": "2", "Image": "v7", "Where": "b"}
    assert json.loads(zipfile.ZipFile(io.BytesIO(s3.objects[("b", "pipe/StackOut/2")])).read("out.json")) == {
        "Bucket": "made"}
    second = cloudformation.run(deploy_job(s3, stacks, **configuration))
    assert second.summary == "Stack app: UPDATE_COMPLETE"
    assert fake.calls[1][4]["StackStatus"] == "CREATE_COMPLETE"  # the update was given the stack it updates

    deleted = cloudformation.run(deploy_job(s3, stacks, StackName="app", ActionMode="DELETE_ONLY"))
    assert deleted.summary == "Stack app deleted" and fake.calls[-1] == ("delete", "app")
    assert stacks.get("app") is None
    nothing = cloudformation.run(deploy_job(s3, stacks, StackName="app", ActionMode="DELETE_ONLY"))
    assert nothing.status == "Succeeded" and "does not exist" in nothing.summary


@pytest.mark.parametrize("files, configuration, message", [
    ({"template.yml": "x"}, {"TemplatePath": "BuildOut::missing.yml"}, "File missing.yml does not exist in artifact "
                                                                       "BuildOut"),
    ({"template.yml": "x"}, {"TemplatePath": "Other::template.yml"}, "names the artifact Other, which is not an input"),
    ({"template.yml": "x"}, {"TemplatePath": "template.yml"}, "is not of the form ArtifactName::path"),
    ({"template.yml": "x", "c.json": "{"}, {"TemplateConfiguration": "BuildOut::c.json"}, "is not valid JSON"),
])
def test_deploy_configuration_faults_fail_the_action(engine, files, configuration, message):
    engine()
    s3 = FakeS3()
    s3.objects[("b", "pipe/BuildOut/1")] = zipped(files)
    result = cloudformation.run(deploy_job(s3, StackRecords(None), **{"StackName": "app", **configuration}))
    assert result.status == "Failed" and message in result.error["message"]


def test_a_failed_deploy_fails_the_action_with_the_engines_reason(engine):
    reason = ("Resource handler returned message: \"Model x not found\" (Service: SageMaker, Status Code: 400, "
              "Error Code: ValidationException)")
    engine(fail=reason)
    s3 = FakeS3()
    s3.objects[("b", "pipe/BuildOut/1")] = zipped({"template.yml": "Resources: {}"})
    stacks = StackRecords(None)
    result = cloudformation.run(deploy_job(s3, stacks, StackName="app"))
    assert result.status == "Failed" and result.error["message"] == reason
    assert stacks.get("app") is None


# -- Approval/AWS/Manual --------------------------------------------------------------------------------
def test_an_approval_reports_a_token_and_waits_for_the_decision():
    decisions, reported = [], {}

    def wait(timeout):
        return decisions[0] if decisions else None

    approval = job(action("Review", "Approval"), {}, report=reported.update, wait_for_decision=wait)
    threading.Timer(0.3, lambda: decisions.append({"status": "Approved", "summary": "fine"})).start()
    result = manual_approval.run(approval)
    assert result.status == "Succeeded" and result.summary == "fine" and len(reported["token"]) == 36

    resumed = job(action("Review", "Approval"), {}, report=reported.update, previous={"token": "t"},
                  wait_for_decision=lambda timeout: {"status": "Rejected", "summary": ""})
    rejected = manual_approval.run(resumed)
    assert rejected.status == "Failed" and rejected.error["message"] == "Rejected"
    stopped = job(action("Review", "Approval"), {}, previous={"token": "t"})
    stopped.stop.set()
    assert manual_approval.run(stopped).status == "Abandoned"
