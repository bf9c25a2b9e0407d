"""labcloud's CodeBuild through boto3: projects, builds that run buildspec.yml as local processes (NO_SOURCE,
S3, a git repository as CODECOMMIT, CodePipeline's overrides), their phases, logs and artifacts, StopBuild,
the timeout, and records across a restart."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import textwrap
import time
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from labcloud.client.environment import client_environment
from labcloud.services.codebuild.builds import worker as build_worker
from tests.support.server import FAST_SETTINGS, LabcloudProcess

BUCKET = "codebuild-tests"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
               "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::123456789012:role/codebuild"
ONLY_CODEBUILD = ["labcloud.services.moto:SERVICE", "labcloud.services.codebuild:SERVICE"]


@pytest.fixture(scope="module")
def codebuild(labcloud_server):
    client = boto3.client("codebuild")
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return client


def create(client, name: str, source: dict, artifacts: dict | None = None, **extra) -> dict:
    return client.create_project(name=name, source=source, artifacts=artifacts or {"type": "NO_ARTIFACTS"},
                                 environment=extra.pop("environment", ENVIRONMENT), serviceRole=ROLE,
                                 **extra)["project"]


def inline(text: str) -> dict:
    return {"type": "NO_SOURCE", "buildspec": textwrap.dedent(text)}


def wait(client, build_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = client.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.1)
    raise AssertionError(f"build {build_id} did not end within {timeout} s: {build['currentPhase']}")


def phases(build: dict) -> dict[str, dict]:
    return {p["phaseType"]: p for p in build["phases"]}


def log_lines(build: dict, until: str = "Phase complete: FINALIZING") -> list[str]:
    logs = boto3.client("logs")
    deadline = time.monotonic() + 10
    while True:  # the log shipper sends in batches; the build flushes before it completes
        events = logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                     logStreamName=build["logs"]["streamName"], startFromHead=True)["events"]
        lines = [e["message"] for e in events]
        if any(until in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def s3_zip(key: str) -> zipfile.ZipFile:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return zipfile.ZipFile(io.BytesIO(body))


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


EXPORTS_AND_UPLOADS = """
version: 0.2
env:
  variables:
    GREETING: hello
  exported-variables:
    - MODEL_VERSION
phases:
  install:
    commands:
      - export MODEL_VERSION=v-$CODEBUILD_BUILD_NUMBER
      - mkdir -p dist/config && cd dist
  pre_build:
    commands:
      - echo "pre_build in $(basename $(pwd)) with $MODEL_VERSION"
  build:
    commands:
      - python -c "import boto3, os; boto3.client('s3').put_object(Bucket='codebuild-tests', Key='from-build/' + os.environ['MODEL_VERSION'], Body=os.environ['CODEBUILD_BUILD_ID'].encode())"
      - echo "$GREETING $STAGE" > config/stage.txt
      - printf '%s\\n' "$CODEBUILD_SRC_DIR" "$CODEBUILD_BUILD_ARN" "$CODEBUILD_INITIATOR" "$AWS_REGION" > ids.txt
  post_build:
    commands:
      - echo "post_build sees SUCCEEDING=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files:
    - '**/*'
  base-directory: dist
