"""`labcloud doctor`: what it finds on this machine, and what it says when something is missing. Problems
are simulated (a requirements file naming what is not installed, a port held by another program, stand-ins
for the kernel, bwrap, the disk), never made by breaking the machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import namedtuple

import pytest

from labcloud.cli import doctor
from labcloud.platform.ports import free_port
from tests.support.processes import descendants

EVERY_CHECK = ["python", "packages", "kernel", "port", "proxy", "disk", "git", "kubectl", "chromium", "namespaces",
               "bubblewrap", "smoke test"]


def run_doctor(*args: str, env: dict | None = None) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, "-m", "labcloud", "doctor", "--json", *args],
                            capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    return result.returncode, json.loads(result.stdout)


def by_name(answer: dict) -> dict:
    return {check["name"]: check for check in answer["checks"]}


def test_this_machine_passes_and_the_smoke_test_trains_and_serves():
    before = set(descendants(os.getpid()))
    code, answer = run_doctor(env={"LABCLOUD_PORT": str(free_port())})
    checks = by_name(answer)
    assert list(checks) == EVERY_CHECK
    assert code == 0 and answer["ok"] is True, answer
    assert checks["smoke test"]["status"] == "ok"
    assert "training job" in checks["smoke test"]["detail"] and "endpoint" in checks["smoke test"]["detail"]
    assert all(c["status"] != "fail" for c in answer["checks"])
    assert set(descendants(os.getpid())) <= before  # the in-memory labcloud and its model server are gone


def test_a_missing_package_and_a_wrong_version_are_reported_with_the_install_command(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the course\nnot-a-course-package-anywhere>=1\npytest>=999\n-e .\n")
    code, answer = run_doctor("--no-smoke", "--requirements", str(requirements))
    packages = by_name(answer)["packages"]
    assert code == 1 and answer["ok"] is False
    assert packages["status"] == "fail" and packages["required"] is True
    assert "not-a-course-package-anywhere is not installed" in packages["detail"]
    assert "pytest" in packages["detail"] and ">=999" in packages["detail"]
    assert packages["fix"] == f"{sys.executable} -m pip install -r {requirements}"


def test_a_port_held_by_another_program_is_reported_with_a_way_out():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        code, answer = run_doctor("--no-smoke", env={"LABCLOUD_PORT": str(port)})
    check = by_name(answer)["port"]
    assert code == 1 and check["status"] == "fail"
    assert f"127.0.0.1:{port}" in check["detail"]
    assert f"ss -ltnp 'sport = :{port}'" in check["fix"] and f"export LABCLOUD_PORT={port + 1}" in check["fix"]


def test_a_proxy_that_does_not_exempt_loopback_fails_with_the_no_proxy_line():
    proxy = {"HTTPS_PROXY": "http://proxy.example:3128"}
    check = doctor.check_proxy(proxy)
    assert check.status == "fail" and "HTTPS_PROXY" in check.detail
    assert check.fix.startswith("export NO_PROXY=127.0.0.1,localhost")
    assert doctor.check_proxy({**proxy, "NO_PROXY": "127.0.0.1,localhost"}).status == "ok"
    assert doctor.check_proxy({}).status == "ok"


def test_a_labcloud_already_on_the_port_is_fine(labcloud_server):
    check = doctor.check_port(labcloud_server.port)
    assert check.status == "ok" and "a labcloud answers" in check.detail


def test_no_python3_kernel_fails_with_the_ipykernel_command(monkeypatch):
    monkeypatch.setattr(doctor, "_kernel_spec", lambda name: None)
    check = doctor.check_kernel()
    assert check.status == "fail" and check.required
    assert check.fix == f"{sys.executable} -m ipykernel install --sys-prefix --name python3"


def test_a_kernel_of_another_python_is_a_warning(monkeypatch, tmp_path):
    other = tmp_path / "python"
    other.write_text("")
    spec = namedtuple("Spec", "argv resource_dir")([str(other), "-m", "ipykernel_launcher"], str(tmp_path))
    monkeypatch.setattr(doctor, "_kernel_spec", lambda name: spec)
    check = doctor.check_kernel()
    assert check.status == "warn" and "not this environment's Python" in check.detail


@pytest.mark.parametrize("version, status", [((3, 9, 18), "fail"), ((3, 12, 1), "warn"), ((3, 11, 7), "ok")])
def test_python_versions(version, status):
    check = doctor.check_python(version)
    assert check.status == status
    if status != "ok":
        assert "python3.11 -m venv .venv" in check.fix


def test_bubblewrap_is_required_only_for_grading(monkeypatch):
    real_which = doctor.shutil.which
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    learner = doctor.check_bubblewrap(required=False)
    instructor = doctor.check_bubblewrap(required=True)
    assert learner.status == "warn" and not learner.required
    assert instructor.status == "fail" and instructor.required
    assert instructor.fix.startswith("sudo apt-get install bubblewrap")
    assert doctor.failed([instructor]) and not doctor.failed([learner])


def test_a_bwrap_that_cannot_make_a_sandbox_names_the_namespace_switch(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/usr/bin/" + name)
    refused = subprocess.CompletedProcess([], 1, "", "bwrap: setting up uid map: Permission denied\n")
    monkeypatch.setattr(doctor, "_run", lambda argv, timeout=15.0: refused)
    check = doctor.check_bubblewrap(required=True)
    assert check.status == "fail" and "Permission denied" in check.detail
    assert check.fix  # a sysctl or the container option, whichever this kernel has


def test_a_nearly_full_disk_fails_and_points_at_the_state_setting(monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage(100e9, 99.6e9, 0.4e9))
    check = doctor.check_disk()
    assert check.status == "fail" and "0.4 GB free" in check.detail
    assert "LABCLOUD_STATE_DIR" in check.fix


def test_a_missing_git_fails_and_optional_tools_only_warn(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    git, chromium = doctor.check_git(), doctor.check_chromium()
    assert git.status == "fail" and git.fix.startswith("sudo apt-get install git")
    assert chromium.status == "warn" and not chromium.required and "apt-get install chromium" in chromium.fix


def test_the_text_report_shows_each_fix_under_its_failure():
    findings = [doctor.Finding("git", "fail", "`git` is not installed", "sudo apt-get install git"),
                doctor.Finding("python", "ok", "Python 3.11.7")]
    text = doctor.report(findings)
    assert "[FAIL] git: `git` is not installed\n       fix: sudo apt-get install git" in text
    assert text.endswith("then labcloud doctor again.")
