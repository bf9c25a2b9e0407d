"""What CodeBuild checks in a project (and in a build's overrides) beyond botocore's model, and what labcloud
cannot do offline. Each failure is an InvalidInputException that says what to change."""

from __future__ import annotations

import re

from labcloud.services.codebuild.exceptions import InvalidInputException

RUNNABLE_SOURCES = ("CODECOMMIT", "S3", "NO_SOURCE")
_WINDOWS = ("WINDOWS_CONTAINER", "WINDOWS_SERVER_2019_CONTAINER", "WINDOWS_SERVER_2022_CONTAINER", "WINDOWS_EC2")


def check_source(source: dict) -> None:
    kind = source["type"]
    if kind in ("CODECOMMIT", "S3") and not source.get("location"):
        example = ("the repository's cloneUrlHttp" if kind == "CODECOMMIT"
                   else "'<bucket>/<key of a zip>' or '<bucket>/<folder>/'")
        raise InvalidInputException(f"Invalid input: source location must be specified for source type {kind} "
                                    f"(give {example}).")
    if kind == "NO_SOURCE" and not (source.get("buildspec") or "").strip():
        raise InvalidInputException("Invalid input: a buildspec must be specified for source type NO_SOURCE: set "
                                    "source.buildspec to the buildspec's YAML text.")
    if kind not in RUNNABLE_SOURCES + ("CODEPIPELINE",):
        raise InvalidInputException(
            f"labcloud runs offline and cannot fetch a source of type {kind}: use CODECOMMIT (a labcloud "
            f"CodeCommit repository), S3, NO_SOURCE or CODEPIPELINE.")
    if source.get("auth"):
        raise InvalidInputException("Invalid input: source.auth is not needed on labcloud (its repositories "
                                    "need no credentials); leave it out.")


def check_artifacts(artifacts: dict, where: str = "artifacts") -> None:
    if artifacts["type"] == "S3" and not artifacts.get("location"):
        raise InvalidInputException(f"Invalid input: {where}.location must be the name of an S3 bucket for "
                                    f"artifacts of type S3.")


def check_pairing(source: dict, artifacts: dict) -> None:
    """A CODEPIPELINE project is CODEPIPELINE on both sides, as CodeBuild requires."""
    if (source["type"] == "CODEPIPELINE") != (artifacts["type"] == "CODEPIPELINE"):
        raise InvalidInputException("Invalid input: Both source and artifacts must be set to CodePipeline "
                                    "(source.type and artifacts.type CODEPIPELINE), or neither.")


def check_environment(environment: dict) -> None:
    if environment["type"] in _WINDOWS:
        raise InvalidInputException(
            f"labcloud runs builds as local Linux processes and cannot run an environment of type "
            f"{environment['type']}: use LINUX_CONTAINER.")
    names = [v["name"] for v in environment.get("environmentVariables") or []]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputException(f"Invalid input: environment variable names must be unique: "
                                    f"{', '.join(duplicates)} appear more than once.")


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")  # it names a variable: CODEBUILD_SRC_DIR_<id>


def _identifiers(entries: list[dict], key: str, where: str) -> None:
    seen = set()
    for entry in entries:
        identifier = entry.get(key) or ""
        if not _IDENTIFIER.match(identifier):
            raise InvalidInputException(
                f"Invalid input: every entry of {where} needs a {key} of letters, digits and underscores that "
                f"does not start with a digit, at most 128 characters (e.g. BuildArtifact); got {identifier!r}.")
        if identifier in seen:
            raise InvalidInputException(f"Invalid input: the {key} {identifier} appears more than once in {where}.")
        seen.add(identifier)


def check_secondary_sources(sources: list[dict], where: str = "secondarySources") -> None:
    _identifiers(sources, "sourceIdentifier", where)
    for source in sources:
        if source["type"] not in ("CODECOMMIT", "S3"):
            raise InvalidInputException(f"Invalid input: the secondary source {source['sourceIdentifier']} is of "
                                        f"type {source['type']}; labcloud fetches secondary sources of type S3 and "
                                        f"CODECOMMIT.")
        check_source(source)


def check_secondary_artifacts(artifacts: list[dict], where: str = "secondaryArtifacts") -> None:
    _identifiers(artifacts, "artifactIdentifier", where)
    for entry in artifacts:
        if entry["type"] == "CODEPIPELINE":
            raise InvalidInputException(f"Invalid input: the secondary artifacts {entry['artifactIdentifier']} are "
                                        f"of type CODEPIPELINE, which only CodePipeline collects; use S3.")
        check_artifacts(entry, f"{where}[{entry['artifactIdentifier']}]")


def check_secondary_versions(versions: list[dict], sources: list[dict], where: str) -> None:
    known = {s["sourceIdentifier"] for s in sources}
    for entry in versions:
        if entry["sourceIdentifier"] not in known:
            raise InvalidInputException(f"Invalid input: {where} names the source {entry['sourceIdentifier']}, "
                                        f"which is not one of the build's secondary sources "
                                        f"({', '.join(sorted(known)) or 'none'}).")


def check_project(project: dict) -> None:
    check_source(project["source"])
    check_artifacts(project["artifacts"])
    check_pairing(project["source"], project["artifacts"])
    check_environment(project["environment"])
    if project["source"]["type"] != "CODEPIPELINE":  # CodePipeline's secondary sources come as overrides
        check_secondary_sources(project.get("secondarySources") or [])
        check_secondary_artifacts(project.get("secondaryArtifacts") or [])
    check_secondary_versions(project.get("secondarySourceVersions") or [], project.get("secondarySources") or [],
                             "secondarySourceVersions")