"""


def test_a_build_carries_its_shell_state_across_phases_reaches_labcloud_logs_and_uploads_artifacts(codebuild):
    create(codebuild, "exports-and-uploads", inline(EXPORTS_AND_UPLOADS),
           {"type": "S3", "location": BUCKET, "path": "outputs", "name": "bundle.zip", "packaging": "ZIP",
            "namespaceType": "BUILD_ID"},
           environment={**ENVIRONMENT, "environmentVariables": [{"name": "STAGE", "value": "staging"}]})
    started = codebuild.start_build(projectName="exports-and-uploads")["build"]
    assert started["id"].startswith("exports-and-uploads:") and started["buildStatus"] == "IN_PROGRESS"
    assert [p["phaseType"] for p in started["phases"][:2]] == ["SUBMITTED", "QUEUED"]
    build = wait(codebuild, started["id"])
    uuid = build["id"].split(":")[1]

    assert build["buildStatus"] == "SUCCEEDED" and build["currentPhase"] == "COMPLETED", build["phases"]
    assert [p["phaseType"] for p in build["phases"]] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
        "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
    assert all(p["phaseStatus"] == "SUCCEEDED" for p in build["phases"][:-1])
    assert build["buildNumber"] == 1 and build["arn"] == (
        f"arn:aws:codebuild:us-east-1:123456789012:build/exports-and-uploads:{uuid}")
    assert build["exportedEnvironmentVariables"] == [{"name": "MODEL_VERSION", "value": "v-1"}]
    assert build["endTime"] >= build["startTime"] and build["timeoutInMinutes"] == 60

    # boto3 in the build reached labcloud's S3 with the client environment.
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="from-build/v-1")["Body"].read().decode() == build["id"]

    # The artifacts: a zip of dist/ (paths relative to it) at <location>/<path>/<build uuid>/<name>.
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{BUCKET}/outputs/{uuid}/bundle.zip"
    archive = s3_zip(f"outputs/{uuid}/bundle.zip")
    assert sorted(archive.namelist()) == ["config/stage.txt", "ids.txt"]
    assert archive.read("config/stage.txt").decode() == "hello staging\n"  # the project's variable
    src_dir, arn, initiator, region = archive.read("ids.txt").decode().split()
    assert src_dir.endswith(f"codebuild/exports-and-uploads/{uuid}/src") and arn == build["arn"]
    assert initiator and region == "us-east-1"

    # Every output line, among CodeBuild's own, in /aws/codebuild/<project>, stream <uuid>.
    assert build["logs"]["groupName"] == "/aws/codebuild/exports-and-uploads" and build["logs"]["streamName"] == uuid
    assert "group=/aws/codebuild/exports-and-uploads;stream=" + uuid in build["logs"]["deepLink"]
    lines = log_lines(build)
    assert "pre_build in dist with v-1" in lines
    assert "post_build sees SUCCEEDING=1" in lines
    assert any(line.startswith("[Container] ") and line.endswith("Running command export MODEL_VERSION="
                                                                 "v-$CODEBUILD_BUILD_NUMBER") for line in lines)
    assert any(line.endswith("Phase complete: BUILD State: SUCCEEDED") for line in lines)

    second = codebuild.start_build(projectName="exports-and-uploads")["build"]
    assert second["buildNumber"] == 2
    wait(codebuild, second["id"])
    assert codebuild.list_builds_for_project(projectName="exports-and-uploads")["ids"] == [second["id"], build["id"]]
    assert codebuild.list_builds_for_project(projectName="exports-and-uploads",
                                             sortOrder="ASCENDING")["ids"] == [build["id"], second["id"]]
    assert {build["id"], second["id"]} <= set(codebuild.list_builds()["ids"])
    found = codebuild.batch_get_builds(ids=[build["arn"], "exports-and-uploads:nope"])
    assert [b["id"] for b in found["builds"]] == [build["id"]]
    assert found["buildsNotFound"] == ["exports-and-uploads:nope"]


FAILS_IN_BUILD = """
version: 0.2
phases:
  build:
    commands:
      - echo building > built.txt
      - python -c "import sys; print('tests failed'); sys.exit(1)"
      - echo never > never.txt
    finally:
      - echo "finally runs" > finally.txt
  post_build:
    commands:
      - 'echo "post_build after a failure: SUCCEEDING=$CODEBUILD_BUILD_SUCCEEDING" > post.txt'
artifacts:
  files: ['*.txt']
