"""labcloud's CodeCommit with boto3 and the real `git` program: repositories made through the API are
cloned and pushed over git's smart HTTP at their cloneUrlHttp; a push publishes CodeCommit's events to an
EventBridge rule's queue and to in-process subscribers; repositories survive a restart; errors carry
CodeCommit's codes; an S3 bucket named "v1" is still S3's."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from labcloud.core.credentials import user_credentials
from tests.support.events import received, rule_queue
from tests.support.git import TRACE_HEADERS, commit_file, git, sent_headers
from tests.support.signing import signed_request

ONLY_CODECOMMIT = ["labcloud.services.moto:SERVICE", "labcloud.services.codecommit:SERVICE"]
STATE_CHANGE = "CodeCommit Repository State Change"


@pytest.fixture
def codecommit(labcloud_server):
    client = boto3.client("codecommit")
    made = []

    def create(name: str, **params) -> dict:
        made.append(name)
        return client.create_repository(repositoryName=name, **params)["repositoryMetadata"]

    client.create = create
    yield client
    for name in made:
        client.delete_repository(repositoryName=name)


def error_code(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def push_queue(name: str) -> str:
    """An SQS queue behind a rule on pushes to `name`'s main branch (the rule a project's build uses)."""
    return rule_queue(f"{name}-pushes", f"{name}-main", {
        "source": ["aws.codecommit"], "detail-type": [STATE_CHANGE],
        "resources": [f"arn:aws:codecommit:us-east-1:123456789012:{name}"],
        "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                   "referenceName": ["main"]}})


def test_a_repository_is_cloned_empty_pushed_to_and_cloned_again(codecommit, tmp_path):
    metadata = codecommit.create("clone-me", repositoryDescription="the first", tags={"team": "ml"})
    assert metadata["cloneUrlHttp"] == f"{os.environ['AWS_ENDPOINT_URL']}/v1/repos/clone-me"
    assert metadata["Arn"] == "arn:aws:codecommit:us-east-1:123456789012:clone-me"
    assert metadata["accountId"] == "123456789012" and len(metadata["repositoryId"]) == 36
    assert metadata["repositoryDescription"] == "the first"
    assert "defaultBranch" not in metadata  # as on AWS, until the first push
    assert metadata["cloneUrlSsh"].startswith("ssh://") and metadata["cloneUrlSsh"].endswith("/v1/repos/clone-me")

    work = tmp_path / "work"
    cloned = git("clone", metadata["cloneUrlHttp"], str(work))
    assert "empty repository" in cloned.stderr
    commit_id = commit_file(work, "README.md", "# hello\n", "First commit")
    git("push", "origin", "main", cwd=work)

    branch = codecommit.get_branch(repositoryName="clone-me", branchName="main")["branch"]
    assert branch == {"branchName": "main", "commitId": commit_id}
    assert codecommit.list_branches(repositoryName="clone-me")["branches"] == ["main"]
    after = codecommit.get_repository(repositoryName="clone-me")["repositoryMetadata"]
    assert after["defaultBranch"] == "main" and after["repositoryId"] == metadata["repositoryId"]
    commit = codecommit.get_commit(repositoryName="clone-me", commitId=commit_id)["commit"]
    assert commit["message"].strip() == "First commit" and commit["parents"] == []
    assert commit["author"]["name"] == "t" and commit["author"]["email"] == "t@example.com"

    second = tmp_path / "second"
    git("clone", metadata["cloneUrlHttp"], str(second))
    assert (second / "README.md").read_text() == "# hello\n"
    assert git("rev-parse", "HEAD", cwd=second).stdout.strip() == commit_id


def test_a_push_of_more_than_a_mebibyte_arrives_whole(codecommit, tmp_path):
    """git sends a pack larger than http.postBuffer (1 MiB) with chunked transfer encoding."""
    url = codecommit.create("big-push")["cloneUrlHttp"]
    work = tmp_path / "work"
    git("clone", url, str(work))
    data = os.urandom(3 * 1024 * 1024)  # incompressible: the pack stays above 1 MiB
    commit_id = commit_file(work, "data/blob.bin", data, "Three MiB of noise")
    pushed = git("push", "origin", "main", cwd=work, env=TRACE_HEADERS)
    assert "Transfer-Encoding: chunked" in sent_headers(pushed)
    assert codecommit.get_branch(repositoryName="big-push", branchName="main")["branch"]["commitId"] == commit_id
    again = tmp_path / "again"
    git("clone", url, str(again))
    assert hashlib.sha256((again / "data/blob.bin").read_bytes()).digest() == hashlib.sha256(data).digest()


def test_a_clone_of_many_branches_sends_a_gzip_request_body(in_process, tmp_path):
    """git gzips an upload-pack request above 1 KiB (here: 40 wants); http-backend inflates it."""
    server = in_process(state_dir=None, services=ONLY_CODECOMMIT)
    url = boto3.client("codecommit").create_repository(repositoryName="many")["repositoryMetadata"]["cloneUrlHttp"]
    repositories = server.ctx.services.service("codecommit").repositories
    tips = {f"b{i:02d}": repositories.seed("many", {f"f{i}.txt": str(i)}, f"commit {i}", branch=f"b{i:02d}")
            for i in range(40)}
    cloned = git("clone", url, str(tmp_path / "clone"), env=TRACE_HEADERS)
    assert "Content-Encoding: gzip" in sent_headers(cloned)
    remote = git("ls-remote", "--heads", url).stdout.split()
    assert dict(zip([r.removeprefix("refs/heads/") for r in remote[1::2]], remote[0::2])) == tips
    for branch, commit_id in tips.items():
        assert git("rev-parse", f"origin/{branch}", cwd=tmp_path / "clone").stdout.strip() == commit_id


def test_list_get_and_delete_repositories(codecommit, tmp_path):
    for name in ("list-b", "list-a", "list-c"):
        codecommit.create(name)

    def mine(answer: dict) -> list[str]:
        return [r["repositoryName"] for r in answer["repositories"] if r["repositoryName"].startswith("list-")]

    assert mine(codecommit.list_repositories()) == ["list-a", "list-b", "list-c"]
    assert mine(codecommit.list_repositories(sortBy="repositoryName", order="descending")) == [
        "list-c", "list-b", "list-a"]
    assert mine(codecommit.list_repositories(sortBy="lastModifiedDate", order="ascending")) == [
        "list-b", "list-a", "list-c"]
    ids = {r["repositoryName"]: r["repositoryId"] for r in codecommit.list_repositories()["repositories"]}
    batch = codecommit.batch_get_repositories(repositoryNames=["list-a", "list-nope"])
    assert [r["repositoryName"] for r in batch["repositories"]] == ["list-a"]
    assert batch["repositoriesNotFound"] == ["list-nope"]

    url = codecommit.get_repository(repositoryName="list-a")["repositoryMetadata"]["cloneUrlHttp"]
    assert codecommit.delete_repository(repositoryName="list-a")["repositoryId"] == ids["list-a"]
    assert "repositoryId" not in codecommit.delete_repository(repositoryName="list-a")  # as AWS: already gone
    assert error_code(codecommit.get_repository, repositoryName="list-a")[0] == "RepositoryDoesNotExistException"
    assert "list-a" not in mine(codecommit.list_repositories())
    failed = git("clone", url, str(tmp_path / "gone"), check=False)
    assert failed.returncode != 0 and "not found" in failed.stderr
    codecommit.create("list-a")  # the name is free again, for a new, empty repository
    assert codecommit.list_branches(repositoryName="list-a")["branches"] == []


def test_errors_carry_codecommits_codes(codecommit, tmp_path):
    codecommit.create("errors")
    code, message = error_code(codecommit.create_repository, repositoryName="errors")
    assert code == "RepositoryNameExistsException" and "errors" in message
    for bad in ("has space", "ends.git", "x" * 101, "slash/name", "ünï"):
        code, message = error_code(codecommit.create_repository, repositoryName=bad)
        assert code == "InvalidRepositoryNameException", bad
        assert "letters, digits, periods, underscores and dashes" in message
    assert error_code(codecommit.get_repository, repositoryName="no-such-repo")[0] == "RepositoryDoesNotExistException"
    assert error_code(codecommit.list_branches, repositoryName="no-such-repo")[0] == "RepositoryDoesNotExistException"
    assert error_code(codecommit.get_branch, repositoryName="no-such-repo",
                      branchName="main")[0] == "RepositoryDoesNotExistException"
    assert error_code(codecommit.get_branch, repositoryName="errors",
                      branchName="main")[0] == "BranchDoesNotExistException"
    assert error_code(codecommit.get_branch, branchName="main")[0] == "RepositoryNameRequiredException"
    assert error_code(codecommit.get_branch, repositoryName="errors")[0] == "BranchNameRequiredException"
    assert error_code(codecommit.list_repositories, sortBy="size")[0] == "InvalidSortByException"
    assert error_code(codecommit.list_repositories, order="up")[0] == "InvalidOrderException"
    assert error_code(codecommit.list_repositories, nextToken="forged")[0] == "InvalidContinuationTokenException"
    assert error_code(codecommit.create_repository, repositoryName="tagged",
                      tags={"aws:owner": "me"})[0] == "InvalidSystemTagUsageException"
    assert error_code(codecommit.get_commit, repositoryName="errors", commitId="abc")[0] == "InvalidCommitIdException"
    assert error_code(codecommit.get_commit, repositoryName="errors",
                      commitId="0" * 40)[0] == "CommitIdDoesNotExistException"

    work = tmp_path / "work"
    git("clone", codecommit.get_repository(repositoryName="errors")["repositoryMetadata"]["cloneUrlHttp"], str(work))
    commit_id = commit_file(work, "a.txt", "a", "a")
    git("push", "origin", "main", cwd=work)
    create_branch = codecommit.create_branch
    assert error_code(create_branch, repositoryName="errors", branchName="main",
                      commitId=commit_id)[0] == "BranchNameExistsException"
    assert error_code(create_branch, repositoryName="errors", branchName="bad..name",
                      commitId=commit_id)[0] == "InvalidBranchNameException"
    assert error_code(create_branch, repositoryName="errors", branchName="dev",
                      commitId="1" * 40)[0] == "CommitDoesNotExistException"
    create_branch(repositoryName="errors", branchName="dev", commitId=commit_id)
    assert codecommit.list_branches(repositoryName="errors")["branches"] == ["dev", "main"]


def test_git_routes_never_take_an_s3_request(codecommit, s3):
    """Path-style S3 URLs look like git's (/v1/repos/<name>/info/refs would be the key repos/<name>/info/refs
    of a bucket "v1"), but S3 bucket names have three characters at least; and what is not a git request
    for an existing repository goes on to S3 unread."""
    codecommit.create("shadow")
    assert error_code(s3.create_bucket, Bucket="v1")[0] == "InvalidBucketName"
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for path in ("/v1/repos/shadow/info/refs", "/v1/repos/other/info/refs?service=git-upload-pack",
                 "/v1/repos/shadow/info/refs?service=git-upload-pack&service=git-receive-pack"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(signed_request(endpoint + path, method="GET", service="s3"), timeout=10)
        assert answer.value.code == 404 and b"<Code>NoSuchBucket</Code>" in answer.value.read(), path
    request = signed_request(endpoint + "/v1/repos/shadow/git-upload-pack", b"0000", service="s3",
                             headers={"Content-Type": "application/octet-stream"})
    with pytest.raises(urllib.error.HTTPError) as answer:  # (moto fails on an S3 POST to a key without a query)
        urllib.request.urlopen(request, timeout=10)
    assert not answer.value.headers.get("Content-Type", "").startswith("application/x-git")
    # A git request for a repository that exists is git's (with git's credentials: HTTP Basic).
    git_request = urllib.request.Request(endpoint + "/v1/repos/shadow/info/refs?service=git-upload-pack",
                                         headers={"Authorization": user_credentials().basic_authorization})
    with urllib.request.urlopen(git_request, timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    # So is a signed S3 request never: its credential scope names s3.
    assert error_code(s3.get_object, Bucket="v1", Key="repos/shadow/info/refs")[0] in ("NoSuchBucket",
                                                                                       "InvalidBucketName")


def test_pushes_publish_state_change_events_to_a_rule_and_to_subscribers(in_process, tmp_path):
    server = in_process(state_dir=None, services=ONLY_CODECOMMIT)
    codecommit = boto3.client("codecommit")
    metadata = codecommit.create_repository(repositoryName="events")["repositoryMetadata"]
    queue = push_queue("events")
    seen = []
    unsubscribe = server.ctx.events.subscribe(seen.append)
    work = tmp_path / "work"
    git("clone", metadata["cloneUrlHttp"], str(work))
    first = commit_file(work, "a.txt", "one", "one")
    git("push", "origin", "main", cwd=work)
    second = commit_file(work, "a.txt", "two", "two")
    git("push", "origin", "main", cwd=work)
    git("push", "origin", "main:feature", cwd=work)
    git("push", "origin", "--delete", "feature", cwd=work)
    codecommit.create_branch(repositoryName="events", branchName="from-api", commitId=first)
    unsubscribe()

    mine = [e for e in seen if e["detail-type"] == STATE_CHANGE]
    assert [(e["detail"]["event"], e["detail"]["referenceName"]) for e in mine] == [
        ("referenceCreated", "main"), ("referenceUpdated", "main"), ("referenceCreated", "feature"),
        ("referenceDeleted", "feature"), ("referenceCreated", "from-api")]
    created, updated, _, deleted, _ = (e["detail"] for e in mine)
    common = {"repositoryName": "events", "repositoryId": metadata["repositoryId"], "referenceType": "branch",
              "callerUserArn": "arn:aws:iam::123456789012:root"}
    assert created == {**common, "event": "referenceCreated", "referenceName": "main",
                       "referenceFullName": "refs/heads/main", "commitId": first}
    assert updated == {**common, "event": "referenceUpdated", "referenceName": "main",
                       "referenceFullName": "refs/heads/main", "commitId": second, "oldCommitId": first}
    assert deleted == {**common, "event": "referenceDeleted", "referenceName": "feature",
                       "referenceFullName": "refs/heads/feature", "oldCommitId": second}
    assert all(e["source"] == "aws.codecommit" and e["resources"] == [metadata["Arn"]] for e in mine)

    delivered = received(queue, seconds=1.5)  # the rule wants main's creations and updates only
    assert [(d["detail"]["event"], d["detail"]["commitId"]) for d in delivered] == [
        ("referenceCreated", first), ("referenceUpdated", second)]
    assert delivered[0]["detail-type"] == STATE_CHANGE and delivered[0]["resources"] == [metadata["Arn"]]


def test_seed_commits_files_without_a_clone_and_archive_zips_them(in_process, tmp_path):
    server = in_process(state_dir=None, services=ONLY_CODECOMMIT)
    codecommit = boto3.client("codecommit")
    codecommit.create_repository(repositoryName="seeded")
    repositories = server.ctx.services.service("codecommit").repositories
    seen = []
    server.ctx.events.subscribe(seen.append)

    first = repositories.seed("seeded", {"buildspec.yml": "version: 0.2\n", "pipelines/run.py": b"print(1)\n"},
                              "Initial commit of the template's seed code")
    assert seen == []  # a seed is not a push: no event unless asked for
    assert codecommit.get_branch(repositoryName="seeded", branchName="main")["branch"]["commitId"] == first
    assert codecommit.get_repository(repositoryName="seeded")["repositoryMetadata"]["defaultBranch"] == "main"
    second = repositories.seed("seeded", {"README.md": "more"}, "Add a readme", publish=True)
    assert [(e["detail"]["event"], e["detail"]["commitId"], e["detail"]["oldCommitId"]) for e in seen] == [
        ("referenceUpdated", second, first)]
    commit = codecommit.get_commit(repositoryName="seeded", commitId=second)["commit"]
    assert commit["parents"] == [first] and commit["message"].strip() == "Add a readme"

    work = tmp_path / "work"
    git("clone", repositories.clone_url("seeded"), str(work))
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file() and ".git" not in p.parts
                  ) == ["README.md", "buildspec.yml", "pipelines/run.py"]
    commit_id, data = repositories.archive("seeded", "main")
    assert commit_id == second
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("pipelines/run.py") == b"print(1)\n"
        assert sorted(n for n in archive.namelist() if not n.endswith("/")) == [
            "README.md", "buildspec.yml", "pipelines/run.py"]
    replaced = repositories.seed("seeded", {"only.txt": "x"}, "Replace everything", replace=True)
    with zipfile.ZipFile(io.BytesIO(repositories.archive("seeded", replaced)[1])) as archive:
        assert archive.namelist() == ["only.txt"]
    with pytest.raises(ValueError):
        repositories.seed("seeded", {"../escape.txt": "x"}, "no")


def test_repositories_survive_a_restart(in_process, tmp_path):
    state = tmp_path / "state"
    server = in_process(state_dir=state, services=ONLY_CODECOMMIT)
    codecommit = boto3.client("codecommit")
    metadata = codecommit.create_repository(repositoryName="durable", repositoryDescription="kept")[
        "repositoryMetadata"]
    work = tmp_path / "work"
    git("clone", metadata["cloneUrlHttp"], str(work))
    commit_id = commit_file(work, "model.py", "weights = 1\n", "Keep me")
    git("push", "origin", "main", cwd=work)
    assert (state / "codecommit" / "repos" / "durable.git" / "HEAD").is_file()
    server.stop()

    in_process(state_dir=state, services=ONLY_CODECOMMIT)
    codecommit = boto3.client("codecommit")
    again = codecommit.get_repository(repositoryName="durable")["repositoryMetadata"]
    assert again["repositoryId"] == metadata["repositoryId"] and again["defaultBranch"] == "main"
    assert again["repositoryDescription"] == "kept" and again["creationDate"] == metadata["creationDate"]
    assert codecommit.get_branch(repositoryName="durable", branchName="main")["branch"]["commitId"] == commit_id
    clone = tmp_path / "clone"
    git("clone", again["cloneUrlHttp"], str(clone))
    assert (clone / "model.py").read_text() == "weights = 1\n"
    newer = commit_file(clone, "model.py", "weights = 2\n", "After the restart")
    git("push", "origin", "main", cwd=clone)
    assert codecommit.get_branch(repositoryName="durable", branchName="main")["branch"]["commitId"] == newer


def test_without_the_git_program_codecommit_says_to_install_it(in_process, tmp_path, monkeypatch):
    from labcloud.services.codecommit.git import program

    in_process(state_dir=None, services=ONLY_CODECOMMIT)
    codecommit = boto3.client("codecommit")
    url = codecommit.create_repository(repositoryName="before")["repositoryMetadata"]["cloneUrlHttp"]
    monkeypatch.setattr(program, "executable", lambda: None)  # the server's view: no git on its PATH
    code, message = error_code(codecommit.create_repository, repositoryName="after")
    assert code == "OperationNotAllowedException" and "apt-get install git" in message
    assert error_code(codecommit.get_repository, repositoryName="after")[0] == "RepositoryDoesNotExistException"
    failed = git("clone", url, str(tmp_path / "clone"), check=False)  # the learner's git still runs
    assert failed.returncode != 0 and "500" in failed.stderr
