"""The workshop recipes (workshops/): the user image installs exactly the course's requirements, the
configuration files parse and say what the guide says, and each learner's server really gets its own
labcloud on its own port with its own state (start-labcloud, run here for two "learners")."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from traitlets.config import Config

from labcloud.platform.ports import free_port
from tests.support.processes import port_open
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
WORKSHOPS = REPO / "workshops"
START = WORKSHOPS / "start-labcloud.sh"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    text = (WORKSHOPS / "image" / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [tuple(line.strip().split(None, 1)) for line in joined.splitlines() if line.strip()]


def test_the_image_installs_exactly_the_course_requirements_on_the_tested_python():
    steps = dockerfile_instructions()
    assert steps[0] == ("FROM", "python:3.11-slim-bookworm")
    installs = [shlex.split(args) for kind, args in steps if kind == "RUN" and "pip install" in args]
    assert len(installs) == 1, "one pip install: the course's requirements and the hub's, resolved together"
    words = installs[0]
    files = [words[i + 1] for i, w in enumerate(words) if w == "-r"]
    assert files == ["requirements.txt", "workshops/image/hub-requirements.txt"]
    named = [w for w in words[words.index("install") + 1:] if not w.startswith("-") and w not in files]
    assert named == [], f"packages named outside the requirement files: {named}"
    # The files the install reads are copied in before it, from the repository's own copies.
    install_at = next(i for i, (kind, args) in enumerate(steps) if kind == "RUN" and "pip install" in args)
    copied = " ".join(args for kind, args in steps[:install_at] if kind == "COPY")
    for needed in ("requirements.txt", "pyproject.toml", "labcloud/", "workshops/image/hub-requirements.txt"):
        assert needed in copied
    assert ("WORKDIR", "/opt/course") in steps  # `-e .` in requirements.txt is this folder


def test_the_hub_requirements_add_only_the_hub_side_and_pin_nothing_of_the_course():
    from packaging.requirements import Requirement

    def names(path: Path) -> set[str]:
        return {Requirement(line).name.lower() for line in path.read_text().splitlines()
                if line.strip() and not line.startswith(("#", "-"))}

    hub = names(WORKSHOPS / "image" / "hub-requirements.txt")
    assert hub == {"jupyterhub", "nbgitpuller"}
    assert not hub & names(REPO / "requirements.txt")


def test_the_build_context_lets_in_what_the_dockerfile_copies():
    ignore = (WORKSHOPS / "image" / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    for kind, args in dockerfile_instructions():
        if kind == "COPY":
            for source in args.split()[:-1]:
                assert source in allowed or source.rstrip("/") + "/" in allowed, source
                assert (REPO / source).exists(), source


def test_the_zero_to_jupyterhub_config_has_what_a_workshop_needs():
    config = yaml.safe_load((WORKSHOPS / "zero-to-jupyterhub" / "config.yaml").read_text())
    user = config["singleuser"]
    assert user["cmd"] == "jupyterhub-singleuser"
    assert user["extraEnv"] == {"LABCLOUD_PORT": "4566", "LABCLOUD_STATE_DIR": "/home/jovyan/.labcloud"}
    assert user["cpu"]["limit"] >= 1 and user["memory"]["limit"].endswith("G")
    assert config["cull"]["enabled"] is True and config["cull"]["timeout"] > 0
    assert config["prePuller"]["hook"]["enabled"] and config["prePuller"]["continuous"]["enabled"]
    assert config["scheduling"]["userPlaceholder"]["enabled"] and config["scheduling"]["userPlaceholder"]["replicas"] > 0
    assert user["networkPolicy"]["egressAllowRules"]["privateIPs"] is False


def test_the_tljh_config_starts_every_server_through_start_labcloud():
    config = Config()
    namespace = {"get_config": lambda: config}
    exec(compile((WORKSHOPS / "tljh" / "labcloud.py").read_text(), "labcloud.py", "exec"), namespace)
    assert config.Spawner.cmd == ["/opt/tljh/user/bin/start-labcloud", "jupyterhub-singleuser"]
    # A merge into TLJH's own environment, not a replacement of it.
    assert config.Spawner.environment.get_value({"TLJH": "1"}) == {"TLJH": "1", "LABCLOUD_PORT_BASE": "20000"}


def test_the_setup_scripts_are_valid_shell():
    for script in (START, WORKSHOPS / "tljh" / "setup.sh"):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)
    subprocess.run(["sh", "-n", str(START)], check=True)  # start-labcloud is POSIX sh (dash on Debian)


def test_the_nbgitpuller_link_opens_the_labs_of_the_clone():
    sys.path.insert(0, str(WORKSHOPS))
    try:
        from nbgitpuller_link import link
    finally:
        sys.path.remove(str(WORKSHOPS))
    made = urlparse(link("https://hub.example.org/", "https://github.com/org/course.git"))
    assert made.path == "/hub/user-redirect/git-pull"
    assert parse_qs(made.query) == {"repo": ["https://github.com/org/course.git"], "branch": ["main"],
                                    "urlpath": ["lab/tree/course/labs"]}


# A learner's "server": what a notebook does first (labcloud.start(), then AWS calls), as the learner.
LEARNER = textwrap.dedent("""
    import json, os, sys
    import boto3, labcloud
    url = labcloud.start(quiet=True)
    s3 = boto3.client("s3")
    if len(sys.argv) > 1:
        s3.create_bucket(Bucket=sys.argv[1])
    print(json.dumps({"url": url, "port": os.environ["LABCLOUD_PORT"],
                      "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"])}))
