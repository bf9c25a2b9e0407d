"""Source/AWS/CodeCommit: the tip of a branch, as a zip of its files, in the artifact store.

The commit is the branch's tip (GetBranch) or the one StartPipelineExecution's sourceRevisions named. The
repository is cloned over git's HTTP protocol from its cloneUrlHttp (GetRepository), as any git client
would, and `git archive` zips that commit's tree (no .git folder), which is CodePipeline's CODE_ZIP.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from pathlib import Path

from botocore.exceptions import ClientError

from labcloud.core.credentials import git_environment
from labcloud.services.codepipeline.actions.base import (SUCCEEDED, ActionFailed, ActionJob, ActionProvider,
                                                         ActionResult)
from labcloud.services.codepipeline.exceptions import InvalidActionDeclarationException

GIT_TIMEOUT_SECONDS = 300


def _check(declaration: dict) -> None:
    configuration, action = declaration.get("configuration") or {}, declaration["name"]
    fmt = configuration.get("OutputArtifactFormat", "CODE_ZIP")
    if fmt != "CODE_ZIP":
        raise InvalidActionDeclarationException(
            f"Action '{action}': OutputArtifactFormat {fmt} is not available in labcloud, which passes "
            f"CodeCommit sources as CODE_ZIP (a zip of the commit's files). Remove OutputArtifactFormat or set "
            f"it to CODE_ZIP.")
    poll = str(configuration.get("PollForSourceChanges", "false")).lower()
    if poll not in ("true", "false"):
        raise InvalidActionDeclarationException(
            f"Action '{action}': PollForSourceChanges must be true or false, not "
            f"{configuration['PollForSourceChanges']}.")


def _git(*args: str, cwd: Path | None = None, extra: dict | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", **(extra or {})}
    result = subprocess.run(["git", "-c", "credential.helper=", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=GIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ActionFailed(f"git {args[0]} failed: {(result.stderr or result.stdout).strip()[-1500:]}")
    return result.stdout


def _error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _resolve(job: ActionJob, repository: str, branch: str) -> tuple[dict, str]:
    codecommit = job.clients("codecommit")
    try:
        metadata = codecommit.get_repository(repositoryName=repository)["repositoryMetadata"]
    except ClientError as err:
        if _error_code(err) == "RepositoryDoesNotExistException":
            raise ActionFailed(f"The CodeCommit repository {repository} does not exist. Create it, or set the "
                               f"action's RepositoryName to an existing repository.") from None
        raise ActionFailed(f"Could not access the CodeCommit repository {repository}: {err}") from None
    if job.source_revision:
        return metadata, job.source_revision
    try:
        commit = codecommit.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
    except ClientError as err:
        if _error_code(err) == "BranchDoesNotExistException":
            raise ActionFailed(f"The branch {branch} does not exist in the CodeCommit repository {repository}. "
                               f"Push a commit to {branch}, or set the action's BranchName to an existing "
                               f"branch.") from None
        raise ActionFailed(f"Could not read the branch {branch} of the CodeCommit repository {repository}: "
                           f"{err}") from None
    return metadata, commit


def run(job: ActionJob) -> ActionResult:
    configuration = job.configuration
    repository, branch = configuration["RepositoryName"], configuration["BranchName"]
    [(artifact, location)] = job.outputs.items()
    try:
        metadata, commit = _resolve(job, repository, branch)
        job.report(externalExecutionId=commit)
        with tempfile.TemporaryDirectory(prefix="codepipeline-source-") as tmp:
            clone = Path(tmp) / "repo.git"
            _git("clone", "--bare", "--quiet", metadata["cloneUrlHttp"], str(clone),
                 extra=git_environment(metadata["cloneUrlHttp"]))  # labcloud's CodeCommit asks who clones
            try:
                _git("cat-file", "-e", f"{commit}^{{commit}}", cwd=clone)
            except ActionFailed:
                raise ActionFailed(f"The commit {commit} is not in the CodeCommit repository {repository}.") from None
            message, author_date, committer_date = _git(
                "log", "-1", "--format=%B%x00%aI%x00%cI", commit, cwd=clone).rsplit("\x00", 2)
            archive = Path(tmp) / "source.zip"
            _git("archive", "--format=zip", "-o", str(archive), commit, cwd=clone)
            job.clients("s3").upload_file(str(archive), location["bucket"], location["key"])
    except ActionFailed as err:
        return ActionResult.failed(err.message, err.code)
    except subprocess.TimeoutExpired:
        return ActionResult.failed(f"Cloning the CodeCommit repository {repository} took longer than "
                                   f"{GIT_TIMEOUT_SECONDS} s.")
    message = message.strip()
    created = dt.datetime.fromisoformat(committer_date.strip())
    url = (f"https://{job.region}.console.aws.amazon.com/codesuite/codecommit/repositories/{repository}/commit/"
           f"{commit}?region={job.region}")
    revision = {"revisionId": commit, "revisionChangeId": commit, "revisionSummary": message[:2048] or commit,
                "created": created, "revisionUrl": url}
    variables = {"CommitId": commit, "CommitMessage": message, "AuthorDate": author_date.strip(),
                 "CommitterDate": committer_date.strip(), "BranchName": branch, "RepositoryName": repository}
    return ActionResult(SUCCEEDED, summary=message[:2048] or None, revision=revision, external_id=commit,
                        external_url=url, output_variables=variables)


PROVIDER = ActionProvider("Source", "AWS", "CodeCommit", run, required=("RepositoryName", "BranchName"),
                          optional=("PollForSourceChanges", "OutputArtifactFormat"), inputs=(0, 0), outputs=(1, 1),
                          check=_check)
