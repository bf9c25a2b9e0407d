"""Processing jobs through the SageMaker SDK v2, as a learner runs them, and their bad input and faults."""

from __future__ import annotations

import textwrap
import time

import boto3
import pytest
from botocore.exceptions import ClientError

import labcloud

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "sagemaker-us-east-1-123456789012"

PREPROCESS = """
import argparse, os, sys
import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--train-ratio", type=float, required=True)
args = parser.parse_args()
frame = pd.read_csv("/opt/ml/processing/input/raw/data.csv")
cut = int(len(frame) * args.train_ratio)
os.makedirs("/opt/ml/processing/train", exist_ok=True)
frame[:cut].to_csv("/opt/ml/processing/train/train.csv", index=False)
frame[cut:].to_csv("/opt/ml/processing/test/test.csv", index=False)
print(f"split {len(frame)} rows at {cut}; MODE={os.environ['MODE']}; python={sys.executable}")
with open("/opt/ml/output/message", "w") as f:
    f.write("split done")
"""


@pytest.fixture(scope="module")
def raw_uri(sagemaker_session, tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    rows = "\n".join(f"{i},{i * 2}" for i in range(10))
    (folder / "data.csv").write_text("a,b\n" + rows + "\n")
    return sagemaker_session.upload_data(str(folder / "data.csv"), key_prefix="tests/processing/raw")


def script(tmp_path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def read(uri: str) -> str:
    bucket, key = uri[5:].split("/", 1)
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_sklearn_processor_splits_data_prints_logs_and_uploads_outputs(sagemaker_session, raw_uri, tmp_path, capsys):
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    processor = SKLearnProcessor(framework_version="1.2-1", role=labcloud.ROLE_ARN, instance_type="ml.m5.large",
                                 instance_count=1, env={"MODE": "split"}, sagemaker_session=sagemaker_session)
    processor.run(code=script(tmp_path, "preprocess.py", PREPROCESS),
                  inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/input/raw")],
                  outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                           ProcessingOutput(output_name="test", source="/opt/ml/processing/test")],
                  arguments=["--train-ratio", "0.8"], logs=True)
    printed = capsys.readouterr().out
    assert "split 10 rows at 8; MODE=split" in printed

    description = processor.latest_job.describe()
    assert description["ProcessingJobStatus"] == "Completed"
    assert description["ExitMessage"] == "split done"
    assert description["ProcessingStartTime"] <= description["ProcessingEndTime"]
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in description["ProcessingOutputConfig"]["Outputs"]}
    assert read(outputs["train"] + "/train.csv").count("\n") == 9  # header and 8 rows
    assert read(outputs["test"] + "/test.csv").splitlines()[1:] == ["8,16", "9,18"]

    listed = sagemaker_session.sagemaker_client.list_processing_jobs(NameContains=description["ProcessingJobName"])
    assert [s["ProcessingJobStatus"] for s in listed["ProcessingJobSummaries"]] == ["Completed"]
    streams = boto3.client("logs").describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                                        logStreamNamePrefix=description["ProcessingJobName"])
    assert [s["logStreamName"].split("/")[1].split("-")[:2] for s in streams["logStreams"]] == [["algo", "1"]]


