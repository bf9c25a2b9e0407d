"""buildspec.yml, versions 0.1 and 0.2, parsed into what a build runs.

    version: 0.2
    env:
      shell: bash                       bash (the default) or /bin/sh
      variables: {NAME: value}          the lowest precedence: the project's and StartBuild's win
      parameter-store: {NAME: /param}   read from labcloud's SSM
      secrets-manager: {NAME: secret-id:json-key:version-stage:version-id}
      exported-variables: [NAME]        reported by BatchGetBuilds when the build ends
    phases:
      install | pre_build | build | post_build:
        on-failure: ABORT | CONTINUE    ABORT (the default) follows CodeBuild's phase transitions
        commands: [...]                 a failing command skips the rest of the phase's commands...
        finally: [...]                  ...but not these
    artifacts:
      files: [...]                      globs below base-directory, `**` for any folders
      base-directory, discard-paths, exclude-paths, name
      secondary-artifacts: {artifactIdentifier: {files, base-directory, ...}}

In 0.2 every command runs in the same shell state (a `cd` or a variable set by one command holds for the
next); in 0.1 each command starts afresh in the source folder. What labcloud cannot do offline
(runtime-versions, run-as, reports, cache) is noted in the build's log and skipped.
A buildspec that is not valid is a BuildspecError with CodeBuild's YAML_FILE_ERROR wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

VERSIONS = ("0.1", "0.2")
SHELLS = {"bash": "bash", "/bin/bash": "bash", "sh": "/bin/sh", "/bin/sh": "/bin/sh"}
PHASE_NAMES = ("install", "pre_build", "build", "post_build")
ON_FAILURE = ("ABORT", "CONTINUE")
DEFAULT_FILE = "buildspec.yml"
_IGNORED_TOP = ("run-as", "proxy", "batch", "reports", "cache", "fleet")
_PHASE_KEYS = ("commands", "finally", "on-failure", "runtime-versions", "run-as")


class BuildspecError(ValueError):
    """A buildspec CodeBuild refuses; the message is the phase context's (YAML_FILE_ERROR)."""


@dataclass
class Phase:
    name: str  # install, pre_build, build, post_build
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"


@dataclass
class ArtifactsSpec:
    files: list[str]
    base_directory: str | None = None
    discard_paths: bool = False
    exclude_paths: list[str] = field(default_factory=list)
    name: str | None = None


@dataclass
class Buildspec:
    version: str
    shell: str = "bash"
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    exported_variables: list[str] = field(default_factory=list)
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: ArtifactsSpec | None = None
    secondary_artifacts: dict[str, ArtifactsSpec] = field(default_factory=dict)  # by artifactIdentifier
    notes: list[str] = field(default_factory=list)  # what labcloud skips, for the build's log

    @property
    def same_shell(self) -> bool:
        """0.2: commands share one shell's state; 0.1: each runs in a fresh one."""
        return self.version == "0.2"

    def phase(self, name: str) -> Phase:
        return self.phases.get(name) or Phase(name)


def is_inline(text: str) -> bool:
    """Whether a project's buildspec value is the YAML itself rather than a file name (or an S3 ARN)."""
    if "\n" in text.strip():
        return True
    try:
        return isinstance(yaml.safe_load(text), dict)
    except yaml.YAMLError:
        return False


def _scalar(value, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    hint = (" (a command that holds ': ' must be quoted, as YAML reads it as a mapping otherwise)"
            if isinstance(value, dict) else "")
    raise BuildspecError(f"{where} must be a string, not a {_kind(value)}{hint}")


def _kind(value) -> str:
    return {dict: "mapping", list: "list"}.get(type(value), type(value).__name__)


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"{where} must be a mapping of names to values, not a {_kind(value)}")
    return value


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BuildspecError(f"{where} must be a list, not a {_kind(value)}")
    return [_scalar(item, f"each entry of {where}") for item in value]