"""


def test_a_failing_command_fails_the_build_phase_and_post_build_and_the_upload_still_run(codebuild):
    create(codebuild, "fails-in-build", inline(FAILS_IN_BUILD),
           {"type": "S3", "location": BUCKET, "path": "failed", "name": "out.zip", "packaging": "ZIP"})
    build = wait(codebuild, codebuild.start_build(projectName="fails-in-build")["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    by_type = phases(build)
    assert by_type["BUILD"]["phaseStatus"] == "FAILED"
    assert by_type["BUILD"]["contexts"] == [{
        "statusCode": "COMMAND_EXECUTION_ERROR",
        "message": "Error while executing command: python -c \"import sys; print('tests failed'); sys.exit(1)\". "
                   "Reason: exit status 1"}]
    assert by_type["POST_BUILD"]["phaseStatus"] == "SUCCEEDED"
    assert by_type["UPLOAD_ARTIFACTS"]["phaseStatus"] == "SUCCEEDED"
    archive = s3_zip("failed/out.zip")
    assert sorted(archive.namelist()) == ["built.txt", "finally.txt", "post.txt"]  # not never.txt
    assert archive.read("post.txt").decode() == "post_build after a failure: SUCCEEDING=0\n"
    lines = log_lines(build)
    assert "tests failed" in lines
    assert any(line.endswith("Phase complete: BUILD State: FAILED") for line in lines)
    assert any("Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: "
               "python -c" in line for line in lines)


def test_a_failure_before_build_ends_the_build_unless_the_phase_continues(codebuild):
    create(codebuild, "fails-in-pre-build", inline("""
        version: 0.2
        phases:
          install:
            on-failure: CONTINUE
            commands: ["false"]
          pre_build:
            commands: ["exit 7"]
          build:
            commands: ["echo never"]
        """))
    build = wait(codebuild, codebuild.start_build(projectName="fails-in-pre-build")["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert [p["phaseType"] for p in build["phases"]] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "FINALIZING", "COMPLETED"]
    assert phases(build)["INSTALL"]["phaseStatus"] == "FAILED"  # CONTINUE: PRE_BUILD ran all the same
    assert phases(build)["PRE_BUILD"]["contexts"][0]["message"] == (
        "Error while executing command: exit 7. Reason: exit status 7")


def test_a_buildspec_of_another_version_fails_download_source(codebuild):
    create(codebuild, "bad-version", inline("version: 0.3\nphases:\n  build:\n    commands: [make]\n"))
    build = wait(codebuild, codebuild.start_build(projectName="bad-version")["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    context = phases(build)["DOWNLOAD_SOURCE"]["contexts"][0]
    assert context["statusCode"] == "YAML_FILE_ERROR" and "invalid buildspec version 0.3" in context["message"]
    assert "INSTALL" not in phases(build)


RUNS_ITS_SCRIPT = """
version: 0.2
phases:
  build:
    commands:
      - python train.py > result.txt
artifacts:
  files: [result.txt]
