"""`labcloud kubeconfig`: a file of its own, or a context merged into the learner's kubeconfig without
disturbing the clusters already there."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from labcloud.client import kubeconfig
from tests.support.kubectl import kubectl_path

WORK = {"apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "work", "cluster": {"server": "https://eks.example:443"}}],
        "users": [{"name": "work", "user": {"token": "work-token"}}],
        "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}]}


def labcloud_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labcloud", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_file_is_a_kubeconfig_of_its_own_whose_context_is_labcloud(tmp_path):
    done = labcloud_cli("kubeconfig", "--file", str(tmp_path / "kc"), "--port", "4999", "--namespace", "lab",
                        env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kc").stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load((tmp_path / "kc").read_text())
    assert config["current-context"] == "labcloud"
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:4999/k8s"
    assert config["contexts"][0]["context"]["namespace"] == "lab"
    shown = subprocess.run([kubectl_path(), "--kubeconfig", str(tmp_path / "kc"), "config", "view", "--minify",
                            "-o", "jsonpath={.clusters[0].cluster.server}"], capture_output=True, text=True, timeout=30)
    assert shown.stdout == "https://127.0.0.1:4999/k8s", shown.stderr


def test_merge_adds_labcloud_beside_the_work_cluster_and_keeps_it_current(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(WORK))
    env = {**os.environ, "KUBECONFIG": str(path)}
    for _ in range(2):  # a second run replaces labcloud's entries, it does not add more
        done = labcloud_cli("kubeconfig", "--port", "4999", env=env)
        assert done.returncode == 0, done.stderr
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "work"
    assert [c["name"] for c in config["contexts"]] == ["work", "labcloud"]
    assert config["users"][0] == WORK["users"][0]
    contexts = subprocess.run([kubectl_path(), "config", "get-contexts", "-o", "name"], capture_output=True,
                              text=True, timeout=30, env=env).stdout.split()
    assert sorted(contexts) == ["labcloud", "work"]


def test_merge_into_no_file_makes_labcloud_current(tmp_path):
    path = kubeconfig.merge(tmp_path / "new" / "config", "http://127.0.0.1:4566")
    assert yaml.safe_load(path.read_text())["current-context"] == "labcloud"


def test_a_kubeconfig_that_is_not_yaml_is_left_alone_with_a_clear_error(tmp_path):
    path = tmp_path / "config"
    path.write_text("clusters: [unclosed\n")
    done = labcloud_cli("kubeconfig", env={**os.environ, "KUBECONFIG": str(path)})
    assert done.returncode == 1
    assert "is not a kubeconfig labcloud can read" in done.stderr and "--file" in done.stderr
    assert path.read_text() == "clusters: [unclosed\n"
