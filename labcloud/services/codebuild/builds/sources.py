"""A build's DOWNLOAD_SOURCE: its source, into the build's source folder (CODEBUILD_SRC_DIR).

    CODECOMMIT  `git clone` of the location (a labcloud repository's cloneUrlHttp, or any URL or path git
                clones) at the source version: a branch or tag (a shallow clone of gitCloneDepth commits)
                or a commit id (a full clone, then a checkout); the commit id is the resolved version
    S3          location "bucket/key": the zip at that key, unzipped; "bucket/folder/": the objects below
                it (a version id as source version picks that version of the zip)
    NO_SOURCE   an empty folder (the buildspec is inline)

A source that cannot be fetched is a SourceError with CodeBuild's CLIENT_ERROR wording. Git runs through
`run`, the worker's supervised process runner, so that a stop or a timeout ends it too.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Callable

from labcloud.runtime.s3_transfer import UnsafeKeyError, download_prefix, list_keys, local_target

DEFAULT_CLONE_DEPTH = 50
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")

# run(argv, log_output) -> (exit status, output lines)
Runner = Callable[[list[str], bool], tuple[int, list[str]]]


class SourceError(Exception):
    def __init__(self, message: str, status_code: str = "CLIENT_ERROR"):
        super().__init__(message)
        self.status_code, self.message = status_code, message


def _ref(version: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if version.startswith(prefix):
            return version[len(prefix):]
    return version


def _git_reason(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (errors or lines or ["git failed"])[-1]


def clone(location: str, version: str | None, depth: int | None, src: Path, run: Runner) -> str:
    """Clone `location` at `version` into `src`; returns the commit id checked out."""
    depth = DEFAULT_CLONE_DEPTH if depth is None else depth
    shallow = ["--depth", str(depth)] if depth else []
    ref = _ref(version or "")
    argv = ["git", "clone", *shallow, *(["--branch", ref] if ref else []), location, str(src)]
    status, lines = run(argv, True)
    if status != 0 and ref and _COMMIT.match(ref):
        shutil.rmtree(src, ignore_errors=True)  # not a branch or tag: a commit id, in the whole history
        status, lines = run(["git", "clone", location, str(src)], True)
        if status == 0:
            status, lines = run(["git", "-C", str(src), "checkout", "--quiet", "--detach", ref], True)
            if status != 0:
                raise SourceError(f"reference not found for primary source and source version {version}: "
                                  f"{_git_reason(lines)}")
    if status != 0:
        reason = _git_reason(lines)
        if ref and "not found in upstream" in reason:
            raise SourceError(f"reference not found for primary source and source version {version}: {reason}")
        raise SourceError(f"repository not found for primary source and source version {version or 'HEAD'}: "
                          f"git clone {location} failed: {reason}")
    status, lines = run(["git", "-C", str(src), "rev-parse", "HEAD"], False)
    if status != 0 or not lines:
        raise SourceError(f"cannot read the commit checked out from {location}: {_git_reason(lines)}")
    return lines[-1].strip()


def split_location(location: str) -> tuple[str, str]:
    """'bucket/key' (or 'arn:aws:s3:::bucket/key', 's3://bucket/key') -> (bucket, key)."""
    for prefix in ("arn:aws:s3:::", "s3://"):
        if location.startswith(prefix):
            location = location[len(prefix):]
    bucket, _, key = location.partition("/")
    if not bucket:
        raise SourceError(f"invalid S3 source location {location!r}: give '<bucket>/<key of a zip>' or "
                          f"'<bucket>/<folder>/'")
    return bucket, key


def unzip(archive: Path, dest: Path) -> int:
    """Extract the zip into `dest` (no member may land outside it), keeping file modes. Returns the count."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            count = 0
            for info in zipped.infolist():
                target = local_target(dest, info.filename, info.filename)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as member, open(target, "wb") as out:
                    shutil.copyfileobj(member, out)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    target.chmod(mode | 0o600)
                count += 1
            return count
    except zipfile.BadZipFile:
        raise SourceError(f"zip: not a valid zip file: {archive.name}") from None
    except UnsafeKeyError as err:
        raise SourceError(str(err)) from None


def from_s3(s3, location: str, version: str | None, src: Path, scratch: Path) -> None:
    bucket, key = split_location(location)
    src.mkdir(parents=True, exist_ok=True)
    try:
        if not key or key.endswith("/"):
            if download_prefix(s3, f"s3://{bucket}/{key}", src) == 0:
                raise SourceError(f"no objects found under s3://{bucket}/{key} for primary source")
            return
        archive = scratch / "source.zip"
        scratch.mkdir(parents=True, exist_ok=True)
        extra = {"VersionId": version} if version else {}
        try:
            s3.download_file(bucket, key, str(archive), ExtraArgs=extra or None)
        except Exception as err:  # noqa: BLE001 - a folder given without its trailing slash?
            if not version and list_keys(s3, bucket, key + "/"):
                download_prefix(s3, f"s3://{bucket}/{key}/", src)
                return
            raise SourceError(f"error while downloading the primary source s3://{bucket}/{key}"
                              f"{' version ' + version if version else ''}: {err}") from None
        unzip(archive, src)
        archive.unlink(missing_ok=True)
    except UnsafeKeyError as err:
        raise SourceError(str(err)) from None
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001 - NoSuchBucket and its kind, in botocore's words
        raise SourceError(f"error while downloading the primary source s3://{bucket}/{key}: {err}") from None


def fetch(source: dict, version: str | None, src: Path, scratch: Path, s3, run: Runner) -> str | None:
    """Fetch the build's source into `src`; returns the resolved source version (a commit id) or None."""
    kind = source["type"]
    if kind == "CODECOMMIT":
        return clone(source["location"], version, source.get("gitCloneDepth"), src, run)
    if kind == "S3":
        from_s3(s3, source["location"], version, src, scratch)
        return None
    if kind == "NO_SOURCE":
        src.mkdir(parents=True, exist_ok=True)
        return None
    raise SourceError(f"labcloud cannot fetch a source of type {kind}")
