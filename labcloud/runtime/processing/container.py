"""The SageMaker processing container contract, as a local folder and a process environment.

A job's folder (`<work dir>/processing-jobs/<job>/`) is what the container sees as /opt/ml::

    processing/...                      every ProcessingInput's LocalPath (its S3 objects, key suffixes kept)
                                        and every ProcessingOutput's LocalPath (uploaded when the job ends)
    config/processingjobconfig.json     the job's request, as SageMaker writes it
    config/resourceconfig.json          current_host algo-1, hosts, instance type
    output/message                      written by the container: its first 1 KB is the ExitMessage

The command is `docker run --entrypoint`'s: the ContainerEntrypoint, then the ContainerArguments; a custom
image registered without an entrypoint runs its registered command with the arguments. The framework
images' Python is the server's: an entrypoint that starts with python/python3 runs sys.executable, and
`python`/`python3` on the PATH (for scripts such as the SDK's runproc.sh) are shims to it
(labcloud/runtime/shims.py).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from labcloud.client.environment import client_environment
from labcloud.runtime.images import ImageCommand
from labcloud.runtime.s3_transfer import download_prefix, join_key, split_s3_uri
from labcloud.runtime.training.container import (ContainerLayout, JobSetupError, download_manifest,
                                                 resource_config)
from labcloud.runtime.training.isolation import OPT_ML

PROCESSING_ROOT = f"{OPT_ML}/processing"
FALLBACK_NOTICE = ("labcloud: this machine cannot give the job a private /opt/ml (no mount namespaces); /opt/ml "
                   "paths in the job's command point at its folder {folder}, but literal /opt/ml paths inside "
                   "its scripts do not work here.")
EXIT_MESSAGE_CHARS = 1024  # ExitMessage holds the first 1 KB of output/message
_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")
_CONFIG_KEYS = ("ProcessingJobArn", "ProcessingJobName", "AppSpecification", "Environment", "NetworkConfig",
                "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources", "RoleArn",
                "StoppingCondition")


def valid_local_path(path: str) -> bool:
    """A LocalPath SageMaker accepts: absolute, below /opt/ml/processing/, without '..' parts."""
    return (path.startswith(PROCESSING_ROOT + "/") and path.rstrip("/") != PROCESSING_ROOT
            and ".." not in path.split("/"))


def host_path(layout: ContainerLayout, container_path: str) -> Path:
    """Where a path of the container's /opt/ml is in the job's folder."""
    relative = container_path[len(OPT_ML):].strip("/")
    return layout.path(*relative.split("/")) if relative else layout.host


def s3_inputs(job: dict) -> list[tuple[str, dict]]:
    """(InputName, S3Input) of the inputs labcloud downloads (an AppManaged input is the app's own)."""
    return [(i["InputName"], i["S3Input"]) for i in job.get("ProcessingInputs") or []
            if i.get("S3Input") and not i.get("AppManaged")]


def s3_outputs(job: dict) -> list[tuple[str, dict]]:
    outputs = (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    return [(o["OutputName"], o["S3Output"]) for o in outputs if o.get("S3Output") and not o.get("AppManaged")]


def make_folders(layout: ContainerLayout, job: dict) -> None:
    for parts in (("config",), ("output",)):
        layout.path(*parts).mkdir(parents=True, exist_ok=True)
    for _, spec in s3_inputs(job) + s3_outputs(job):
        host_path(layout, spec["LocalPath"]).mkdir(parents=True, exist_ok=True)


def write_config(layout: ContainerLayout, job: dict) -> None:
    config = {key: job[key] for key in _CONFIG_KEYS if key in job}
    instance_type = job["ProcessingResources"]["ClusterConfig"]["InstanceType"]
    files = {"processingjobconfig.json": config, "resourceconfig.json": resource_config(instance_type)}
    for name, content in files.items():
        layout.path("config", name).write_text(json.dumps(content, default=str))


def download_inputs(s3, layout: ContainerLayout, job: dict) -> None:
    """Every S3 input into its LocalPath, as File mode does."""
    for name, source in s3_inputs(job):
        dest = host_path(layout, source["LocalPath"])
        if source.get("S3DataType") == "ManifestFile":
            download_manifest(s3, source["S3Uri"], dest, name)
        elif download_prefix(s3, source["S3Uri"], dest) == 0:
            raise JobSetupError(
                f"ClientError: No S3 objects found under S3 URL \"{source['S3Uri']}\" given in the input "
                f"{name}. Upload the data there first, or fix ProcessingInputs[].S3Input.S3Uri.")


def upload_outputs(s3, layout: ContainerLayout, job: dict) -> int:
    """Every file under each output's LocalPath to its S3Uri, paths kept below it. Returns the count.

    Continuous outputs are uploaded here too, once, when the job ends: the files are the same, only later."""
    count = 0
    for name, output in s3_outputs(job):
        bucket, prefix = split_s3_uri(output["S3Uri"])
        folder = host_path(layout, output["LocalPath"])
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                s3.upload_file(str(path), bucket, join_key(prefix, path.relative_to(folder).as_posix()))
            except Exception as err:
                raise JobSetupError(f"ClientError: cannot upload the output {name} to {output['S3Uri']}: "
                                    f"{err}") from None
            count += 1
    return count


def command(layout: ContainerLayout, image: ImageCommand, app: dict) -> list[str]:
    """The container's argv, as the job sees its paths."""
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    if not entrypoint:
        if image.kind != "custom":
            raise JobSetupError(f"ClientError: the image {image.image} has no entrypoint labcloud can run: "
                                f"set AppSpecification.ContainerEntrypoint.")
        entrypoint = list(image.argv)
    if _PYTHON.match(os.path.basename(entrypoint[0])):
        entrypoint[0] = sys.executable  # the images' Python is the server's, with the course's packages
    argv = entrypoint + list(app.get("ContainerArguments") or [])
    if layout.seen != OPT_ML:  # no private /opt/ml: literal paths in the command point at the job folder
        argv = [str(host_path(layout, a)) if a == OPT_ML or a.startswith(OPT_ML + "/") else a for a in argv]
    return argv


def environment(job: dict, image: ImageCommand, endpoint_url: str, shims: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCLOUD_", "SM_"))}
    env.update(client_environment(endpoint_url))  # the container's boto3 and SDK reach labcloud
    env.pop("LABCLOUD_PORT", None)
    env["PATH"] = os.pathsep.join([str(shims), env.get("PATH") or os.defpath])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(image.env)
    env.update(job.get("Environment") or {})
    return env


def exit_message(layout: ContainerLayout) -> str | None:
    """The first 1 KB of what the container wrote to /opt/ml/output/message, or None."""
    path = layout.path("output", "message")
    if not path.is_file():
        return None
    limit = EXIT_MESSAGE_CHARS * 4  # enough bytes for 1024 characters of any UTF-8
    with open(path, "rb") as file:
        data = file.read(limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if len(data) < limit or err.reason != "unexpected end of data":
            raise JobSetupError("ClientError: /opt/ml/output/message is not UTF-8 encoded text; write the "
                                "exit message as UTF-8.") from None
        text = data[:err.start].decode("utf-8")  # the read ended inside a character
    return text[:EXIT_MESSAGE_CHARS]
