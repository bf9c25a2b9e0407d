"""Bad input and faults: AWS's errors, failing scripts, stops, limits, and a server killed mid-job."""

from __future__ import annotations

import io
import json
import signal
import tarfile
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import labcloud
from tests.support.processes import alive, descendants
from tests.support.scripts import sourcedir_tarball
from tests.support.server import FAST_SETTINGS, LabcloudProcess
from labcloud.client.environment import client_environment

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "sagemaker-us-east-1-123456789012"


def upload_script(s3, name: str, code: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=f"tests/faults/{name}/sourcedir.tar.gz", Body=sourcedir_tarball(code))
    return f"s3://{BUCKET}/tests/faults/{name}/sourcedir.tar.gz"


def script_job(s3, name: str, code: str, **extra) -> dict:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": labcloud.ROLE_ARN,
        "HyperParameters": {"sagemaker_program": '"train.py"',
                            "sagemaker_submit_directory": json.dumps(upload_script(s3, name, code))},
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tests/faults/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(extra)
    return request


def wait_for(client, name: str, statuses, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = client.describe_training_job(TrainingJobName=name)
        if description["SecondaryStatus"] in statuses or description["TrainingJobStatus"] in statuses:
            return description
        time.sleep(0.05)
    raise AssertionError(f"{name} did not reach {statuses}: {description['SecondaryStatus']}")


def log_text(name: str) -> str:
    logs = boto3.client("logs")
    stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                       logStreamNamePrefix=name + "/")["logStreams"][0]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                                 startFromHead=True)["events"]
    return "\n".join(e["message"] for e in events)


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_failing_script_fails_the_job_with_its_last_error_lines(sagemaker_session, tmp_path):
    from sagemaker.exceptions import UnexpectedStatusException
    from sagemaker.sklearn import SKLearn

    (tmp_path / "train.py").write_text("print('about to fail')\nraise ValueError('the data has 42 bad rows')\n")
    estimator = SKLearn(entry_point="train.py", source_dir=str(tmp_path), role=labcloud.ROLE_ARN,
                        instance_count=1, instance_type="ml.m5.large", framework_version="1.2-1",
                        sagemaker_session=sagemaker_session)
    with pytest.raises(UnexpectedStatusException) as err:
        estimator.fit(logs=False)
    assert "ValueError: the data has 42 bad rows" in str(err.value)
    description = estimator.latest_training_job.describe()
    assert description["TrainingJobStatus"] == description["SecondaryStatus"] == "Failed"
    assert description["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1")
    # Required by botocore's model, read by the SDK (estimator.model_data) even for a failed job.
    assert description["ModelArtifacts"]["S3ModelArtifacts"].endswith(
        f"/{description['TrainingJobName']}/output/model.tar.gz")


def test_spot_needs_max_wait_at_least_max_runtime(sm, s3):
    code, message = error_of(sm.create_training_job, **script_job(
        s3, "spot-bad-wait", "pass", EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 300}))
    assert code == "ValidationException"
    assert "MaxWaitTimeInSeconds" in message and "greater than or equal to MaxRuntimeInSeconds" in message
    code, _ = error_of(sm.create_training_job, **script_job(s3, "spot-no-wait", "pass",
                                                            EnableManagedSpotTraining=True))
    assert code == "ValidationException"


def test_missing_required_member_and_unknown_names(s3):
    raw = boto3.client("sagemaker", config=Config(parameter_validation=False))
    request = script_job(s3, "no-role", "pass")
    del request["RoleArn"]
    code, message = error_of(raw.create_training_job, **request)
    assert code == "ValidationException" and "roleArn" in message
    code, message = error_of(raw.describe_training_job, TrainingJobName="no-such-job")
    assert (code, message) == ("ValidationException", "Requested resource not found.")
    code, _ = error_of(raw.stop_training_job, TrainingJobName="no-such-job")
    assert code == "ValidationException"


