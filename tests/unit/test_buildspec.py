"""The buildspec parser: what a build runs from buildspec.yml 0.1 and 0.2, and CodeBuild's YAML_FILE_ERRORs
for what it refuses."""

from __future__ import annotations

import textwrap

import pytest

from labcloud.services.codebuild.builds.buildspec import BuildspecError, is_inline, parse

FULL = """
version: 0.2
env:
  shell: /bin/sh
  variables:
    STAGE: staging
    RETRIES: 3
    DEBUG: yes
  parameter-store:
    TOKEN: /lab/token
  secrets-manager:
    PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password
  exported-variables:
    - MODEL_URI
phases:
  install:
    runtime-versions:
      python: 3.11
    commands:
      - pip install -r requirements.txt
  pre_build:
    on-failure: CONTINUE
    commands:
      - echo pre
  build:
    commands:
      - python run.py
      - |
        if [ -f out.txt ]; then
          echo found
        fi
    finally:
      - echo cleanup
  post_build:
    commands:
      - echo done
artifacts:
  files:
    - '**/*'
  base-directory: dist
  discard-paths: yes
  exclude-paths: ['**/*.tmp']
  name: model-$STAGE
  secondary-artifacts:
    Report:
      files: [report.json]
"""


def test_a_full_buildspec_is_read_into_its_phases_variables_and_artifacts():
    spec = parse(FULL)
    assert spec.version == "0.2" and spec.same_shell and spec.shell == "/bin/sh"
    assert spec.variables == {"STAGE": "staging", "RETRIES": "3", "DEBUG": "true"}
    assert spec.parameter_store == {"TOKEN": "/lab/token"}
    assert spec.secrets_manager["PASSWORD"].endswith("secret:db-AbCdEf:password")
    assert spec.exported_variables == ["MODEL_URI"]
    assert spec.phase("install").commands == ["pip install -r requirements.txt"]
    assert spec.phase("pre_build").on_failure == "CONTINUE" and spec.phase("build").on_failure == "ABORT"
    assert spec.phase("build").commands[1] == 'if [ -f out.txt ]; then\n  echo found\nfi\n'
    assert spec.phase("build").finally_commands == ["echo cleanup"]
    assert spec.artifacts.files == ["**/*"] and spec.artifacts.base_directory == "dist"
    assert spec.artifacts.discard_paths and spec.artifacts.exclude_paths == ["**/*.tmp"]
    assert spec.artifacts.name == "model-$STAGE"
    assert spec.secondary_artifacts["Report"].files == ["report.json"]
    assert any("runtime-versions" in note for note in spec.notes)  # skipped, and said so in the log


def test_missing_phases_run_nothing_and_version_0_1_runs_each_command_afresh():
    spec = parse("version: 0.1\nphases:\n  build:\n    commands: [make]\n")
    assert spec.version == "0.1" and not spec.same_shell and spec.shell == "bash"
    assert spec.phase("install").commands == [] and spec.phase("post_build").finally_commands == []
    assert spec.artifacts is None
    assert parse("version: '0.2'").version == "0.2"


@pytest.mark.parametrize("text, words", [
    ("version: 0.3\nphases: {}", "invalid buildspec version 0.3"),
    ("version: 1.0", "invalid buildspec version 1"),
    ("phases:\n  build:\n    commands: [make]", "missing version"),
    ("- just\n- a list", "must be a YAML mapping"),
    ("version: 0.2\nphases:\n  build:\n    commands: [make\n", "not valid YAML"),
    ("version: 0.2\nphases:\n  compile:\n    commands: [make]", "unknown phases ['compile']"),
    ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [make]", "unsupported on-failure"),
    ("version: 0.2\nphases:\n  build:\n    commands: make", "phases/build/commands must be a list"),
    ("version: 0.2\nphases:\n  build:\n    command: [make]", "unknown keys ['command'] in phases/build"),
    ("version: 0.2\nenv:\n  shell: zsh", "unsupported shell 'zsh'"),
    ("version: 0.2\nenv:\n  variables: [A, B]", "env/variables must be a mapping"),
    ("version: 0.2\nartifacts:\n  base-directory: dist", "artifacts/files is required"),
    ("version: 0.2\nartifacts:\n  files: ['*']\n  discard-paths: maybe", "must be yes or no"),
    ("version: 0.2\nartifacts:\n  secondary-artifacts:\n    Report: {}", "secondary-artifacts/Report/files is required"),
    ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b", "must be quoted"),
])
def test_a_buildspec_codebuild_refuses_says_what_is_wrong(text, words):
    with pytest.raises(BuildspecError) as err:
        parse(text)
    assert words in str(err.value)


def test_inline_buildspecs_are_told_from_file_names():
    assert is_inline(textwrap.dedent(FULL))
    assert is_inline("version: 0.2")
    assert not is_inline("buildspec.yml")
    assert not is_inline("config/buildspec-test.yml")
    assert not is_inline("arn:aws:s3:::bucket/buildspec.yml")
