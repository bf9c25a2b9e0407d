"""How a buildspec's commands run: one shell's state across commands in 0.2 (cd, variables, unset), each
command's own exit status (exit 0 ends only that command), and a fresh start for every command in 0.1."""

from __future__ import annotations

import os

import pytest

from labcloud.services.codebuild.builds.shell import Shell


def run(shell: Shell, command: str) -> tuple[int, str]:
    process = shell.start(command)
    output = process.stdout.read().decode()
    status = process.wait()
    shell.finish()
    return status, output


@pytest.fixture
def src(tmp_path):
    (tmp_path / "src").mkdir()
    return tmp_path / "src"


@pytest.mark.parametrize("program", ["bash", "/bin/sh"])
def test_in_0_2_commands_share_the_shell_state(tmp_path, src, program):
    shell = Shell(tmp_path / "shell", program, {"PATH": os.environ["PATH"], "KEEP": "1", "DROP": "1"}, src)
    assert run(shell, "mkdir -p out && cd out") == (0, "")
    assert run(shell, "PLAIN=one; export EXPORTED=two; unset DROP") == (0, "")
    assert run(shell, "exit 0") == (0, "")  # ends this command only
    status, output = run(shell, 'echo "$PLAIN $EXPORTED ${DROP-unset} $KEEP $(basename $(pwd))"')
    assert (status, output) == (0, "one two unset 1 out\n")
    assert run(shell, "sh -c 'echo $PLAIN'") == (0, "one\n")  # what a command sets, its children see
    assert shell.env["EXPORTED"] == "two" and "DROP" not in shell.env and shell.cwd == src / "out"


def test_each_command_has_its_exit_status_and_a_broken_one_keeps_the_state(tmp_path, src):
    shell = Shell(tmp_path / "shell", "bash", {"PATH": os.environ["PATH"]}, src)
    run(shell, "export A=1")
    assert run(shell, "python3 -c 'raise SystemExit(3)'")[0] == 3
    status, output = run(shell, "echo 'unterminated")
    assert status == 2 and "unexpected EOF" in output
    assert run(shell, "exec echo replaced") == (0, "replaced\n")  # no state written: the last one holds
    assert run(shell, "if [ \"$A\" = 1 ]; then\n  echo multi-line\nfi") == (0, "multi-line\n")


def test_in_0_1_every_command_starts_afresh(tmp_path, src):
    shell = Shell(tmp_path / "shell", "bash", {"PATH": os.environ["PATH"]}, src, same_shell=False)
    run(shell, "export A=1; mkdir sub; cd sub")
    assert run(shell, 'echo "${A-unset} $(pwd)"') == (0, f"unset {src}\n")


def test_variables_set_by_codebuild_hold_for_the_next_command(tmp_path, src):
    shell = Shell(tmp_path / "shell", "bash", {"PATH": os.environ["PATH"], "CODEBUILD_BUILD_SUCCEEDING": "1"}, src)
    run(shell, "true")
    shell.set("CODEBUILD_BUILD_SUCCEEDING", "0")
    assert run(shell, "echo $CODEBUILD_BUILD_SUCCEEDING") == (0, "0\n")
