"""Repositories: CreateRepository, GetRepository, BatchGetRepositories, ListRepositories, DeleteRepository,
UpdateRepositoryDescription, UpdateDefaultBranch, GetBranch, ListBranches, CreateBranch, GetCommit; and
what other parts of labcloud ask of a repository (see "For labcloud" below).

Each repository is a real bare git repository, <state>/codecommit/repos/<name>.git (under the work
folder when labcloud keeps no state), and a record in the service's store (records.py). The record is the
truth: a folder without one is a create that died half-way, replaced by the next create of that name.

Whatever changes a repository's references (a push through the git endpoint, CreateBranch, seed(),
DeleteRepository) holds that repository's lock, so the references seen before and after it are its own.
A change publishes one "CodeCommit Repository State Change" event per reference (events.py) once the lock
is released, so a subscriber may call back into the service. The first branch a repository gets becomes
its defaultBranch (main, if it is among them), as on AWS; lastModifiedDate moves with every change.

For labcloud (other services find this family as ctx.services.service("codecommit").repositories):

    clone_url(name) -> str        "{endpoint_url}/v1/repos/<name>", the repository's cloneUrlHttp
    seed(name, files, message, branch="main", *, replace=False, executable=(), author=None,
         publish=False) -> commit id
        Commits `files` ({path: bytes | str}) to `branch` without a clone: on top of its tip (added or
        overwritten; with replace=True the files are the whole tree), a new branch if it has none. By
        default it publishes NO event: a template's initial commit is not a learner's push (on AWS the
        pipeline made with the repository runs once on creation, not because of the commit). Pass
        publish=True for the events a push would publish.
    archive(name, reference="main") -> (commit id, zip bytes)
        The files of a branch or a full commit id, as a zip without .git (a CodeCommit source's CODE_ZIP).
    head(name, branch="main") -> commit id or None
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from labcloud.core.clock import utc_now
from labcloud.core.errors import InternalFailure, ValidationException
from labcloud.protocols.pagination import paginate
from labcloud.services.codecommit.exceptions import (BranchDoesNotExistException, BranchNameExistsException,
                                                     CommitDoesNotExistException, CommitIdDoesNotExistException,
                                                     InvalidBranchNameException, InvalidCommitIdException,
                                                     InvalidContinuationTokenException,
                                                     InvalidSystemTagUsageException, OperationNotAllowedException,
                                                     RepositoryDoesNotExistException,
                                                     RepositoryNameExistsException, TooManyTagsException)
from labcloud.services.codecommit.git import program
from labcloud.services.codecommit.git.bare import BareRepository, is_full_commit_id
from labcloud.services.codecommit.repositories.events import DETAIL_TYPE, SOURCE, detail, ref_changes
from labcloud.services.codecommit.repositories.records import Repository

log = logging.getLogger("labcloud.codecommit")

KIND = "repositories"
DEFAULT_BRANCH = "main"
MAX_TAGS = 50
LIST_PAGE = 1000  # repositories in one ListRepositories answer
BRANCH_PAGE = 100


def repositories_root(ctx) -> Path:
    """Where the bare repositories live: in the state directory, else in this server's work folder."""
    return Path(ctx.state_dir or ctx.work_dir) / "codecommit" / "repos"


@contextmanager
def git_errors() -> Iterator[None]:
    """git's failures in AWS's terms: no git program is the learner's to fix; git failing is labcloud's."""
    try:
        yield
    except program.GitMissing:
        raise OperationNotAllowedException(
            "labcloud's CodeCommit keeps each repository as a git repository and needs the git program, which "
            f"is not installed: {program.INSTALL_HINT}.") from None
    except program.GitError as err:
        raise InternalFailure(f"labcloud's CodeCommit could not complete this: {err}") from None