def test_script_processor_and_framework_processor_run_their_commands(sagemaker_session, raw_uri, tmp_path, capsys):
    from sagemaker.processing import FrameworkProcessor, ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn import SKLearn

    code = script(tmp_path, "count.py", """
        import glob, sys
        rows = sum(open(p).read().count("\\n") for p in glob.glob("/opt/ml/processing/in/*.csv"))
        print("rows:", rows, "args:", sys.argv[1:])
        """)
    ScriptProcessor(image_uri=SKLEARN_IMAGE, command=["python3"], role=labcloud.ROLE_ARN, instance_count=1,
                    instance_type="ml.m5.large", sagemaker_session=sagemaker_session).run(
        code=code, inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/in")],
        arguments=["--flag"], logs=True)
    assert "rows: 11 args: ['--flag']" in capsys.readouterr().out

    source = tmp_path / "src"
    source.mkdir()
    (source / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (source / "requirements.txt").write_text("left-pad==1.0\n")
    (source / "job.py").write_text(textwrap.dedent("""
        import os
        from helpers import double
        os.makedirs("/opt/ml/processing/out", exist_ok=True)
        open("/opt/ml/processing/out/result.txt", "w").write(str(double(21)))
        print("framework processor ran")
        """))
    processor = FrameworkProcessor(estimator_cls=SKLearn, framework_version="1.2-1", role=labcloud.ROLE_ARN,
                                   instance_count=1, instance_type="ml.m5.large",
                                   sagemaker_session=sagemaker_session)
    processor.run(code="job.py", source_dir=str(source),
                  outputs=[ProcessingOutput(output_name="out", source="/opt/ml/processing/out")], logs=True)
    printed = capsys.readouterr().out
    assert "framework processor ran" in printed
    assert "pip does not install or remove packages" in printed  # requirements.txt is not installed offline
    description = processor.latest_job.describe()
    assert read(description["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] + "/result.txt") == "42"


def test_a_failing_script_fails_the_job_with_its_exit_code_and_last_lines(sagemaker_session, tmp_path):
    from sagemaker.exceptions import UnexpectedStatusException
    from sagemaker.sklearn.processing import SKLearnProcessor

    processor = SKLearnProcessor(framework_version="1.2-1", role=labcloud.ROLE_ARN, instance_type="ml.m5.large",
                                 instance_count=1, sagemaker_session=sagemaker_session)
    with pytest.raises(UnexpectedStatusException) as raised:
        processor.run(code=script(tmp_path, "bad.py", "print('about to fail')\nraise SystemExit('no data here')\n"),
                      logs=False)
    assert "Failed" in str(raised.value)
    reason = processor.latest_job.describe()["FailureReason"]
    assert reason.startswith("AlgorithmError: See job logs for more information")
    assert "exited with code 1" in reason and "no data here" in reason


def processing_request(name: str, code_uri: str, **overrides) -> dict:
    request = {
        "ProcessingJobName": name, "RoleArn": labcloud.ROLE_ARN,
        "AppSpecification": {"ImageUri": SKLEARN_IMAGE,
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 1}},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {
            "S3Uri": code_uri, "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
            "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/tests/processing/{name}/out", "LocalPath": "/opt/ml/processing/out",
            "S3UploadMode": "EndOfJob"}}]},
    }
    request.update(overrides)
    return request


def upload_code(s3, name: str, code: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=f"tests/processing/{name}/code/job.py", Body=textwrap.dedent(code).encode())
    return f"s3://{BUCKET}/tests/processing/{name}/code/job.py"


