"""A sagemaker.Session bound to labcloud.

The SageMaker SDK v2 is tuned for a remote cloud: its waiters sleep 5 s (jobs) or 30 s (endpoints)
before they first look, and its log tailing (`fit(logs=True)`, `transform(logs=True)`, processing jobs)
describes the job only every 30 s. A local cloud answers at once, so a session bound to labcloud asks every
POLL_SECONDS instead. It changes only how often the SDK asks, never what it asks.

Two ways in: `labcloud.session()` gives a LabSession, which always asks promptly; and, once
`labcloud.start()` has run in a process, `install()` makes every SDK v2 session that talks to labcloud do
the same (one the learner builds with `sagemaker.Session()`, the ones estimators, processors, predictors
and PipelineSession build for themselves), so AWS's own examples wait no longer than the labs. It patches
the waiting and log-tailing methods of `sagemaker.Session` and pipeline executions' `wait()`: each asks
whether its session's SageMaker endpoint is labcloud's, and leaves a session bound to AWS exactly as the
SDK made it. It also points the SDK's STS calls (it names AWS's STS host itself) at labcloud when this
process's AWS endpoint is labcloud's, so a plain `sagemaker.Session()` finds its account and default
bucket offline. LABCLOUD_PROMPT_WAITERS=0 turns the patching off (LabSession stays prompt).

One more thing the SDK does slowly: with a defaults config file (labcloud uses one to opt out of
telemetry, which would otherwise call an AWS host on every SDK call), it validates the JSON schema of
that config on every config lookup, about 0.1-0.4 s each and twenty lookups per `fit()`. Importing this
module remembers configs that passed validation, so each distinct config is validated once.
"""

from __future__ import annotations

import functools
import json
import os
import time

import boto3
import sagemaker
import sagemaker.utils
from sagemaker import session as sm_session
from sagemaker.utils import secondary_training_status_changed, secondary_training_status_message

from labcloud.client import prompt_waiters, tracebacks
from labcloud.client.embedded import start
from labcloud.client.environment import labcloud_urls
from labcloud.core.constants import DEFAULT_BUCKET, REGION

POLL_SECONDS = 0.1
_TERMINAL = ("Completed", "Failed", "Stopped")


def _validate_once(validate):
    valid: set[str] = set()

    @functools.wraps(validate)
    def wrapper(sagemaker_config=None):
        key = json.dumps(sagemaker_config, sort_keys=True, default=str)
        if key not in valid:
            validate(sagemaker_config)  # raises for an invalid config, every time
            valid.add(key)

    wrapper.labcloud_memoized = True
    return wrapper


if not getattr(sagemaker.utils.validate_sagemaker_config, "labcloud_memoized", False):
    sagemaker.utils.validate_sagemaker_config = _validate_once(sagemaker.utils.validate_sagemaker_config)


# The SDK's own methods, as it defined them (saved before install() replaces them on sagemaker.Session).
_SDK = {name: getattr(sagemaker.Session, name) for name in (
    "wait_for_job", "wait_for_processing_job", "wait_for_transform_job", "wait_for_tuning_job",
    "wait_for_auto_ml_job", "wait_for_compilation_job", "wait_for_endpoint", "logs_for_job",
    "logs_for_processing_job", "logs_for_transform_job")}
_SDK = {name: getattr(method, "labcloud_sdk_method", method) for name, method in _SDK.items()}


def _prompt_wait(name: str):
    def wait(session, job, poll=None, **kwargs):
        return _SDK[name](session, job, poll=POLL_SECONDS, **kwargs)
    return wait


def _tail_logs(kind: str):
    def logs(session, job_name, wait=False, poll=None, log_type="All", timeout=None):
        return _tail(session, kind, job_name, wait, POLL_SECONDS, timeout)
    return logs


# What a session bound to labcloud does instead of each SDK method.
_PROMPT = {name: _prompt_wait(name) for name in _SDK if name.startswith("wait_for_")}
_PROMPT.update({"logs_for_job": _tail_logs("Training"), "logs_for_processing_job": _tail_logs("Processing"),
                "logs_for_transform_job": _tail_logs("Transform")})


def bound_to_labcloud(session) -> bool:
    """Does this session's SageMaker client talk to a labcloud this process was pointed at?"""
    client = getattr(session, "sagemaker_client", None)
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
    return bool(endpoint) and endpoint.rstrip("/") in labcloud_urls()


def _patched(name: str):
    def method(self, *args, **kwargs):
        chosen = _PROMPT[name] if bound_to_labcloud(self) else _SDK[name]
        return chosen(self, *args, **kwargs)

    functools.update_wrapper(method, _SDK[name])
    method.labcloud_sdk_method = _SDK[name]
    return method


def _pipeline_wait(original):
    def wait(self, delay=30, max_attempts=60):
        if bound_to_labcloud(self.sagemaker_session):
            # The same patience in total, asked for far more often.
            return original(self, delay=POLL_SECONDS, max_attempts=int(delay * max_attempts / POLL_SECONDS) + 1)
        return original(self, delay=delay, max_attempts=max_attempts)

    functools.update_wrapper(wait, original)
    wait.labcloud_sdk_method = original
    return wait


def _sts_endpoint(original):
    def endpoint(region):
        default = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
        if default and default in labcloud_urls():
            return default  # this process's AWS is labcloud: so is its STS
        return original(region)

    functools.update_wrapper(endpoint, original)
    endpoint.labcloud_sdk_method = original
    return endpoint


