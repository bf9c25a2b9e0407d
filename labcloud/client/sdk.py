"""A sagemaker.Session bound to labcloud.

The SageMaker SDK v2 is tuned for a remote cloud: its waiters sleep 5 s (jobs) or 30 s (endpoints)
before they first look, and its log tailing (`fit(logs=True)`, `transform(logs=True)`, processing jobs)
describes the job only every 30 s. A local cloud answers at once, so LabSession asks every
POLL_SECONDS instead. It changes only how often the SDK asks, never what it asks: lab code is the code
a learner would run on AWS, with `labcloud.session()` where AWS code has `sagemaker.Session()`.

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

from labcloud.client.embedded import start
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


class LabSession(sagemaker.Session):
    def wait_for_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_job(job, poll=poll)

    def wait_for_processing_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_processing_job(job, poll=poll)

    def wait_for_transform_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_transform_job(job, poll=poll)

    def wait_for_endpoint(self, endpoint, poll=POLL_SECONDS, live_logging=False):
        return super().wait_for_endpoint(endpoint, poll=poll, live_logging=live_logging)

    def logs_for_job(self, job_name, wait=False, poll=POLL_SECONDS, log_type="All", timeout=None):
        """Print a training job's logs and status changes as the SDK does, describing it at every poll."""
        return self._tail("Training", job_name, wait, poll, timeout)

    def logs_for_processing_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return self._tail("Processing", job_name, wait, poll)

    def logs_for_transform_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return self._tail("Transform", job_name, wait, poll)

    def _tail(self, kind: str, job_name: str, wait: bool, poll: float, timeout: float | None = None) -> dict:
        describe = getattr(self.sagemaker_client, f"describe_{kind.lower()}_job")
        name_key, status_key = f"{kind}JobName", f"{kind}JobStatus"
        training = kind == "Training"
        deadline = time.time() + timeout if timeout else None
        description = describe(**{name_key: job_name})
        if training:
            print(secondary_training_status_message(description, None), end="")
        instance_count, streams, positions, logs, group, dot, color_wrap = sm_session._logs_init(
            self.boto_session, description, job=kind)
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
