"""The SageMaker training container contract, as a local folder and a process environment.

A job's folder (under `<work dir>/training-jobs/<job>/`) holds what SageMaker puts in /opt/ml::

    input/config/hyperparameters.json   the HyperParameters map, every value a string, as AWS writes it
    input/config/inputdataconfig.json   one entry per channel
    input/config/resourceconfig.json    current_host algo-1, hosts, instance type
    input/data/<channel>/               File mode: the channel's S3 objects, key suffixes kept
    code/                               script mode: sourcedir.tar.gz from sagemaker_submit_directory
    model/        -> <S3OutputPath>/<job>/output/model.tar.gz
    output/data/  -> <S3OutputPath>/<job>/output/output.tar.gz
    output/failure                      written by a failing algorithm: its text is the FailureReason
    checkpoints/                        CheckpointConfig.LocalPath (default /opt/ml/checkpoints)

Script mode (the framework images) runs `python <sagemaker_program> --<name> <value> ...` in the code
folder, as the sagemaker-training toolkit does, with its SM_* variables; a custom image's registered
command runs with `train` as its last argument, as `docker run <image> train` would.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from labcloud.client.environment import client_environment
from labcloud.runtime.images import ImageCommand
from labcloud.runtime.s3_transfer import (DownloadError, download_archive, download_prefix, join_key, local_target,
                                          split_s3_uri)

CURRENT_HOST = "algo-1"
# Hyperparameters the SDK adds for the framework containers; they are not passed to the script.
_SDK_PREFIX = "sagemaker_"


class JobSetupError(Exception):
    """The container cannot start: becomes the job's FailureReason (already in AWS's wording)."""


@dataclass
class ContainerLayout:
    """Where the job's /opt/ml is on this machine (`host`) and the path the job sees (`seen`)."""

    host: Path
    seen: str  # "/opt/ml" with a private mount, else str(host)

    def path(self, *parts: str) -> Path:
        return self.host.joinpath(*parts)

    def seen_path(self, *parts: str) -> str:
        return "/".join([self.seen.rstrip("/"), *parts])


def _decode(value: str):
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _arg(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@dataclass
class ScriptMode:
    program: str
    submit_directory: str | None
    user_hyperparameters: dict = field(default_factory=dict)
    log_level: int = 20

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict[str, str]) -> "ScriptMode | None":
        decoded = {k: _decode(v) for k, v in (hyperparameters or {}).items()}
        program = decoded.get("sagemaker_program")
        if not program:
            return None
        user = {k: v for k, v in decoded.items() if not k.startswith(_SDK_PREFIX)}
        level = decoded.get("sagemaker_container_log_level", 20)
        return cls(str(program), decoded.get("sagemaker_submit_directory"), user,
                   int(level) if str(level).isdigit() else 20)

    def user_args(self) -> list[str]:
        args = []
        for name, value in self.user_hyperparameters.items():
            args += [f"--{name}", _arg(value)]
        return args


def make_folders(layout: ContainerLayout, channels: list[str], checkpoint_dir: Path | None) -> None:
    for parts in (("input", "config"), ("model",), ("output", "data"), ("output", "intermediate"), ("code",)):
        layout.path(*parts).mkdir(parents=True, exist_ok=True)
    for channel in channels:
        layout.path("input", "data", channel).mkdir(parents=True, exist_ok=True)
    if checkpoint_dir is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)


def resource_config(instance_type: str) -> dict:
    return {"current_host": CURRENT_HOST, "current_instance_type": instance_type,
            "current_group_name": "homogeneousCluster", "hosts": [CURRENT_HOST],
            "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": instance_type,
                                 "hosts": [CURRENT_HOST]}],
            "network_interface_name": "eth0"}


def input_data_config(job: dict) -> dict:
    config = {}
    for channel in job.get("InputDataConfig") or []:
        entry = {"TrainingInputMode": channel.get("InputMode") or job["AlgorithmSpecification"].get(
            "TrainingInputMode", "File"),
            "S3DistributionType": channel.get("DataSource", {}).get("S3DataSource", {}).get(
                "S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None")}
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def write_config(layout: ContainerLayout, job: dict) -> None:
    config = layout.path("input", "config")
    files = {"hyperparameters.json": job.get("HyperParameters") or {},
             "inputdataconfig.json": input_data_config(job),
             "resourceconfig.json": resource_config(job["ResourceConfig"]["InstanceType"])}
    for name, content in files.items():
        (config / name).write_text(json.dumps(content))


def download_channels(s3, layout: ContainerLayout, job: dict) -> None:
    for channel in job.get("InputDataConfig") or []:
        source = channel.get("DataSource", {}).get("S3DataSource")
        name = channel["ChannelName"]
        if source is None:
            raise JobSetupError(f"ClientError: channel {name}: labcloud reads channels from S3 only "
                                 f"(S3DataSource).")
        dest = layout.path("input", "data", name)
        if source.get("S3DataType", "S3Prefix") == "ManifestFile":
            download_manifest(s3, source["S3Uri"], dest, name)
        elif source.get("S3DataType") == "AugmentedManifestFile":
            raise JobSetupError(f"ClientError: channel {name}: labcloud does not support AugmentedManifestFile.")
        else:
            if download_prefix(s3, source["S3Uri"], dest) == 0:
                raise JobSetupError(
                    f"ClientError: No S3 objects found under S3 URL \"{source['S3Uri']}\" given in input data "
                    f"source. Please ensure that the bucket exists in the selected region (us-east-1), that "
                    f"objects exist under that S3 prefix, and that the role has s3:ListBucket permissions.")