def install() -> None:
    """Make every SDK v2 session bound to labcloud wait and tail logs promptly, and reach labcloud's STS
    (idempotent)."""
    from sagemaker.workflow.pipeline import _PipelineExecution

    # The SDK asks STS for the account (default_bucket(), ...) at an endpoint_url of its own, which
    # AWS_ENDPOINT_URL does not override: without this a plain Session() calls AWS and fails offline.
    if not hasattr(sm_session.sts_regional_endpoint, "labcloud_sdk_method"):
        sm_session.sts_regional_endpoint = _sts_endpoint(sm_session.sts_regional_endpoint)

    for name in _SDK:
        if not hasattr(getattr(sagemaker.Session, name), "labcloud_sdk_method"):
            setattr(sagemaker.Session, name, _patched(name))
    if not hasattr(_PipelineExecution.wait, "labcloud_sdk_method"):
        _PipelineExecution.wait = _pipeline_wait(_PipelineExecution.wait)


def uninstall() -> None:
    """Give sagemaker.Session back the SDK's own methods."""
    from sagemaker.workflow.pipeline import _PipelineExecution

    for name, method in _SDK.items():
        setattr(sagemaker.Session, name, method)
    sm_session.sts_regional_endpoint = getattr(sm_session.sts_regional_endpoint, "labcloud_sdk_method",
                                               sm_session.sts_regional_endpoint)
    _PipelineExecution.wait = getattr(_PipelineExecution.wait, "labcloud_sdk_method", _PipelineExecution.wait)


class LabSession(sagemaker.Session):
    """A session that always asks promptly, whether or not install() has run."""

    def wait_for_job(self, job, poll=POLL_SECONDS):
        return _PROMPT["wait_for_job"](self, job)

    def wait_for_processing_job(self, job, poll=POLL_SECONDS):
        return _PROMPT["wait_for_processing_job"](self, job)

    def wait_for_transform_job(self, job, poll=POLL_SECONDS):
        return _PROMPT["wait_for_transform_job"](self, job)

    def wait_for_endpoint(self, endpoint, poll=POLL_SECONDS, live_logging=False):
        return _PROMPT["wait_for_endpoint"](self, endpoint, live_logging=live_logging)

    def logs_for_job(self, job_name, wait=False, poll=POLL_SECONDS, log_type="All", timeout=None):
        """Print a training job's logs and status changes as the SDK does, describing it at every poll."""
        return _tail(self, "Training", job_name, wait, poll, timeout)

    def logs_for_processing_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return _tail(self, "Processing", job_name, wait, poll)

    def logs_for_transform_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return _tail(self, "Transform", job_name, wait, poll)


def _tail(session, kind: str, job_name: str, wait: bool, poll: float, timeout: float | None = None) -> dict:
    """Print a job's logs (and a training job's status changes) as the SDK does, describing it every `poll` s."""
    describe = getattr(session.sagemaker_client, f"describe_{kind.lower()}_job")
    name_key, status_key = f"{kind}JobName", f"{kind}JobStatus"
    training = kind == "Training"
    deadline = time.time() + timeout if timeout else None
    description = describe(**{name_key: job_name})
    if training:
        print(secondary_training_status_message(description, None), end="")
    instance_count, streams, positions, logs, group, dot, color_wrap = sm_session._logs_init(
        session.boto_session, description, job=kind)
    finished = not wait or description[status_key] in _TERMINAL
    while True:
        sm_session._flush_log_streams(streams, instance_count, logs, group, job_name, positions, dot,
                                      color_wrap)
        if finished:
            break
        if deadline and time.time() > deadline:
            print(f"Timeout Exceeded. {timeout} seconds elapsed.")
            break
        time.sleep(poll)
        latest = describe(**{name_key: job_name})
        if training and secondary_training_status_changed(latest, description):
            print()
            print(secondary_training_status_message(latest, description), end="")
        description = latest
        if description[status_key] in _TERMINAL:
            print()
            finished = True  # one more read: the last lines may reach the logs after the status
    if wait:
        sm_session._check_job_status(job_name, description, status_key)
        if dot:
            print()
        if training:
            _print_billing(description, instance_count)
    return description


def _print_billing(description: dict, instance_count: int) -> None:
    training = description.get("TrainingTimeInSeconds")
    billable = description.get("BillableTimeInSeconds")
    if training is not None:
        print("Training seconds:", training * instance_count)
    if billable is not None:
        print("Billable seconds:", billable * instance_count)
        if description.get("EnableManagedSpotTraining"):
            print("Managed Spot Training savings: {:.1f}%".format((1 - float(billable) / training) * 100))


def session(**kwargs) -> LabSession:
    """A LabSession on labcloud with the default bucket created. Starts labcloud if it is not running."""
    if "AWS_ENDPOINT_URL" not in os.environ:
        start()
    boto_session = kwargs.pop("boto_session", None) or boto3.Session(region_name=REGION)
    kwargs.setdefault("default_bucket", DEFAULT_BUCKET)
    lab_session = LabSession(boto_session=boto_session, **kwargs)
    lab_session.default_bucket()  # creates it if it does not exist
    return lab_session


tracebacks.keep_plain()  # the SDK's import installed rich's traceback hook: errors must show in notebooks
if prompt_waiters.armed():  # labcloud.start() ran before this module imported the SDK
    install()
