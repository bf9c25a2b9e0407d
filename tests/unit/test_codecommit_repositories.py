"""CodeCommit's repositories family without a server: records in a store, bare repositories in tmp_path,
events to a stand-in publisher, the checks made before botocore's model, and a machine without git."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from labcloud.core.arns import arn
from labcloud.core.constants import ACCOUNT_ID, REGION
from labcloud.core.errors import AWSError
from labcloud.persistence.store import Store
from labcloud.services.codecommit import exceptions as errors
from labcloud.services.codecommit import requests
from labcloud.services.codecommit.git import program
from labcloud.services.codecommit.repositories.repositories import Repositories, git_errors


class Events:
    def __init__(self):
        self.published = []
        self.during = None  # called with each event, as a subscriber would be

    def publish(self, source, detail_type, detail, resources):
        self.published.append((source, detail_type, detail, resources))
        if self.during:
            self.during(detail)


def context(tmp_path, state=True):
    return SimpleNamespace(endpoint_url="http://127.0.0.1:4566", state_dir=tmp_path / "state" if state else None,
                           work_dir=tmp_path / "work", region=REGION, account_id=ACCOUNT_ID, events=Events(),
                           arn=lambda service, resource: arn(service, resource, REGION, ACCOUNT_ID))


@pytest.fixture
def family(tmp_path):
    ctx = context(tmp_path)
    repositories = Repositories(ctx, Store(ctx.state_dir, "codecommit"))
    repositories.start()
    return repositories


def test_a_repository_is_a_bare_git_repository_and_a_record(family, tmp_path):
    metadata = family.create_repository({"repositoryName": "r", "tags": {"k": "v"}})["repositoryMetadata"]
    path = tmp_path / "state" / "codecommit" / "repos" / "r.git"
    assert (path / "HEAD").read_text().strip() == "ref: refs/heads/main"
    config = program.run(["config", "--list"], git_dir=path).stdout.decode()
    assert "http.receivepack=true" in config and "gc.auto=0" in config
    assert (tmp_path / "state" / "codecommit" / "repositories" / "r.json").is_file()
    assert metadata["cloneUrlHttp"] == "http://127.0.0.1:4566/v1/repos/r" and "defaultBranch" not in metadata
    with pytest.raises(errors.RepositoryNameExistsException):
        family.create_repository({"repositoryName": "r"})


def test_without_a_state_directory_repositories_live_in_the_work_folder(tmp_path):
    ctx = context(tmp_path, state=False)
    family = Repositories(ctx, Store(None, "codecommit"))
    family.start()
    family.create_repository({"repositoryName": "r"})
    assert (tmp_path / "work" / "codecommit" / "repos" / "r.git" / "HEAD").is_file()


def test_the_first_branch_becomes_the_default_main_if_it_is_among_them(family):
    family.create_repository({"repositoryName": "dev-first"})
    family.seed("dev-first", {"a": "a"}, "a", branch="dev")
    assert family.get_repository({"repositoryName": "dev-first"})["repositoryMetadata"]["defaultBranch"] == "dev"
    path = family.bare_repository("dev-first").path
    assert (path / "HEAD").read_text().strip() == "ref: refs/heads/dev"  # what a clone checks out
    family.seed("dev-first", {"b": "b"}, "b", branch="main")
    assert family.get_repository({"repositoryName": "dev-first"})["repositoryMetadata"]["defaultBranch"] == "dev"

    family.create_repository({"repositoryName": "both"})
    with family.receiving("both") as bare:  # one push of two branches
        tip, _ = bare.commit_files("alpha", {"a": "a"}, "a")
        bare.create_ref("refs/heads/main", tip)
    assert family.get_repository({"repositoryName": "both"})["repositoryMetadata"]["defaultBranch"] == "main"
    family.update_default_branch({"repositoryName": "both", "defaultBranchName": "alpha"})
    assert family.get_repository({"repositoryName": "both"})["repositoryMetadata"]["defaultBranch"] == "alpha"
    with pytest.raises(errors.BranchDoesNotExistException):
        family.update_default_branch({"repositoryName": "both", "defaultBranchName": "nope"})


def test_a_push_publishes_one_event_per_reference_after_the_lock_is_released(family):
    family.create_repository({"repositoryName": "r"})
    seen_during = []
    # A subscriber that calls back into the family (a pipeline reading the branch) must not deadlock.
    family.ctx.events.during = lambda detail: seen_during.append(
        family.create_branch({"repositoryName": "r", "branchName": f"copy-{len(seen_during)}",
                              "commitId": detail["commitId"]}) if detail["referenceName"] == "main" else None)
    with family.receiving("r") as bare:
        tip, _ = bare.commit_files("main", {"a": "a"}, "a")
        bare.create_ref("refs/tags/v1", tip)
    published = [(d["event"], d["referenceType"], d["referenceName"]) for _, _, d, _ in family.ctx.events.published]
    # (the subscriber's branch is published from inside the first event's delivery)
    assert published == [("referenceCreated", "branch", "main"), ("referenceCreated", "branch", "copy-0"),
                         ("referenceCreated", "tag", "v1")]
    source, detail_type, _, resources = family.ctx.events.published[0]
    assert (source, detail_type) == ("aws.codecommit", "CodeCommit Repository State Change")
    assert resources == ["arn:aws:codecommit:us-east-1:123456789012:r"]


def test_a_seed_publishes_nothing_unless_asked_and_refuses_paths_outside(family):
    family.create_repository({"repositoryName": "r"})
    family.seed("r", {"a.txt": "a"}, "a")
    assert family.ctx.events.published == []
    for bad in ("../x", "/abs", ".git/config", "a/../../b", ""):
        with pytest.raises(ValueError):
            family.seed("r", {bad: "x"}, "bad")
    with pytest.raises(errors.RepositoryDoesNotExistException):
        family.seed("nope", {"a": "a"}, "a")
    with pytest.raises(errors.InvalidBranchNameException):
        family.seed("r", {"a": "a"}, "a", branch="no..dots")


def test_records_and_repositories_come_back_on_start(family, tmp_path):
    family.create_repository({"repositoryName": "kept", "repositoryDescription": "d"})
    tip = family.seed("kept", {"a": "a"}, "a")
    family.create_repository({"repositoryName": "lost"})
    family.bare_repository("lost").remove()  # its folder went away while labcloud was down
    again = Repositories(family.ctx, Store(family.ctx.state_dir, "codecommit"))
    again.start()
    assert again.get_branch({"repositoryName": "kept", "branchName": "main"})["branch"]["commitId"] == tip
    assert again.get_repository({"repositoryName": "kept"})["repositoryMetadata"]["repositoryDescription"] == "d"
    assert again.list_branches({"repositoryName": "lost"})["branches"] == []  # made again, empty
    assert again.status() == {"codecommit_repositories": ["kept", "lost"]}


def test_delete_removes_the_record_and_the_folder(family, tmp_path):
    family.create_repository({"repositoryName": "r"})
    path = family.bare_repository("r").path
    repository_id = family.get_repository({"repositoryName": "r"})["repositoryMetadata"]["repositoryId"]
    assert family.delete_repository({"repositoryName": "r"}) == {"repositoryId": repository_id}
    assert not path.exists() and family.bare_repository("r") is None
    assert not (tmp_path / "state" / "codecommit" / "repositories" / "r.json").exists()
    assert family.delete_repository({"repositoryName": "r"}) == {}


def test_a_push_waits_for_a_delete_and_then_finds_no_repository(family):
    family.create_repository({"repositoryName": "r"})
    entered, release, outcome = threading.Event(), threading.Event(), []

    def push():
        with family.receiving("r") as bare:
            entered.set()
            release.wait(5)
            outcome.append(bare is not None)

    pusher = threading.Thread(target=push)
    pusher.start()
    entered.wait(5)
    deleter = threading.Thread(target=family.delete_repository, args=({"repositoryName": "r"},))
    deleter.start()
    deleter.join(0.2)
    assert deleter.is_alive()  # the delete waits for the push under way
    release.set()
    pusher.join(5)
    deleter.join(5)
    assert outcome == [True] and family.bare_repository("r") is None
    with family.receiving("r") as bare:
        assert bare is None


def test_listing_sorts_pages_and_refuses_forged_tokens(family, monkeypatch):
    from labcloud.services.codecommit.repositories import repositories as module

    monkeypatch.setattr(module, "LIST_PAGE", 2)
    for name in ("c", "a", "b"):
        family.create_repository({"repositoryName": name})
    first = family.list_repositories({})
    assert [r["repositoryName"] for r in first["repositories"]] == ["a", "b"]
    rest = family.list_repositories({"nextToken": first["nextToken"]})
    assert [r["repositoryName"] for r in rest["repositories"]] == ["c"] and "nextToken" not in rest
    newest_first = family.list_repositories({"sortBy": "lastModifiedDate", "order": "descending"})
    assert [r["repositoryName"] for r in newest_first["repositories"]] == ["b", "a"]
    with pytest.raises(errors.InvalidContinuationTokenException):
        family.list_repositories({"nextToken": "forged"})
    with pytest.raises(errors.InvalidContinuationTokenException):  # a ListBranches token is not one
        family.list_repositories({"nextToken": _branch_token(family)})


def _branch_token(family) -> str:
    family.create_repository({"repositoryName": "branchy"})
    from labcloud.services.codecommit.repositories import repositories as module

    saved, module.BRANCH_PAGE = module.BRANCH_PAGE, 1
    try:
        for branch in ("x", "y"):
            family.seed("branchy", {"f": branch}, branch, branch=branch)
        return family.list_branches({"repositoryName": "branchy"})["nextToken"]
    finally:
        module.BRANCH_PAGE = saved


def test_commits_and_branches_through_the_api(family):
    family.create_repository({"repositoryName": "r"})
    first = family.seed("r", {"a": "a"}, "first", author=("Ada", "ada@example.com"))
    second = family.seed("r", {"b": "b"}, "second")
    commit = family.get_commit({"repositoryName": "r", "commitId": second})["commit"]
    assert commit["parents"] == [first] and commit["message"].rstrip("\n") == "second"
    first_commit = family.get_commit({"repositoryName": "r", "commitId": first})["commit"]
    assert first_commit["author"]["name"] == "Ada" and first_commit["author"]["email"] == "ada@example.com"
    assert first_commit["author"]["date"].endswith(" +0000") and len(first_commit["treeId"]) == 40
    family.create_branch({"repositoryName": "r", "branchName": "old", "commitId": first})
    assert family.get_branch({"repositoryName": "r", "branchName": "old"})["branch"]["commitId"] == first
    assert family.head("r", "old") == first and family.head("r", "none") is None
    for branch in ("a" * 40, "-x", "has space", "x.lock"):
        with pytest.raises(errors.InvalidBranchNameException):
            family.create_branch({"repositoryName": "r", "branchName": branch, "commitId": first})
    with pytest.raises(errors.InvalidCommitIdException):
        family.create_branch({"repositoryName": "r", "branchName": "new", "commitId": "main"})
    with pytest.raises(errors.CommitIdDoesNotExistException):
        family.archive("r", "f" * 40)
    with pytest.raises(errors.BranchDoesNotExistException):
        family.archive("r", "nope")


@pytest.mark.parametrize("name, code", [
    ("ok-name_1.2", None), ("x" * 100, None), ("x" * 101, "InvalidRepositoryNameException"),
    ("with space", "InvalidRepositoryNameException"), ("repo.git", "InvalidRepositoryNameException"),
    ("repo.GIT", "InvalidRepositoryNameException"), ("ünicode", "InvalidRepositoryNameException"),
    ("", "RepositoryNameRequiredException")])
def test_repository_names_are_checked_before_the_model(name, code):
    if code is None:
        requests.precheck("GetRepository", {"repositoryName": name})
        return
    with pytest.raises(AWSError) as caught:
        requests.precheck("GetRepository", {"repositoryName": name})
    assert caught.value.code == code


def test_the_other_prechecks():
    with pytest.raises(errors.RepositoryNameRequiredException):
        requests.precheck("GetBranch", {"branchName": "main"})
    with pytest.raises(errors.BranchNameRequiredException):
        requests.precheck("GetBranch", {"repositoryName": "r"})
    with pytest.raises(errors.CommitIdRequiredException):
        requests.precheck("GetCommit", {"repositoryName": "r"})
    with pytest.raises(errors.RepositoryNamesRequiredException):
        requests.precheck("BatchGetRepositories", {"repositoryNames": []})
    with pytest.raises(errors.MaximumRepositoryNamesExceededException):
        requests.precheck("BatchGetRepositories", {"repositoryNames": [f"r{i}" for i in range(101)]})
    with pytest.raises(errors.InvalidSortByException):
        requests.precheck("ListRepositories", {"sortBy": "size"})
    with pytest.raises(errors.InvalidOrderException):
        requests.precheck("ListRepositories", {"order": "up"})
    requests.precheck("ListRepositories", {"sortBy": "lastModifiedDate", "order": "descending"})
    requests.precheck("GetRepository", {"repositoryName": 5})  # a wrong type is the model's to refuse


def test_every_error_code_is_one_of_codecommits_shapes():
    from labcloud.protocols.validation import service_model

    shapes = set(service_model("codecommit").shape_names)
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and cls.__module__ == errors.__name__}
    assert codes and codes <= shapes, codes - shapes


def test_without_git_create_repository_says_to_install_it(family, monkeypatch):
    monkeypatch.setattr(program, "executable", lambda: None)
    with pytest.raises(errors.OperationNotAllowedException) as caught, git_errors():
        family.create_repository({"repositoryName": "r"})
    assert "apt-get install git" in caught.value.message and caught.value.status == 400
    assert family.bare_repository("r") is None
    assert not program.available()