def download_manifest(s3, uri: str, dest: Path, name: str) -> None:
    bucket, key = split_s3_uri(uri)
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as err:
        raise JobSetupError(f"ClientError: channel {name}: cannot read manifest {uri}: {err}") from None
    prefix = manifest[0].get("prefix", "") if manifest and isinstance(manifest[0], dict) else ""
    for relative in manifest[1:]:
        m_bucket, m_key = split_s3_uri(prefix.rstrip("/") + "/" + relative)
        target = local_target(dest, relative, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(m_bucket, m_key, str(target))


def download_code(s3, layout: ContainerLayout, script: ScriptMode) -> None:
    if not script.submit_directory:
        return  # the program is expected in the code folder already
    uri = str(script.submit_directory)
    if not uri.startswith("s3://"):
        raise JobSetupError(f"ClientError: sagemaker_submit_directory must be an S3 URI, got {uri}")
    try:
        download_archive(s3, uri, layout.path("code"))
    except DownloadError as err:
        raise JobSetupError(f"ClientError: cannot download the training code {uri}: {err}") from None
    except tarfile.TarError:
        raise JobSetupError(f"ClientError: the training code {uri} is not a gzip-compressed tar archive "
                             f"(sourcedir.tar.gz).") from None


def environment(layout: ContainerLayout, job: dict, image: ImageCommand, script: ScriptMode | None,
                endpoint_url: str) -> dict[str, str]:
    channels = [c["ChannelName"] for c in job.get("InputDataConfig") or []]
    instance_type = job["ResourceConfig"]["InstanceType"]
    hyperparameters = script.user_hyperparameters if script else {
        k: _decode(v) for k, v in (job.get("HyperParameters") or {}).items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCLOUD_", "SM_"))}
    env.update(client_environment(endpoint_url))
    env.pop("LABCLOUD_PORT", None)
    env.update({
        "PYTHONUNBUFFERED": "1",
        "TRAINING_JOB_NAME": job["TrainingJobName"],
        "TRAINING_JOB_ARN": job["TrainingJobArn"],
        "SM_MODEL_DIR": layout.seen_path("model"),
        "SM_INPUT_DIR": layout.seen_path("input"),
        "SM_INPUT_CONFIG_DIR": layout.seen_path("input", "config"),
        "SM_OUTPUT_DIR": layout.seen_path("output"),
        "SM_OUTPUT_DATA_DIR": layout.seen_path("output", "data"),
        "SM_OUTPUT_INTERMEDIATE_DIR": layout.seen_path("output", "intermediate"),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_CURRENT_HOST": CURRENT_HOST,
        "SM_CURRENT_INSTANCE_TYPE": instance_type,
        "SM_HOSTS": json.dumps([CURRENT_HOST]),
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0",
        "SM_RESOURCE_CONFIG": json.dumps(resource_config(instance_type)),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_data_config(job)),
        "SM_FRAMEWORK_PARAMS": "{}",
    })
    for channel in channels:
        env[f"SM_CHANNEL_{channel.upper()}"] = layout.seen_path("input", "data", channel)
    for name, value in hyperparameters.items():
        env[f"SM_HP_{name.upper()}"] = _arg(value) if isinstance(value, str) else json.dumps(value)
    if script is not None:
        module = script.program[:-3] if script.program.endswith(".py") else script.program
        env.update({
            "SM_USER_ENTRY_POINT": script.program,
            "SM_MODULE_NAME": module,
            "SM_MODULE_DIR": str(script.submit_directory or ""),
            "SM_LOG_LEVEL": str(script.log_level),
            "SM_USER_ARGS": json.dumps(script.user_args()),
            "PYTHONPATH": os.pathsep.join(filter(None, [layout.seen_path("code"), env.get("PYTHONPATH")])),
        })
        training_env = {key[3:].lower(): _maybe_json(value) for key, value in env.items()
                        if key.startswith("SM_") and not key.startswith(("SM_HP_", "SM_CHANNEL_"))}
        training_env.update({"job_name": job["TrainingJobName"], "hyperparameters": hyperparameters,
                             "channel_input_dirs": {c: env[f"SM_CHANNEL_{c.upper()}"] for c in channels}})
        env["SM_TRAINING_ENV"] = json.dumps(training_env)
    env.update(image.env)
    env.update(job.get("Environment") or {})
    return env


def _maybe_json(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def command(layout: ContainerLayout, image: ImageCommand, script: ScriptMode | None) -> tuple[list[str], str]:
    """(argv, working directory as the job sees it)."""
    if script is None:
        return image.argv + ["train"], layout.seen
    program = script.program
    if program.endswith(".py"):
        argv = [sys.executable, program]
    elif program.endswith(".sh"):
        argv = ["/bin/sh", program]
    else:
        argv = [f"./{program}"]
    if not layout.path("code", program).is_file():
        raise JobSetupError(f"AlgorithmError: ExecuteUserScriptError: the entry point {program} is not in "
                             f"the source directory {script.submit_directory}")
    return argv + script.user_args(), layout.seen_path("code")


def _tar_folder(folder: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)


def upload_artifacts(s3, layout: ContainerLayout, job: dict) -> str:
    """model.tar.gz and output.tar.gz to <S3OutputPath>/<job>/output/; returns the model's S3 URI."""
    bucket, prefix = split_s3_uri(job["OutputDataConfig"]["S3OutputPath"])
    base = join_key(prefix, job["TrainingJobName"], "output")
    for folder, name in ((layout.path("model"), "model.tar.gz"), (layout.path("output", "data"), "output.tar.gz")):
        archive = layout.path(name)
        folder.mkdir(parents=True, exist_ok=True)
        _tar_folder(folder, archive)
        s3.upload_file(str(archive), bucket, join_key(base, name))
        archive.unlink()
    return f"s3://{bucket}/{join_key(base, 'model.tar.gz')}"