def wait_until(sm, name: str, statuses: tuple, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        description = sm.describe_processing_job(ProcessingJobName=name)
        if description["ProcessingJobStatus"] in statuses or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


SLOW_JOB = """
import signal, sys, time
def on_term(*_):
    open("/opt/ml/processing/out/partial.txt", "w").write("saved on SIGTERM")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("started", flush=True)
time.sleep(60)
"""


def test_stop_sends_sigterm_and_uploads_what_the_job_saved(sm, s3):
    sm.create_processing_job(**processing_request("stop-me", upload_code(s3, "stop-me", SLOW_JOB)))
    deadline = time.monotonic() + 20
    while "ProcessingStartTime" not in sm.describe_processing_job(ProcessingJobName="stop-me"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # the script has set its handler
    sm.stop_processing_job(ProcessingJobName="stop-me")
    assert sm.describe_processing_job(ProcessingJobName="stop-me")["ProcessingJobStatus"] in ("Stopping", "Stopped")
    description = wait_until(sm, "stop-me", ("Stopped", "Completed", "Failed"))
    assert description["ProcessingJobStatus"] == "Stopped"
    assert "FailureReason" not in description
    assert read(f"s3://{BUCKET}/tests/processing/stop-me/out/partial.txt") == "saved on SIGTERM"
    with pytest.raises(ClientError) as raised:
        sm.stop_processing_job(ProcessingJobName="stop-me")
    assert "status Stopped" in raised.value.response["Error"]["Message"]


def test_max_runtime_stops_the_job_and_says_why(sm, s3):
    code_uri = upload_code(s3, "too-long", "import time\ntime.sleep(60)\n")
    sm.create_processing_job(**processing_request("too-long", code_uri,
                                                  StoppingCondition={"MaxRuntimeInSeconds": 1}))
    description = wait_until(sm, "too-long", ("Stopped", "Completed", "Failed"))
    assert description["ProcessingJobStatus"] == "Stopped"
    assert "MaxRuntimeInSeconds (1 s)" in description["FailureReason"]


def test_bad_requests_get_aws_errors_naming_the_culprit(sm, s3):
    code_uri = upload_code(s3, "bad", "print('never runs')\n")

    def refused(**overrides) -> str:
        with pytest.raises(ClientError) as raised:
            sm.create_processing_job(**processing_request("bad", code_uri, **overrides))
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        return raised.value.response["Error"]["Message"]

    outside = [{"OutputName": "out", "S3Output": {"S3Uri": f"s3://{BUCKET}/x", "LocalPath": "/tmp/out",
                                                  "S3UploadMode": "EndOfJob"}}]
    assert "LocalPath /tmp/out of the output out" in refused(ProcessingOutputConfig={"Outputs": outside})
    twice = processing_request("bad", code_uri)["ProcessingInputs"] * 2
    assert "code appears more than once" in refused(ProcessingInputs=twice)
    assert "Cannot find repository: nowhere" in refused(AppSpecification={
        "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/nowhere:1"})
    assert "ContainerEntrypoint" in refused(AppSpecification={"ImageUri": SKLEARN_IMAGE})
    with pytest.raises(ClientError) as raised:
        sm.describe_processing_job(ProcessingJobName="never-made")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "never-made" in raised.value.response["Error"]["Message"]

    sm.create_processing_job(**processing_request("no-input-data", code_uri, ProcessingInputs=[
        {"InputName": "data", "S3Input": {"S3Uri": f"s3://{BUCKET}/nothing/here", "LocalPath": "/opt/ml/processing/d",
                                          "S3DataType": "S3Prefix", "S3InputMode": "File"}}]))
    description = wait_until(sm, "no-input-data", ("Failed", "Completed"))
    assert description["ProcessingJobStatus"] == "Failed"
    assert description["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")
    with pytest.raises(ClientError) as raised:
        sm.create_processing_job(**processing_request("no-input-data", code_uri))
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"


def test_a_job_in_progress_when_labcloud_stops_runs_again_after_it_starts(in_process, tmp_path):
    server = in_process()
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    code_uri = upload_code(s3, "survivor", """
        import os, time
        print("run starts", flush=True)
        time.sleep(1.5)
        open("/opt/ml/processing/out/done.txt", "w").write("done")
        """)
    sm.create_processing_job(**processing_request("survivor", code_uri))
    deadline = time.monotonic() + 20
    while "ProcessingStartTime" not in sm.describe_processing_job(ProcessingJobName="survivor"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.stop()

    in_process()
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    description = wait_until(sm, "survivor", ("Completed", "Failed", "Stopped"))
    assert description["ProcessingJobStatus"] == "Completed", description.get("FailureReason")
    assert read(f"s3://{BUCKET}/tests/processing/survivor/out/done.txt") == "done"
    events = boto3.client("logs").filter_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                                    logStreamNamePrefix="survivor")["events"]
    messages = [e["message"] for e in events]
    assert messages.count("run starts") == 2
    assert any("running the job again from the beginning" in m for m in messages)