def test_duplicate_name_list_and_stop_on_a_finished_job(sm, s3):
    for name in ("listed-a", "listed-b"):
        sm.create_training_job(**script_job(s3, name, "print('hi')"))
    wait_for(sm, "listed-b", ("Completed", "Failed"))
    wait_for(sm, "listed-a", ("Completed", "Failed"))
    code, message = error_of(sm.create_training_job, **script_job(s3, "listed-a", "pass"))
    assert code == "ResourceInUse"
    assert message.startswith("Training job names must be unique within an AWS account and region")
    code, message = error_of(sm.stop_training_job, TrainingJobName="listed-a")
    assert code == "ValidationException" and "status Completed" in message

    page = sm.list_training_jobs(NameContains="listed-", MaxResults=1, SortBy="Name", SortOrder="Ascending")
    assert [j["TrainingJobName"] for j in page["TrainingJobSummaries"]] == ["listed-a"]
    page = sm.list_training_jobs(NameContains="listed-", MaxResults=1, SortBy="Name", SortOrder="Ascending",
                                 NextToken=page["NextToken"])
    assert [j["TrainingJobName"] for j in page["TrainingJobSummaries"]] == ["listed-b"]
    assert "NextToken" not in page
    assert sm.list_training_jobs(NameContains="listed-", StatusEquals="Failed")["TrainingJobSummaries"] == []
    code, _ = error_of(sm.list_training_jobs, NextToken="not-a-token")
    assert code == "ValidationException"


