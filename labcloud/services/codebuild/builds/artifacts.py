"""A build's artifacts: the files the buildspec's `artifacts` section selects, zipped (or not) into S3.

Selection follows CodeBuild: `files` are globs relative to `base-directory` (the source folder when not
set); `*` matches within one folder, `**` any number of folders (`**/*` is every file, dot files too); a
literal path naming a folder takes every file below it; `exclude-paths` takes files out again. Paths in the
artifact stay relative to the base directory, or are only the file names with `discard-paths: yes`.
$NAME and ${NAME} in paths and the name are the build's variables as it ended.
No file selected is CodeBuild's CLIENT_ERROR "no matching artifact paths found".

Where they go: the project's artifacts (or StartBuild's artifactsOverride) of type S3 put them at
`<location>/<path>/<build uuid, with namespaceType BUILD_ID>/<name>`: one zip object with packaging ZIP,
the files below that prefix with packaging NONE.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labcloud.services.codebuild.builds.buildspec import ArtifactsSpec


class ArtifactError(Exception):
    """The artifacts cannot be uploaded; the message is the UPLOAD_ARTIFACTS phase context's (CLIENT_ERROR)."""


def _parts(pattern: str) -> list[str]:
    path = PurePosixPath(pattern.strip())
    parts = [p for p in path.parts if p not in (".", "")]
    if path.is_absolute() or ".." in parts:
        raise ArtifactError(f"the artifact path {pattern!r} leads outside the base directory; give paths "
                            f"relative to it, without '..'")
    return parts


def _match(pattern: list[str], path: list[str]) -> bool:
    """Whether the path's components match the pattern's (`**` stands for zero or more components)."""
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match(rest, path[1:])


def _matches(pattern: list[str], path: list[str]) -> bool:
    if _match(pattern, path):
        return True
    # A literal path that names a folder takes every file below it.
    literal = not any(ch in part for part in pattern for ch in "*?[")
    return literal and path[:len(pattern)] == pattern and len(path) > len(pattern)


def _all_files(base: Path) -> list[list[str]]:
    found = []
    for folder, dirs, files in os.walk(base):  # symlinked folders are not followed (no loops)
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                found.append(list(path.relative_to(base).parts))
    return found


def select(src_dir: Path, spec: ArtifactsSpec) -> list[tuple[Path, str]]:
    """(file, its path in the artifact) for every file the spec selects, in a stable order."""
    base = src_dir
    if spec.base_directory:
        base = src_dir.joinpath(*_parts(spec.base_directory))
        if not base.is_dir():
            raise ArtifactError(f"no matching base directory path found for {spec.base_directory}")
    includes = [_parts(p) for p in spec.files]
    excludes = [_parts(p) for p in spec.exclude_paths]
    chosen: dict[str, Path] = {}
    for parts in _all_files(base):
        if any(_matches(p, parts) for p in includes) and not any(_matches(p, parts) for p in excludes):
            name = parts[-1] if spec.discard_paths else "/".join(parts)
            chosen.setdefault(name, base.joinpath(*parts))
    if not chosen:
        raise ArtifactError(f"no matching artifact paths found (files: {', '.join(spec.files)}"
                            f"{', base-directory: ' + spec.base_directory if spec.base_directory else ''})")
    return sorted(((path, name) for name, path in chosen.items()), key=lambda item: item[1])


def write_zip(files: list[tuple[Path, str]], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in files:
            archive.write(path, name)  # keeps the file's mode, so scripts stay executable


@dataclass(frozen=True)
class Destination:
    """Where a build's artifacts go in S3."""

    bucket: str
    key: str  # the zip's key (packaging ZIP) or the prefix of the files (packaging NONE)
    packaging: str  # ZIP | NONE

    @property
    def location(self) -> str:
        """The S3 ARN BatchGetBuilds reports as artifacts.location."""
        return f"arn:aws:s3:::{self.bucket}/{self.key}"


def destination(artifacts: dict, build_uuid: str, name: str | None = None) -> Destination | None:
    """The S3 destination of artifacts of type S3 (None for NO_ARTIFACTS); `name` from the buildspec wins
    over artifacts.name when overrideArtifactName is set."""
    if artifacts.get("type") != "S3":
        return None
    chosen = name if name and artifacts.get("overrideArtifactName") else artifacts.get("name")
    parts = [artifacts.get("path") or ""]
    if artifacts.get("namespaceType") == "BUILD_ID":
        parts.append(build_uuid)
    parts.append(chosen or "artifacts")
    key = "/".join(p.strip("/") for p in parts if p.strip("/"))
    return Destination(artifacts["location"], key, artifacts.get("packaging") or "NONE")


_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def expand(text: str, env: dict[str, str]) -> str:
    """$NAME and ${NAME} in an artifact path or name, from the build's variables at its end."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def expanded(spec: ArtifactsSpec, env: dict[str, str]) -> ArtifactsSpec:
    """The spec with the variables in its paths and name replaced (`files: [$RESULTS]`)."""
    return dataclasses.replace(
        spec, files=[expand(f, env) for f in spec.files], exclude_paths=[expand(f, env) for f in spec.exclude_paths],
        base_directory=expand(spec.base_directory, env) if spec.base_directory else None,
        name=expand(spec.name, env) if spec.name else None)


def digests(path: Path) -> tuple[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()


def upload(s3, files: list[tuple[Path, str]], dest: Destination, scratch: Path) -> dict:
    """Put the files at `dest`; returns BatchGetBuilds' artifacts (location, and the zip's digests)."""
    try:
        if dest.packaging == "ZIP":
            archive = scratch / "artifacts.zip"
            write_zip(files, archive)
            s3.upload_file(str(archive), dest.bucket, dest.key)
            sha256, md5 = digests(archive)
            return {"location": dest.location, "sha256sum": sha256, "md5sum": md5}
        for path, name in files:
            s3.upload_file(str(path), dest.bucket, f"{dest.key}/{name}" if dest.key else name)
        return {"location": dest.location}
    except Exception as err:  # botocore's words say what is wrong (no such bucket, ...)
        raise ArtifactError(f"cannot upload the artifacts to s3://{dest.bucket}/{dest.key}: {err}") from None
