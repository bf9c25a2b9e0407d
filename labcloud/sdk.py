"""A sagemaker.Session bound to labcloud.

The SageMaker SDK v2 is tuned for a remote cloud: its waiters sleep 5 s (jobs), 10 s (log tailing) or
30 s (endpoints) before they first look, and `fit(logs=True)` describes the job only every 30 s. A
local cloud answers at once, so LabSession polls every POLL_SECONDS instead. It changes only how often
the SDK asks, never what it asks: lab code is the code a learner would run on AWS.
"""

from __future__ import annotations

import os
import time

import boto3
import sagemaker
from sagemaker import session as sm_session
from sagemaker.utils import secondary_training_status_changed, secondary_training_status_message

from labcloud.arns import DEFAULT_ACCOUNT_ID
from labcloud.environment import REGION

POLL_SECONDS = 0.1
DEFAULT_BUCKET = f"sagemaker-{REGION}-{DEFAULT_ACCOUNT_ID}"
_TERMINAL = ("Completed", "Failed", "Stopped")


class LabSession(sagemaker.Session):
    def wait_for_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_job(job, poll=poll)

    def wait_for_processing_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_processing_job(job, poll=poll)

    def wait_for_transform_job(self, job, poll=POLL_SECONDS):
        return super().wait_for_transform_job(job, poll=poll)

    def wait_for_endpoint(self, endpoint, poll=POLL_SECONDS, live_logging=False):
        return super().wait_for_endpoint(endpoint, poll=poll, live_logging=live_logging)

    def logs_for_processing_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return super().logs_for_processing_job(job_name, wait=wait, poll=poll)

    def logs_for_transform_job(self, job_name, wait=False, poll=POLL_SECONDS):
        return super().logs_for_transform_job(job_name, wait=wait, poll=poll)

    def logs_for_job(self, job_name, wait=False, poll=POLL_SECONDS, log_type="All", timeout=None):
        """Print a training job's logs as the SDK does, describing the job at every poll."""
        client = self.sagemaker_client
        deadline = time.time() + timeout if timeout else None
        description = client.describe_training_job(TrainingJobName=job_name)
        print(secondary_training_status_message(description, None), end="")
        instance_count, streams, positions, logs, group, dot, color_wrap = sm_session._logs_init(
            self.boto_session, description, job="Training")
        finished = not wait or description["TrainingJobStatus"] in _TERMINAL
        while True:
            sm_session._flush_log_streams(streams, instance_count, logs, group, job_name, positions, dot,
                                          color_wrap)
            if finished:
                break
            if deadline and time.time() > deadline:
                print(f"Timeout Exceeded. {timeout} seconds elapsed.")
                break
            time.sleep(poll)
            latest = client.describe_training_job(TrainingJobName=job_name)
            if secondary_training_status_changed(latest, description):
                print()
                print(secondary_training_status_message(latest, description), end="")
            description = latest
            if description["TrainingJobStatus"] in _TERMINAL:
                print()
                # One more read: the last lines may reach CloudWatch Logs after the status changes.
                finished = True
        if wait:
            sm_session._check_job_status(job_name, description, "TrainingJobStatus")
            if dot:
                print()
            training = description.get("TrainingTimeInSeconds")
            billable = description.get("BillableTimeInSeconds")
            if training is not None:
                print("Training seconds:", training * instance_count)
            if billable is not None:
                print("Billable seconds:", billable * instance_count)
                if description.get("EnableManagedSpotTraining"):
                    print("Managed Spot Training savings: {:.1f}%".format((1 - float(billable) / training) * 100))
        return description


def session(**kwargs) -> LabSession:
    """A LabSession on labcloud with the default bucket created. labcloud.start() must have run."""
    if "AWS_ENDPOINT_URL" not in os.environ:
        from labcloud.embedded import start

        start()
    boto_session = kwargs.pop("boto_session", None) or boto3.Session(region_name=REGION)
    kwargs.setdefault("default_bucket", DEFAULT_BUCKET)
    lab_session = LabSession(boto_session=boto_session, **kwargs)
    lab_session.default_bucket()  # creates it if it does not exist
    return lab_session