class Repositories:
    def __init__(self, ctx, store):
        self.ctx = ctx
        self.store = store
        self.root = repositories_root(ctx)
        self.caller_arn = f"arn:aws:iam::{ctx.account_id}:root"  # git over HTTP takes no credentials
        self._repositories: dict[str, Repository] = {}
        self._lock = threading.Lock()  # the table
        self._ref_locks: dict[str, threading.Lock] = {}  # per repository: what changes its references

    # --- the server's life ----------------------------------------------------------------------------

    def start(self) -> None:
        saved = {name: Repository.from_store(record) for name, record in self.store.load_all(KIND).items()}
        if saved and not program.available():
            log.warning("CodeCommit has %d repositories but the git program is missing: %s", len(saved),
                        program.INSTALL_HINT)
        elif saved:
            for repository in saved.values():
                bare = self._bare(repository.name)
                with git_errors():
                    if bare.exists():
                        bare.configure()
                    else:
                        log.warning("the git repository of %s was missing; it starts again empty", repository.name)
                        bare.init(repository.default_branch or DEFAULT_BRANCH)
        with self._lock:
            self._repositories = saved

    def status(self) -> dict:
        with self._lock:
            return {"codecommit_repositories": sorted(self._repositories)}

    # --- repositories ---------------------------------------------------------------------------------

    def create_repository(self, params: dict) -> dict:
        name = params["repositoryName"]
        tags = params.get("tags") or {}
        _check_tags(tags)
        program.require()  # before anything is made
        with self._lock:  # held while the bare repository is made: a create is rare and short
            if name in self._repositories:
                raise RepositoryNameExistsException(f"Repository named {name} already exists")
            now = utc_now()
            metadata = {"accountId": self.ctx.account_id, "repositoryId": str(uuid.uuid4()),
                        "repositoryName": name, "lastModifiedDate": now, "creationDate": now,
                        "Arn": self.ctx.arn("codecommit", name)}
            if params.get("repositoryDescription") is not None:
                metadata["repositoryDescription"] = params["repositoryDescription"]
            repository = Repository(metadata, dict(tags))
            self._bare(name).init(DEFAULT_BRANCH)
            self.store.save(KIND, name, repository.to_store())
            self._repositories[name] = repository
        return {"repositoryMetadata": repository.describe(self.clone_url(name))}

    def get_repository(self, params: dict) -> dict:
        repository = self._get(params["repositoryName"])
        return {"repositoryMetadata": repository.describe(self.clone_url(repository.name))}

    def batch_get_repositories(self, params: dict) -> dict:
        found, missing = [], []
        with self._lock:
            for name in params["repositoryNames"]:
                repository = self._repositories.get(name)
                if repository is None:
                    missing.append(name)
                else:
                    found.append(repository.describe(self.clone_url(name)))
        return {"repositories": found, "repositoriesNotFound": missing}

    def list_repositories(self, params: dict) -> dict:
        sort_by = params.get("sortBy") or "repositoryName"
        with self._lock:
            records = [r.metadata for r in self._repositories.values()]
        records.sort(key=lambda m: (m[sort_by], m["repositoryName"]), reverse=params.get("order") == "descending")
        page, token = _page(records, params.get("nextToken"), LIST_PAGE, "ListRepositories")
        answer = {"repositories": [{"repositoryName": m["repositoryName"], "repositoryId": m["repositoryId"]}
                                   for m in page]}
        if token:
            answer["nextToken"] = token
        return answer

    def delete_repository(self, params: dict) -> dict:
        name = params["repositoryName"]
        with self._ref_lock(name):  # a push under way ends first
            with self._lock:
                repository = self._repositories.pop(name, None)
                if repository is None:  # AWS answers a repository already deleted without an id
                    return {}
                self.store.delete(KIND, name)
            self._bare(name).remove()
        return {"repositoryId": repository.repository_id}

    def update_repository_description(self, params: dict) -> dict:
        with self._lock:
            repository = self._get_locked(params["repositoryName"])
            if params.get("repositoryDescription") is None:
                repository.metadata.pop("repositoryDescription", None)
            else:
                repository.metadata["repositoryDescription"] = params["repositoryDescription"]
            repository.metadata["lastModifiedDate"] = utc_now()
            self.store.save(KIND, repository.name, repository.to_store())
        return {}

    def update_default_branch(self, params: dict) -> dict:
        name, branch = params["repositoryName"], params["defaultBranchName"]
        with self._ref_lock(name):
            repository = self._get(name)
            bare = self._bare(name)
            if bare.resolve_commit(f"refs/heads/{branch}") is None:
                raise BranchDoesNotExistException(f"Could not find branch {branch} in repository {name}.")
            bare.set_head(branch)
            with self._lock:
                repository.metadata["defaultBranch"] = branch
                repository.metadata["lastModifiedDate"] = utc_now()
                self.store.save(KIND, name, repository.to_store())
        return {}

    # --- branches and commits -------------------------------------------------------------------------

    def get_branch(self, params: dict) -> dict:
        name, branch = params["repositoryName"], params["branchName"]
        self._get(name)
        commit_id = self._bare(name).resolve_commit(f"refs/heads/{branch}")
        if commit_id is None:
            raise BranchDoesNotExistException(f"Could not find branch {branch} in repository {name}.")
        return {"branch": {"branchName": branch, "commitId": commit_id}}

    def list_branches(self, params: dict) -> dict:
        name = params["repositoryName"]
        self._get(name)
        branches = sorted(self._bare(name).branches())
        page, token = _page(branches, params.get("nextToken"), BRANCH_PAGE, "ListBranches")
        answer = {"branches": page}
        if token:
            answer["nextToken"] = token
        return answer

    def create_branch(self, params: dict) -> dict:
        name, branch, commit_id = params["repositoryName"], params["branchName"], params["commitId"]
        if is_full_commit_id(branch) or not BareRepository.valid_branch_name(branch):
            raise InvalidBranchNameException(
                f"The branch name {branch!r} is not valid: it must follow git's rules for reference names "
                "(git check-ref-format) and cannot be a 40-character hexadecimal string.")
        if not is_full_commit_id(commit_id):
            raise InvalidCommitIdException(f"The commit ID {commit_id!r} is not valid: give the full 40-character "
                                           "commit ID.")
        with self._changing(name, publish=True) as bare:
            if bare is None:
                raise self._missing(name)
            if bare.resolve_commit(f"refs/heads/{branch}") is not None:
                raise BranchNameExistsException(f"Branch {branch} already exists in repository {name}.")
            if bare.resolve_commit(commit_id) != commit_id:
                raise CommitDoesNotExistException(f"Commit {commit_id} does not exist in repository {name}.")
            bare.create_ref(f"refs/heads/{branch}", commit_id)
        return {}

    def get_commit(self, params: dict) -> dict:
        name, commit_id = params["repositoryName"], params["commitId"]
        if not is_full_commit_id(commit_id):
            raise InvalidCommitIdException(f"The commit ID {commit_id!r} is not valid: give the full 40-character "
                                           "commit ID.")
        self._get(name)
        commit = self._bare(name).read_commit(commit_id)
        if commit is None:
            raise CommitIdDoesNotExistException(f"Commit {commit_id} does not exist in repository {name}.")
        return {"commit": commit}

    # --- for labcloud: the git endpoint, other services, tests ------------------------------------------

    def clone_url(self, name: str) -> str:
        return f"{self.ctx.endpoint_url}/v1/repos/{name}"

    def bare_repository(self, name: str) -> BareRepository | None:
        """The git repository of a repository that exists, else None."""
        with self._lock:
            return self._bare(name) if name in self._repositories else None

    @contextmanager
    def receiving(self, name: str) -> Iterator[BareRepository | None]:
        """Around a push through the git endpoint: the repository (None if it no longer exists), its
        reference changes published as events when the block ends."""
        with self._changing(name, publish=True) as bare:
            yield bare

    def seed(self, name: str, files: Mapping[str, bytes | str], message: str, branch: str = DEFAULT_BRANCH, *,
             replace: bool = False, executable: Iterable[str] = (), author: tuple[str, str] | None = None,
             publish: bool = False) -> str:
        """Commit files to a branch (see the module's docstring). RepositoryDoesNotExistException,
        InvalidBranchNameException, or ValueError for a path outside the repository."""
        with git_errors(), self._changing(name, publish=publish) as bare:
            if not BareRepository.valid_branch_name(branch):
                raise InvalidBranchNameException(f"The branch name {branch!r} is not valid.")
            if bare is None:
                raise self._missing(name)
            commit_id, _ = bare.commit_files(branch, files, message, replace=replace, executable=executable,
                                             author=author or ("labcloud", "labcloud@example.com"))
        return commit_id

    def head(self, name: str, branch: str = DEFAULT_BRANCH) -> str | None:
        self._get(name)
        with git_errors():
            return self._bare(name).resolve_commit(f"refs/heads/{branch}")

    def archive(self, name: str, reference: str = DEFAULT_BRANCH) -> tuple[str, bytes]:
        self._get(name)
        bare = self._bare(name)
        with git_errors():
            revision = reference if is_full_commit_id(reference) else f"refs/heads/{reference}"
            commit_id = bare.resolve_commit(revision)
            if commit_id is None:
                if is_full_commit_id(reference):
                    raise CommitIdDoesNotExistException(f"Commit {reference} does not exist in repository {name}.")
                raise BranchDoesNotExistException(f"Could not find branch {reference} in repository {name}.")
            return commit_id, bare.archive_zip(commit_id)

    # --- inside -----------------------------------------------------------------------------------------

    @contextmanager
    def _changing(self, name: str, publish: bool) -> Iterator[BareRepository | None]:
        """Hold the repository's reference lock around the block; then record what its references did
        (the first branch becomes the default) and publish one event per changed reference."""
        events: list[dict] = []
        try:
            with self._ref_lock(name):
                with self._lock:
                    repository = self._repositories.get(name)
                if repository is None:
                    yield None
                    return
                bare = self._bare(name)
                before = bare.refs()
                try:
                    yield bare
                finally:  # a push that failed half-way may still have moved some references
                    changed = self._record_changes(repository, bare, before)
                    events = changed if publish else []
        finally:
            for event_detail in events:
                self.ctx.events.publish(SOURCE, DETAIL_TYPE, event_detail, [repository.arn])

    def _record_changes(self, repository: Repository, bare: BareRepository, before: dict) -> list[dict]:
        try:
            changes = ref_changes(before, bare.refs())
        except program.GitError as err:
            log.warning("could not read the references of %s after a change: %s", repository.name, err)
            return []
        if not changes:
            return []
        with self._lock:
            if repository.default_branch is None:
                created = [c.full_name[len("refs/heads/"):] for c in changes
                           if c.full_name.startswith("refs/heads/") and c.new is not None]
                if created:
                    default = DEFAULT_BRANCH if DEFAULT_BRANCH in created else created[0]
                    repository.metadata["defaultBranch"] = default
                    try:
                        bare.set_head(default)
                    except program.GitError as err:
                        log.warning("could not point HEAD of %s at %s: %s", repository.name, default, err)
            repository.metadata["lastModifiedDate"] = utc_now()
            if self._repositories.get(repository.name) is repository:  # not deleted meanwhile
                self.store.save(KIND, repository.name, repository.to_store())
        return [detail(c, repository.name, repository.repository_id, self.caller_arn) for c in changes]

    def _bare(self, name: str) -> BareRepository:
        return BareRepository(self.root / f"{name}.git")

    def _ref_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._ref_locks.setdefault(name, threading.Lock())

    def _get(self, name: str) -> Repository:
        with self._lock:
            return self._get_locked(name)

    def _get_locked(self, name: str) -> Repository:
        repository = self._repositories.get(name)
        if repository is None:
            raise self._missing(name)
        return repository

    @staticmethod
    def _missing(name: str) -> RepositoryDoesNotExistException:
        return RepositoryDoesNotExistException(f"{name} does not exist")


def _check_tags(tags: dict) -> None:
    if len(tags) > MAX_TAGS:
        raise TooManyTagsException(f"{len(tags)} tags were given; a repository can have at most {MAX_TAGS}.")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise InvalidSystemTagUsageException(f"The tag key {key!r} is not valid: keys cannot start with aws:.")


def _page(items: list, token: str | None, size: int, operation: str) -> tuple[list, str | None]:
    try:
        return paginate(items, {"NextToken": token, "MaxResults": size}, operation)
    except ValidationException:
        raise InvalidContinuationTokenException(
            f"The nextToken {token!r} is not one that {operation} returned: pass the nextToken of the previous "
            "answer, unchanged.") from None