def test_stop_sends_sigterm_and_keeps_what_was_saved(sm, s3):
    code = """
    import signal, sys, time
    def on_term(signum, frame):
        print("got SIGTERM, saving", flush=True)
        open("/opt/ml/model/partial.txt", "w").write("saved on stop")
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    print("training forever", flush=True)
    while True:
        time.sleep(0.05)
    """
    sm.create_training_job(**script_job(s3, "stop-me", code))
    wait_for(sm, "stop-me", ("Training",))
    time.sleep(0.5)  # let the script install its handler
    sm.stop_training_job(TrainingJobName="stop-me")
    assert sm.describe_training_job(TrainingJobName="stop-me")["TrainingJobStatus"] in ("Stopping", "Stopped")
    description = wait_for(sm, "stop-me", ("Stopped",))
    assert description["SecondaryStatus"] == "Stopped"
    assert [t["Status"] for t in description["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    assert "got SIGTERM, saving" in log_text("stop-me")
    model = description["ModelArtifacts"]["S3ModelArtifacts"]
    body = s3.get_object(Bucket=BUCKET, Key=model.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile("partial.txt").read() == b"saved on stop"


def test_max_runtime_is_enforced(sm, s3):
    sm.create_training_job(**script_job(s3, "too-long", "import time\ntime.sleep(60)\n",
                                        StoppingCondition={"MaxRuntimeInSeconds": 1}))
    description = wait_for(sm, "too-long", ("Stopped", "Completed", "Failed"), timeout=30)
    assert (description["TrainingJobStatus"], description["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_restart_after_kill_9_loses_nothing_and_resumes_the_running_job(tmp_path, monkeypatch):
    server = LabcloudProcess.start(tmp_path / "state", env=FAST_SETTINGS)
    for key, value in client_environment(server.url).items():
        monkeypatch.setenv(key, value)
    try:
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="kept/object.txt", Body=b"still here")
        code = """
        import json, os, time
        path = "/opt/ml/checkpoints/step.json"
        step = json.load(open(path))["step"] if os.path.exists(path) else 0
        print("resuming at step", step, flush=True)
        while step < 20:
            step += 1
            json.dump({"step": step}, open(path, "w"))
            print("step", step, flush=True)
            time.sleep(0.3)
        open("/opt/ml/model/done.txt", "w").write(str(step))
        """
        sm.create_training_job(**script_job(s3, "survivor", code, CheckpointConfig={
            "S3Uri": f"s3://{BUCKET}/kept/checkpoints"}))
        wait_for(sm, "survivor", ("Training",))
        training_since = time.monotonic()
        deadline = time.monotonic() + 20
        while "step 10" not in log_text("survivor") and time.monotonic() < deadline:
            time.sleep(0.1)
        job_processes = descendants(server.process.pid)
        assert job_processes
        first_attempt = time.monotonic() - training_since  # what the container had run, near enough
        server.stop(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in job_processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in job_processes if alive(p)], "job processes outlived a killed server"

        server = LabcloudProcess.start(tmp_path / "state", port=server.port, env=FAST_SETTINGS)
        assert s3.get_object(Bucket=BUCKET, Key="kept/object.txt")["Body"].read() == b"still here"
        description = wait_for(sm, "survivor", ("Completed", "Failed", "Stopped"), timeout=60)
        assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
        statuses = [t["Status"] for t in description["SecondaryStatusTransitions"]]
        assert "Restarting" in statuses
        logs = log_text("survivor")
        assert "resuming at step 0" in logs and "step 3" in logs  # the first run's lines survived
        resumed = [int(line.split()[-1]) for line in logs.splitlines() if line.startswith("resuming at step")]
        assert len(resumed) == 2 and resumed[1] >= 2
        # The attempt the kill ended is billed (as far as its last heartbeat, a second at most before the kill),
        # and so is the second one, which ran at least its remaining steps.
        second_attempt = (20 - resumed[1]) * 0.3
        assert description["TrainingTimeInSeconds"] >= first_attempt - 1.0 + second_attempt, (
            description["TrainingTimeInSeconds"], first_attempt, second_attempt)
    finally:
        children = descendants(server.process.pid)
        assert server.stop() == 0, server.log()
        assert not [p for p in children if alive(p)]


def test_an_s3_key_that_climbs_out_of_its_channel_fails_the_job(sm, s3, labcloud_server):
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="tests/faults/climb/train/ok.csv", Body=b"1,2\n")
    s3.put_object(Bucket=BUCKET, Key="tests/faults/climb/train/../../../../../../escaped.txt", Body=b"x")
    channel = {"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/tests/faults/climb/train"}}}
    sm.create_training_job(**script_job(s3, "climber", "print('never runs')", InputDataConfig=[channel]))
    description = wait_for(sm, "climber", ("Completed", "Failed", "Stopped"))
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("ClientError: the S3 object key")
    assert not list(labcloud_server.state_dir.rglob("escaped.txt"))


def test_a_graceful_stop_keeps_the_checkpoint_written_on_sigterm(tmp_path, monkeypatch):
    server = LabcloudProcess.start(tmp_path / "state", env=FAST_SETTINGS)
    for key, value in client_environment(server.url).items():
        monkeypatch.setenv(key, value)
    try:
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        code = """
        import json, os, signal, sys, time
        path = "/opt/ml/checkpoints/state.json"
        if os.path.exists(path):
            print("resumed from", json.load(open(path))["saved_by"], flush=True)
            open("/opt/ml/model/done.txt", "w").write("ok")
            sys.exit(0)
        def on_term(signum, frame):
            json.dump({"saved_by": "sigterm-handler"}, open(path, "w"))
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
        print("waiting for SIGTERM", flush=True)
        while True:
            time.sleep(0.05)
        """
        sm.create_training_job(**script_job(s3, "graceful", code, CheckpointConfig={
            "S3Uri": f"s3://{BUCKET}/graceful/checkpoints"}))
        wait_for(sm, "graceful", ("Training",))
        deadline = time.monotonic() + 20
        while "waiting for SIGTERM" not in log_text("graceful") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.stop() == 0, server.log()

        server = LabcloudProcess.start(tmp_path / "state", port=server.port, env=FAST_SETTINGS)
        description = wait_for(sm, "graceful", ("Completed", "Failed", "Stopped"), timeout=60)
        assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
        assert "resumed from sigterm-handler" in log_text("graceful")
    finally:
        assert server.stop() == 0, server.log()


def test_state_changes_of_jobs_and_endpoints_reach_an_eventbridge_rule(sm, s3, labcloud_server):
    from tests.support.events import received, rule_queue

    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    queue = rule_queue("job-state-changes", "job-state-changes", {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"],
        "detail": {"TrainingJobName": ["evented", "evented-failure"]}})
    sm.create_training_job(**script_job(s3, "evented", "open('/opt/ml/model/m.txt', 'w').write('ok')"))
    sm.create_training_job(**script_job(s3, "evented-failure", "raise SystemExit('no data')"))
    for name in ("evented", "evented-failure"):
        wait_for(sm, name, ("Completed", "Failed", "Stopped"))
    events = received(queue, 3.0)
    seen = {(e["detail"]["TrainingJobName"], e["detail"]["TrainingJobStatus"]) for e in events}
    assert seen == {("evented", "InProgress"), ("evented", "Completed"),
                    ("evented-failure", "InProgress"), ("evented-failure", "Failed")}, seen
    failed = next(e for e in events if e["detail"]["TrainingJobStatus"] == "Failed")
    assert "no data" in failed["detail"]["FailureReason"]
    assert failed["resources"] == [sm.describe_training_job(TrainingJobName="evented-failure")["TrainingJobArn"]]
    done = next(e for e in events if e["detail"]["TrainingJobStatus"] == "Completed")
    assert done["detail"]["TrainingTimeInSeconds"] >= 1 and done["detail"]["ModelArtifacts"]["S3ModelArtifacts"]