""")


def learner_env(home: Path, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCLOUD_", "AWS_"))}
    env.update(HOME=str(home), PATH=os.path.dirname(sys.executable) + os.pathsep + env["PATH"], **settings)
    return env


def run_learner(home: Path, *args: str, **settings) -> dict:
    home.mkdir(exist_ok=True)
    result = subprocess.run([str(START), sys.executable, "-c", LEARNER, *args], env=learner_env(home, **settings),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_learners_get_their_own_labcloud_on_their_own_port_with_their_own_state(tmp_path):
    alice_port, bob_port = free_port(), free_port()
    alice = run_learner(tmp_path / "alice", "alice-bucket", LABCLOUD_PORT=str(alice_port))
    bob = run_learner(tmp_path / "bob", "bob-bucket", LABCLOUD_PORT=str(bob_port))
    assert alice["url"] == f"http://127.0.0.1:{alice_port}" and bob["url"] == f"http://127.0.0.1:{bob_port}"
    assert "alice-bucket" in alice["buckets"] and "bob-bucket" not in alice["buckets"]
    assert "bob-bucket" in bob["buckets"] and "alice-bucket" not in bob["buckets"]
    for home in ("alice", "bob"):
        state = tmp_path / home / ".labcloud"
        assert (state / "moto-journal.bin").is_file() and oct(state.stat().st_mode & 0o777) == "0o700"
    assert not port_open(alice_port) and not port_open(bob_port)  # each labcloud stopped with its server
    # The next session finds what the learner made: the state is in the learner's home.
    again = run_learner(tmp_path / "alice", LABCLOUD_PORT=str(alice_port))
    assert again["buckets"] == alice["buckets"]


def test_the_port_comes_from_the_uid_when_a_base_is_set(tmp_path):
    port = free_port()
    if port - os.getuid() < 1024:
        pytest.skip("this uid is too large for the free port found")
    answer = run_learner(tmp_path / "carol", LABCLOUD_PORT_BASE=str(port - os.getuid()))
    assert answer["port"] == str(port) and answer["url"] == f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("when", ["while labcloud starts", "while the server runs"])
def test_a_stop_reaches_the_server_and_labcloud(tmp_path, when):
    port = free_port()
    home = tmp_path / "dave"
    home.mkdir()
    running = tmp_path / "server-running"
    server_code = f"import pathlib, time; pathlib.Path({str(running)!r}).touch(); time.sleep(120)"
    server = subprocess.Popen([str(START), sys.executable, "-c", server_code],
                              env=learner_env(home, LABCLOUD_PORT=str(port)), start_new_session=True)
    try:
        if when == "while labcloud starts":
            wait_until(lambda: port_open(port), "the learner's labcloud to listen", timeout=60)
        else:
            wait_until(running.exists, "the learner's server", timeout=60)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) != 0
        wait_until(lambda: not port_open(port), "labcloud to stop", timeout=30)
        assert when == "while the server runs" or not running.exists()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_every_workshops_file_the_recipes_and_the_page_name_exists():
    texts = [WORKSHOPS / "tljh" / "setup.sh", WORKSHOPS / "image" / "Dockerfile",
             WORKSHOPS / "zero-to-jupyterhub" / "config.yaml", REPO / "chapters" / "instructors-jupyterhub.md",
             REPO / "chapters" / "instructor-guide.md"]
    named = {m.rstrip(".,:;)`") for path in texts for m in re.findall(r"workshops/[\w./-]+", path.read_text())}
    assert named
    missing = sorted(n for n in named if not (REPO / n).exists())
    assert missing == []
