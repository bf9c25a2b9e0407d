"""One bare git repository on disk, as CodeCommit's operations need it: made, configured, its references
read and changed, its commits read, new commits written without a work tree, its files as a zip.

Nothing here locks: the Repositories family serializes what changes references (pushes, seeds, branches
made through the API, deletion) per repository.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Iterable, Mapping

from labcloud.services.codecommit.git import program

ZERO = "0" * 40
_FULL_ID = re.compile(r"^[0-9a-f]{40}$")

# Every repository's configuration: anonymous pushes over smart HTTP (http-backend refuses them otherwise),
# and no `git gc --auto`, which would detach a background process from the request that started it.
_CONFIG = (("http.receivepack", "true"), ("http.uploadpack", "true"), ("gc.auto", "0"),
           ("receive.autogc", "false"))


def is_full_commit_id(value: str) -> bool:
    return bool(_FULL_ID.match(value))


class BareRepository:
    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return (self.path / "HEAD").is_file()

    def init(self, initial_branch: str = "main") -> None:
        """A new, empty repository whose HEAD names `initial_branch` (which has no commit yet)."""
        if self.path.exists():  # left by a create that died before its record was saved
            shutil.rmtree(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        program.run(["init", "--bare", "--quiet", f"--initial-branch={initial_branch}", str(self.path)])
        self.configure()

    def configure(self) -> None:
        for key, value in _CONFIG:
            program.run(["config", key, value], git_dir=self.path)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # --- references ---------------------------------------------------------------------------------

    def refs(self) -> dict[str, str]:
        """Every reference (refs/heads/..., refs/tags/...) and the object it points at."""
        out = program.run(["for-each-ref", "--format=%(objectname) %(refname)"], git_dir=self.path).stdout
        refs = {}
        for line in out.decode().splitlines():
            object_id, _, name = line.partition(" ")
            refs[name] = object_id
        return refs

    def branches(self) -> dict[str, str]:
        """Branch name -> commit id."""
        prefix = "refs/heads/"
        return {name[len(prefix):]: oid for name, oid in self.refs().items() if name.startswith(prefix)}

    def resolve_commit(self, revision: str) -> str | None:
        """The commit id a revision (a commit id, a branch) names, or None when it names no commit."""
        result = program.run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
                             git_dir=self.path, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def set_head(self, branch: str) -> None:
        """The branch a clone checks out."""
        program.run(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], git_dir=self.path)

    def create_ref(self, name: str, commit_id: str) -> None:
        """A new reference; GitError when it exists already."""
        program.run(["update-ref", name, commit_id, ZERO], git_dir=self.path)

    @staticmethod
    def valid_branch_name(name: str) -> bool:
        """git's rules for a branch name (git check-ref-format)."""
        if name.startswith("-") or "\0" in name:  # (a NUL cannot even be passed to git)
            return False
        return program.run(["check-ref-format", f"refs/heads/{name}"], check=False).returncode == 0

    # --- commits ------------------------------------------------------------------------------------

    def read_commit(self, commit_id: str) -> dict | None:
        """A commit as CodeCommit's GetCommit describes it, or None when there is no such commit."""
        result = program.run(["cat-file", "commit", commit_id], git_dir=self.path, check=False)
        if result.returncode != 0:
            return None
        head, _, message = result.stdout.decode(errors="replace").partition("\n\n")
        commit = {"commitId": commit_id, "parents": [], "message": message, "additionalData": ""}
        for line in head.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                commit["treeId"] = value
            elif key == "parent":
                commit["parents"].append(value)
            elif key in ("author", "committer"):
                commit[key] = _user_info(value)
        return commit

    def commit_files(self, branch: str, files: Mapping[str, bytes | str], message: str, *, replace: bool = False,
                     executable: Iterable[str] = (), author: tuple[str, str] = ("labcloud", "labcloud@example.com"),
                     ) -> tuple[str, str | None]:
        """Commit `files` (path -> content) to `branch`, on top of its tip (a new branch when it has none):
        the files are added or overwritten, or with `replace` they are the whole tree. Returns
        (the new commit id, the branch's previous commit id or None). One `git fast-import`, no work tree."""
        paths = {_checked_path(path): path for path in files}
        executable = {_checked_path(path) for path in executable}
        parent = self.resolve_commit(f"refs/heads/{branch}")
        name, email = author
        stamp = f"{int(time.time())} +0000"
        message_bytes = message.encode()
        stream = [f"commit refs/heads/{branch}\n".encode(),
                  f"author {name} <{email}> {stamp}\ncommitter {name} <{email}> {stamp}\n".encode(),
                  b"data %d\n" % len(message_bytes), message_bytes, b"\n"]
        if parent:
            stream.append(f"from {parent}\n".encode())
        if replace:
            stream.append(b"deleteall\n")
        for path in sorted(paths):
            content = files[paths[path]]
            data = content.encode() if isinstance(content, str) else bytes(content)
            mode = "100755" if path in executable else "100644"
            stream += [f"M {mode} inline {_quote(path)}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
        stream.append(b"done\n")
        program.run(["fast-import", "--quiet", "--done", "--date-format=raw"], git_dir=self.path,
                    input=b"".join(stream))
        return self.resolve_commit(f"refs/heads/{branch}"), parent

    def archive_zip(self, commit_id: str) -> bytes:
        """The files of a commit as a zip (what CodePipeline's CodeCommit source hands to the next stage)."""
        return program.run(["archive", "--format=zip", commit_id], git_dir=self.path).stdout


def _user_info(value: str) -> dict:
    """'Name <email> 1484167798 -0800' -> GetCommit's UserInfo (its date as git writes it, as AWS does)."""
    name, _, rest = value.partition(" <")
    email, _, date = rest.partition("> ")
    return {"name": name, "email": email, "date": date}


def _checked_path(path: str) -> str:
    """A file path inside a repository: relative, without '..' or '.git' parts (ValueError otherwise); a
    backslash separates folders, as in a zip made on Windows."""
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or path.startswith("/") or ".." in parts or ".git" in parts or any("\n" in p for p in parts):
        raise ValueError(f"{path!r} is not a file path inside a repository: use a relative path such as "
                         "'pipelines/run.py', without '..' or '.git'")
    return "/".join(parts)


def _quote(path: str) -> str:
    """fast-import's C-style quoting, so that any file name (spaces, quotes, non-ASCII) survives."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