"""


def test_an_s3_zip_source_runs_its_own_buildspec_and_a_folder_source_too(codebuild):
    s3 = boto3.client("s3")
    files = {"buildspec.yml": RUNS_ITS_SCRIPT, "train.py": "print('trained from', __file__.split('/')[-2])\n"}
    s3.put_object(Bucket=BUCKET, Key="sources/app.zip", Body=zip_bytes(files))
    for name, text in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"sources/app/{name}", Body=text.encode())
    artifacts = {"type": "S3", "location": BUCKET, "path": "s3-source", "packaging": "NONE"}
    create(codebuild, "from-s3-zip", {"type": "S3", "location": f"{BUCKET}/sources/app.zip"},
           {**artifacts, "name": "zip"})
    create(codebuild, "from-s3-folder", {"type": "S3", "location": f"{BUCKET}/sources/app/"},
           {**artifacts, "name": "folder"})
    for project in ("from-s3-zip", "from-s3-folder"):
        build = wait(codebuild, codebuild.start_build(projectName=project)["build"]["id"])
        assert build["buildStatus"] == "SUCCEEDED", build["phases"]
        assert "resolvedSourceVersion" not in build  # S3 sources have none
    assert s3.get_object(Bucket=BUCKET, Key="s3-source/zip/result.txt")["Body"].read() == b"trained from src\n"
    assert s3.get_object(Bucket=BUCKET, Key="s3-source/folder/result.txt")["Body"].read() == b"trained from src\n"

    create(codebuild, "no-such-zip", {"type": "S3", "location": f"{BUCKET}/sources/missing.zip"})
    build = wait(codebuild, codebuild.start_build(projectName="no-such-zip")["build"]["id"])
    context = phases(build)["DOWNLOAD_SOURCE"]["contexts"][0]
    assert build["buildStatus"] == "FAILED" and context["statusCode"] == "CLIENT_ERROR"
    assert f"s3://{BUCKET}/sources/missing.zip" in context["message"]


def git(*args, cwd) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path):
    """A bare repository with main and a feature branch, as labcloud's CodeCommit keeps them."""
    work, bare = tmp_path / "work", tmp_path / "repo.git"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("config", "user.email", "learner@example.com", cwd=work)
    git("config", "user.name", "Learner", cwd=work)
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - echo \"$(cat which.txt) $CODEBUILD_RESOLVED_SOURCE_VERSION $CODEBUILD_SOURCE_VERSION\"\n")
    (work / "buildspec.yml").write_text(spec)
    (work / "which.txt").write_text("first")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "first", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    (work / "which.txt").write_text("main")
    git("commit", "--quiet", "-am", "main", cwd=work)
    git("checkout", "--quiet", "-b", "feature", first, cwd=work)
    (work / "which.txt").write_text("feature")
    git("commit", "--quiet", "-am", "feature", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare, {name: git("rev-parse", name, cwd=work) for name in ("main", "feature")} | {"first": first}


def test_a_git_repository_source_is_cloned_at_a_branch_or_a_commit(codebuild, repository):
    bare, commits = repository
    create(codebuild, "from-git", {"type": "CODECOMMIT", "location": str(bare)}, sourceVersion="main")
    runs = {"main": None, "feature": "feature", "first": commits["first"], "refs/heads/feature": "refs/heads/feature"}
    for expected, version in runs.items():
        started = codebuild.start_build(projectName="from-git", **({"sourceVersion": version} if version else {}))
        build = wait(codebuild, started["build"]["id"])
        commit = commits[expected.rsplit("/", 1)[-1]]
        assert build["buildStatus"] == "SUCCEEDED", build["phases"]
        assert build["resolvedSourceVersion"] == commit and build["sourceVersion"] == (version or "main")
        content = expected.rsplit("/", 1)[-1]
        assert f"{content} {commit} {version or 'main'}" in log_lines(build)

    started = codebuild.start_build(projectName="from-git", sourceVersion="no-such-branch")
    build = wait(codebuild, started["build"]["id"])
    context = phases(build)["DOWNLOAD_SOURCE"]["contexts"][0]
    assert build["buildStatus"] == "FAILED" and context["statusCode"] == "CLIENT_ERROR"
    assert context["message"].startswith("reference not found for primary source and source version no-such-branch")


def test_a_labcloud_codecommit_repository_is_built_from_its_clone_url(codebuild, tmp_path):
    from tests.support.git import commit_file, git as run_git

    codecommit = boto3.client("codecommit")
    url = codecommit.create_repository(repositoryName="built-by-codebuild")["repositoryMetadata"]["cloneUrlHttp"]
    try:
        work = tmp_path / "clone"
        run_git("clone", url, str(work))
        first = commit_file(work, "buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n"
                                                   "      - cat version.txt 2>/dev/null || echo none\n", "buildspec")
        latest = commit_file(work, "version.txt", "v2\n", "a version")
        run_git("push", "origin", "main", cwd=work)
        create(codebuild, "from-codecommit", {"type": "CODECOMMIT", "location": url})
        for version, expected, printed in ((None, latest, "v2"), (first, first, "none")):
            started = codebuild.start_build(projectName="from-codecommit", **({"sourceVersion": version} if version
                                                                              else {}))
            build = wait(codebuild, started["build"]["id"])
            assert build["buildStatus"] == "SUCCEEDED", build["phases"]
            assert build["resolvedSourceVersion"] == expected and printed in log_lines(build)
    finally:
        codecommit.delete_repository(repositoryName="built-by-codebuild")


PIPELINE_BUILDSPEC = """
version: 0.2
env:
  exported-variables: [TEMPLATE]
phases:
  build:
    commands:
      - mkdir -p out && sed "s/STAGE/$STAGE/" template.yml > out/template-$STAGE.yml
      - export TEMPLATE=template-$STAGE.yml
artifacts:
  files: ['**/*']
  base-directory: out
"""


def test_a_codepipeline_project_runs_only_with_codepipelines_overrides(codebuild):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="pipeline/SourceArti/abc123",
                  Body=zip_bytes({"buildspec.yml": PIPELINE_BUILDSPEC, "template.yml": "Stage: STAGE\n"}))
    with pytest.raises(ClientError) as err:
        create(codebuild, "half-pipeline", {"type": "CODEPIPELINE"}, {"type": "S3", "location": BUCKET})
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "Both source and artifacts must be set to CodePipeline" in err.value.response["Error"]["Message"]
    create(codebuild, "pipeline-build", {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
           {"type": "CODEPIPELINE"})

    with pytest.raises(ClientError) as err:
        codebuild.start_build(projectName="pipeline-build")
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "source type CODEPIPELINE" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        codebuild.start_build(projectName="pipeline-build", sourceTypeOverride="S3",
                              sourceLocationOverride=f"{BUCKET}/pipeline/SourceArti/abc123")
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "artifactsOverride" in err.value.response["Error"]["Message"]

    started = codebuild.start_build(
        projectName="pipeline-build", sourceTypeOverride="S3",
        sourceLocationOverride=f"{BUCKET}/pipeline/SourceArti/abc123",
        artifactsOverride={"type": "S3", "location": BUCKET, "path": "pipeline/BuildArtif", "name": "def456",
                           "packaging": "ZIP", "namespaceType": "NONE"},
        environmentVariablesOverride=[{"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
                                      {"name": "CODEBUILD_RESOLVED_SOURCE_VERSION", "value": "0123abc"}])["build"]
    assert started["source"]["type"] == "S3"
    assert started["artifacts"]["location"] == f"arn:aws:s3:::{BUCKET}/pipeline/BuildArtif/def456"
    build = wait(codebuild, started["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["resolvedSourceVersion"] == "0123abc"  # the source revision the caller gave
    assert build["exportedEnvironmentVariables"] == [{"name": "TEMPLATE", "value": "template-prod.yml"}]
    archive = s3_zip("pipeline/BuildArtif/def456")
    assert archive.namelist() == ["template-prod.yml"] and archive.read("template-prod.yml") == b"Stage: prod\n"


STAGED_TEST = """
version: 0.2
env:
  variables:
    RESULTS: test-results.json
phases:
  build:
    commands:
      - python check.py "$CODEBUILD_SRC_DIR_BuildArtifact/staging-config.json" > "$RESULTS"
      - mkdir -p report && cp "$RESULTS" report/summary.json
artifacts:
  files:
    - ${RESULTS}
  secondary-artifacts:
    Report:
      files: ['**/*']
      base-directory: report
"""
CHECK = "import json, sys; print(json.dumps({'endpoint': json.load(open(sys.argv[1]))['endpoint'], 'ok': True}))"


def test_secondary_sources_and_artifacts_as_a_pipelines_test_action_uses_them(codebuild):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="staged/SourceArti/src1",
                  Body=zip_bytes({"test/buildspec.yml": STAGED_TEST, "check.py": CHECK + "\n"}))
    s3.put_object(Bucket=BUCKET, Key="staged/BuildArtif/bld1",
                  Body=zip_bytes({"staging-config.json": json.dumps({"endpoint": "demo-staging"})}))
    create(codebuild, "staged-test", {"type": "CODEPIPELINE", "buildspec": "test/buildspec.yml"},
           {"type": "CODEPIPELINE"})
    output = {"type": "S3", "location": BUCKET, "packaging": "ZIP", "namespaceType": "NONE"}
    started = codebuild.start_build(
        projectName="staged-test", sourceTypeOverride="S3", sourceLocationOverride=f"{BUCKET}/staged/SourceArti/src1",
        secondarySourcesOverride=[{"type": "S3", "location": f"{BUCKET}/staged/BuildArtif/bld1",
                                   "sourceIdentifier": "BuildArtifact"}],
        artifactsOverride={**output, "path": "staged/TestArtif", "name": "tst1"},
        secondaryArtifactsOverride=[{**output, "path": "staged/ReportAr", "name": "rep1",
                                     "artifactIdentifier": "Report"}])["build"]
    build = wait(codebuild, started["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["secondarySources"][0]["sourceIdentifier"] == "BuildArtifact"
    assert build["secondaryArtifacts"][0]["location"] == f"arn:aws:s3:::{BUCKET}/staged/ReportAr/rep1"
    assert build["secondaryArtifacts"][0]["artifactIdentifier"] == "Report"
    results = json.loads(s3_zip("staged/TestArtif/tst1").read("test-results.json"))  # files: [${RESULTS}]
    assert results == {"endpoint": "demo-staging", "ok": True}
    assert json.loads(s3_zip("staged/ReportAr/rep1").read("summary.json")) == results

    with pytest.raises(codebuild.exceptions.InvalidInputException) as err:
        codebuild.start_build(projectName="staged-test", sourceTypeOverride="S3",
                              sourceLocationOverride=f"{BUCKET}/staged/SourceArti/src1",
                              artifactsOverride={"type": "NO_ARTIFACTS"},
                              secondarySourcesOverride=[{"type": "S3", "location": f"{BUCKET}/x.zip",
                                                         "sourceIdentifier": "1st"}])
    assert "sourceIdentifier of letters, digits and underscores" in str(err.value)


def test_parameter_store_and_secrets_manager_variables_are_read_from_labcloud(codebuild):
    boto3.client("ssm").put_parameter(Name="/codebuild-tests/endpoint", Value="staging-endpoint", Type="String")
    boto3.client("ssm").put_parameter(Name="/codebuild-tests/stage", Value="staging", Type="SecureString")
    boto3.client("secretsmanager").create_secret(Name="codebuild-tests-db",
                                                 SecretString=json.dumps({"user": "ml", "password": "s3cret"}))
    variables = [{"name": "ENDPOINT", "value": "/codebuild-tests/endpoint", "type": "PARAMETER_STORE"},
                 {"name": "DB_USER", "value": "codebuild-tests-db:user", "type": "SECRETS_MANAGER"}]
    create(codebuild, "reads-ssm", inline("""
        version: 0.2
        env:
          parameter-store:
            STAGE: /codebuild-tests/stage
          secrets-manager:
            DB_PASSWORD: codebuild-tests-db:password
          exported-variables: [ENDPOINT, STAGE, DB_USER, DB_PASSWORD]
        phases:
          build:
            commands: ["test -n \\"$ENDPOINT\\""]
        """), environment={**ENVIRONMENT, "environmentVariables": variables})
    build = wait(codebuild, codebuild.start_build(projectName="reads-ssm")["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["exportedEnvironmentVariables"] == [
        {"name": "ENDPOINT", "value": "staging-endpoint"}, {"name": "STAGE", "value": "staging"},
        {"name": "DB_USER", "value": "ml"}, {"name": "DB_PASSWORD", "value": "s3cret"}]
    assert build["environment"]["environmentVariables"] == variables  # references, not values
    missing = [{"name": "ENDPOINT", "value": "/codebuild-tests/nope", "type": "PARAMETER_STORE"}]
    build = wait(codebuild, codebuild.start_build(projectName="reads-ssm", environmentVariablesOverride=missing)
                 ["build"]["id"])
    context = phases(build)["DOWNLOAD_SOURCE"]["contexts"][0]
    assert build["buildStatus"] == "FAILED" and context["statusCode"] == "Decrypted Variables Error"
    assert "parameter does not exist: /codebuild-tests/nope" in context["message"]


def test_projects_are_created_read_updated_listed_and_deleted_with_codebuilds_errors(codebuild):
    project = create(codebuild, "crud-project", inline("version: 0.2"), description="first")
    assert project["arn"] == "arn:aws:codebuild:us-east-1:123456789012:project/crud-project"
    assert project["timeoutInMinutes"] == 60 and project["logsConfig"]["cloudWatchLogs"]["status"] == "ENABLED"
    with pytest.raises(codebuild.exceptions.ResourceAlreadyExistsException):
        create(codebuild, "crud-project", inline("version: 0.2"))
    with pytest.raises(codebuild.exceptions.InvalidInputException) as err:
        create(codebuild, "no-buildspec", {"type": "NO_SOURCE"})
    assert "a buildspec must be specified for source type NO_SOURCE" in str(err.value)
    with pytest.raises(codebuild.exceptions.InvalidInputException):
        create(codebuild, "from-github", {"type": "GITHUB", "location": "https://github.com/a/b"})
    with pytest.raises(ClientError) as err:  # botocore's model first: a name must start with a letter or digit
        create(codebuild, "-bad-name", inline("version: 0.2"))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "-bad-name" in err.value.response["Error"]["Message"]

    updated = codebuild.update_project(name="crud-project", description="second", timeoutInMinutes=15)["project"]
    assert updated["description"] == "second" and updated["timeoutInMinutes"] == 15
    assert updated["lastModified"] >= updated["created"]
    got = codebuild.batch_get_projects(names=["crud-project", project["arn"], "nope"])
    assert [p["description"] for p in got["projects"]] == ["second", "second"] and got["projectsNotFound"] == ["nope"]
    assert "crud-project" in codebuild.list_projects()["projects"]
    names = codebuild.list_projects(sortBy="NAME", sortOrder="DESCENDING")["projects"]
    assert names == sorted(names, reverse=True)

    with pytest.raises(codebuild.exceptions.ResourceNotFoundException):
        codebuild.update_project(name="nope", description="x")
    with pytest.raises(codebuild.exceptions.ResourceNotFoundException) as err:
        codebuild.start_build(projectName="nope")
    assert "Project cannot be found: arn:aws:codebuild:us-east-1:123456789012:project/nope" in str(err.value)
    with pytest.raises(codebuild.exceptions.ResourceNotFoundException):
        codebuild.list_builds_for_project(projectName="nope")
    with pytest.raises(codebuild.exceptions.ResourceNotFoundException):
        codebuild.stop_build(id="crud-project:nope")
    with pytest.raises(codebuild.exceptions.InvalidInputException):
        codebuild.list_builds(nextToken="forged")

    build = wait(codebuild, codebuild.start_build(projectName="crud-project")["build"]["id"])
    assert codebuild.stop_build(id=build["id"])["build"]["buildStatus"] == "SUCCEEDED"  # ended: as it is
    codebuild.delete_project(name="crud-project")
    codebuild.delete_project(name="crud-project")  # CodeBuild answers a second delete with success too
    assert codebuild.batch_get_projects(names=["crud-project"])["projectsNotFound"] == ["crud-project"]
    assert codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]["buildStatus"] == "SUCCEEDED"  # builds stay


@pytest.fixture
def quick_server(in_process, monkeypatch):
    """A labcloud in this process with CodeBuild alone beside moto: a 1 s grace period, minutes of 0.4 s."""
    monkeypatch.setenv("LABCLOUD_STOP_GRACE_SECONDS", "1")
    monkeypatch.setattr(build_worker, "SECONDS_PER_MINUTE", 0.4)
    return lambda: in_process(services=ONLY_CODEBUILD)


def wait_for_phase(client, build_id: str, phase: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while client.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] != phase:
        assert time.monotonic() < deadline, f"{build_id} never reached {phase}"
        time.sleep(0.05)


def test_stop_build_ends_the_command_sigterm_then_sigkill(quick_server, tmp_path):
    quick_server()
    codebuild = boto3.client("codebuild")
    marker = tmp_path / "still-running"
    create(codebuild, "stops", inline(f"""
        version: 0.2
        phases:
          build:
            commands:
              - trap '' TERM; sleep 30; touch {marker}
          post_build:
            commands: ["echo never"]
        """), concurrentBuildLimit=1)
    build_id = codebuild.start_build(projectName="stops", idempotencyToken="once")["build"]["id"]
    assert codebuild.start_build(projectName="stops", idempotencyToken="once")["build"]["id"] == build_id
    with pytest.raises(codebuild.exceptions.InvalidInputException):  # the same token, other parameters
        codebuild.start_build(projectName="stops", idempotencyToken="once", timeoutInMinutesOverride=30)
    with pytest.raises(codebuild.exceptions.AccountLimitExceededException) as err:
        codebuild.start_build(projectName="stops")
    assert "Cannot have more than 1 active builds for the project stops" in str(err.value)
    wait_for_phase(codebuild, build_id, "BUILD")
    time.sleep(0.3)
    asked = time.monotonic()
    assert codebuild.stop_build(id=build_id)["build"]["buildStatus"] == "IN_PROGRESS"
    build = wait(codebuild, build_id, timeout=20)
    assert time.monotonic() - asked < 10  # SIGTERM ignored, SIGKILL after the 1 s grace
    assert build["buildStatus"] == "STOPPED"
    assert phases(build)["BUILD"]["phaseStatus"] == "STOPPED" and "POST_BUILD" not in phases(build)
    assert [p["phaseType"] for p in build["phases"]][-2:] == ["FINALIZING", "COMPLETED"]
    time.sleep(0.5)
    assert not marker.exists()


def test_a_build_longer_than_its_timeout_ends_timed_out(quick_server):
    quick_server()
    codebuild = boto3.client("codebuild")
    create(codebuild, "times-out", inline("version: 0.2\nphases:\n  build:\n    commands: ['sleep 30']\n"),
           timeoutInMinutes=5)  # 5 "minutes" of 0.4 s
    started = time.monotonic()
    build = wait(codebuild, codebuild.start_build(projectName="times-out")["build"]["id"], timeout=30)
    assert build["buildStatus"] == "TIMED_OUT" and time.monotonic() - started < 15
    context = phases(build)["BUILD"]["contexts"][0]
    assert phases(build)["BUILD"]["phaseStatus"] == "TIMED_OUT" and context["statusCode"] == "BUILD_TIMED_OUT"
    assert "timeoutInMinutes (5 minutes)" in context["message"]


def test_a_build_running_when_labcloud_stops_ends_fault_and_records_survive(quick_server):
    server = quick_server()
    codebuild = boto3.client("codebuild")
    create(codebuild, "survives", inline("version: 0.2\nphases:\n  build:\n    commands: ['sleep $PAUSE']\n"))
    quick = [{"name": "PAUSE", "value": "0"}]
    done = wait(codebuild, codebuild.start_build(projectName="survives", environmentVariablesOverride=quick)
                ["build"]["id"])
    long_id = codebuild.start_build(projectName="survives", environmentVariablesOverride=[
        {"name": "PAUSE", "value": "60"}])["build"]["id"]
    wait_for_phase(codebuild, long_id, "BUILD")
    stopping = time.monotonic()
    server.stop()
    assert time.monotonic() - stopping < 15

    quick_server()  # the same state directory
    codebuild = boto3.client("codebuild")
    builds = {b["id"]: b for b in codebuild.batch_get_builds(ids=[done["id"], long_id])["builds"]}
    assert builds[done["id"]]["buildStatus"] == "SUCCEEDED" and builds[done["id"]]["phases"] == done["phases"]
    interrupted = builds[long_id]
    assert interrupted["buildStatus"] == "FAULT" and interrupted["buildComplete"]
    assert phases(interrupted)["BUILD"]["phaseStatus"] == "FAULT"
    assert phases(interrupted)["BUILD"]["contexts"][0]["statusCode"] == "SERVER_STOPPED"
    assert "never runs a build twice" in phases(interrupted)["BUILD"]["contexts"][0]["message"]
    assert codebuild.list_builds_for_project(projectName="survives")["ids"] == [long_id, done["id"]]
    again = codebuild.start_build(projectName="survives", environmentVariablesOverride=quick)["build"]
    assert again["buildNumber"] == 3
    assert wait(codebuild, again["id"])["buildStatus"] == "SUCCEEDED"


def test_a_build_running_when_labcloud_is_killed_ends_fault_at_the_next_start(tmp_path, monkeypatch):
    state = tmp_path / "state"
    server = LabcloudProcess.start(state, env=FAST_SETTINGS)
    try:
        for key, value in client_environment(server.url).items():
            monkeypatch.setenv(key, value)
        codebuild = boto3.client("codebuild")
        # exec: the sleep is the command's own process, which dies with labcloud (nothing is left behind)
        create(codebuild, "killed", inline("version: 0.2\nphases:\n  build:\n    commands: ['exec sleep 60']\n"))
        build_id = codebuild.start_build(projectName="killed")["build"]["id"]
        wait_for_phase(codebuild, build_id, "BUILD")
    finally:
        server.stop(signal.SIGKILL)
    server = LabcloudProcess.start(state, env=FAST_SETTINGS)
    try:
        for key, value in client_environment(server.url).items():
            monkeypatch.setenv(key, value)
        build = boto3.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        assert build["buildStatus"] == "FAULT" and build["currentPhase"] == "COMPLETED"
        assert phases(build)["BUILD"]["contexts"][0]["statusCode"] == "SERVER_STOPPED"
        stopped = "labcloud: labcloud stopped while this build ran"
        assert any(stopped in line for line in log_lines(build, until=stopped))
    finally:
        assert server.stop() == 0