def _flag(value, where: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    if str(value).lower() in ("yes", "true"):
        return True
    if str(value).lower() in ("no", "false"):
        return False
    raise BuildspecError(f"{where} must be yes or no, not {value!r}")


def _version(document: dict) -> str:
    if "version" not in document:
        raise BuildspecError("missing version: the buildspec must start with 'version: 0.2'")
    raw = document["version"]
    version = format(raw, "g") if isinstance(raw, float) else str(raw).strip()
    if version not in VERSIONS:
        raise BuildspecError(f"invalid buildspec version {version}: CodeBuild runs buildspec versions 0.1 and "
                             f"0.2; write 'version: 0.2'")
    return version


def _env(spec: Buildspec, env) -> None:
    env = _mapping(env, "env")
    shell = env.get("shell")
    if shell is not None:
        if str(shell) not in SHELLS:
            raise BuildspecError(f"unsupported shell {shell!r} in env/shell: on Linux CodeBuild runs bash or "
                                 f"/bin/sh")
        spec.shell = SHELLS[str(shell)]
    for key, target in (("variables", spec.variables), ("parameter-store", spec.parameter_store),
                        ("secrets-manager", spec.secrets_manager)):
        for name, value in _mapping(env.get(key), f"env/{key}").items():
            target[str(name)] = _scalar(value, f"env/{key}/{name}")
    spec.exported_variables = _strings(env.get("exported-variables"), "env/exported-variables")
    if env.get("git-credential-helper") is not None:
        spec.notes.append("env/git-credential-helper is not needed on labcloud (its repositories need no "
                          "credentials); skipped")


def _phase(name: str, body) -> Phase:
    body = _mapping(body, f"phases/{name}")
    unknown = sorted(set(body) - set(_PHASE_KEYS))
    if unknown:
        raise BuildspecError(f"unknown keys {unknown} in phases/{name}: a phase has commands, finally, "
                             f"on-failure, runtime-versions and run-as")
    on_failure = str(body.get("on-failure") or "ABORT").upper()
    if on_failure not in ON_FAILURE:
        raise BuildspecError(f"unsupported on-failure {body['on-failure']!r} in phases/{name}: labcloud runs "
                             f"ABORT and CONTINUE")
    return Phase(name, _strings(body.get("commands"), f"phases/{name}/commands"),
                 _strings(body.get("finally"), f"phases/{name}/finally"), on_failure)


def _artifacts(body, where: str = "artifacts") -> ArtifactsSpec:
    body = _mapping(body, where)
    files = body.get("files")
    if isinstance(files, str):
        files = [files]
    files = _strings(files, f"{where}/files")
    if not files:
        raise BuildspecError(f"{where}/files is required: list the files to upload, e.g. '**/*'")
    base = body.get("base-directory")
    return ArtifactsSpec(files=files, base_directory=_scalar(base, f"{where}/base-directory") if base else None,
                         discard_paths=_flag(body.get("discard-paths"), f"{where}/discard-paths"),
                         exclude_paths=_strings(body.get("exclude-paths"), f"{where}/exclude-paths"),
                         name=_scalar(body["name"], f"{where}/name") if body.get("name") else None)


def parse(text: str) -> Buildspec:
    """The buildspec in `text`; BuildspecError says what is wrong with it."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BuildspecError(f"the buildspec is not valid YAML: {err}") from None
    if not isinstance(document, dict):
        raise BuildspecError("the buildspec must be a YAML mapping that starts with 'version: 0.2'")
    spec = Buildspec(version=_version(document))
    _env(spec, document.get("env"))
    phases = _mapping(document.get("phases"), "phases")
    unknown = sorted(str(p) for p in phases if p not in PHASE_NAMES)
    if unknown:
        raise BuildspecError(f"unknown phases {unknown}: the phases are {', '.join(PHASE_NAMES)}")
    for name in PHASE_NAMES:
        if name in phases:
            spec.phases[name] = _phase(name, phases[name])
            body = phases[name] or {}
            for key in ("runtime-versions", "run-as"):
                if body.get(key) is not None:
                    spec.notes.append(f"phases/{name}/{key} is skipped: builds run with the Python and the "
                                      f"user labcloud runs with")
    artifacts = _mapping(document.get("artifacts"), "artifacts")
    secondary = _mapping(artifacts.pop("secondary-artifacts", None), "artifacts/secondary-artifacts")
    if artifacts:
        spec.artifacts = _artifacts(artifacts)
    spec.secondary_artifacts = {str(name): _artifacts(body, f"artifacts/secondary-artifacts/{name}")
                                for name, body in secondary.items()}
    for key in _IGNORED_TOP:
        if document.get(key) is not None:
            spec.notes.append(f"{key} is skipped: labcloud does not run it")
    return spec
