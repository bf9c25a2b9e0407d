"""After labcloud.start(), plain SDK v2 sessions (the ones AWS's examples build) wait as promptly as
labcloud.session(): fit(), deploy() of an inference pipeline, a transform job's wait() and a pipeline
execution's wait() return soon after the work ends, with the logs printed in full; a session bound to
AWS keeps the SDK's own behaviour."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time

import boto3
import pytest

import labcloud
from tests.support.hosting import REGRESSOR_SCRIPT, ROLE, SCALER_SCRIPT, fitted_models, model_tarball, upload

SCRIPT = """
import os, time
for i in range(5):
    print(f"line {i}", flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("m")
print(f"SCRIPT ENDS {time.time():.3f}", flush=True)
"""


@pytest.fixture
def plain_sessions(labcloud_server):
    """labcloud.start() as a notebook calls it (it finds the test session's labcloud); the SDK's own methods
    come back after the test."""
    from labcloud.client import sdk

    labcloud.start(quiet=True)
    yield
    sdk.uninstall()


def plain_session():
    import sagemaker

    return sagemaker.Session()  # what AWS's examples write


def test_fit_on_a_plain_session_returns_within_a_second_of_the_script_end(plain_sessions, tmp_path, capsys):
    from sagemaker.sklearn import SKLearn

    (tmp_path / "train.py").write_text(SCRIPT)
    estimator = SKLearn(entry_point="train.py", source_dir=str(tmp_path), role=labcloud.ROLE_ARN,
                        instance_count=1, instance_type="ml.m5.large", framework_version="1.2-1")
    estimator.fit()  # no session given: the estimator makes its own, as in AWS's examples
    returned = time.time()
    printed = capsys.readouterr().out
    ended = float(re.search(r"SCRIPT ENDS (\d+\.\d+)", printed).group(1))
    assert returned - ended < 1.0, f"fit() returned {returned - ended:.2f} s after the script ended"
    assert all(f"line {i}" in printed for i in range(5))  # the log in full
    assert "Training seconds:" in printed
    assert plain_session().default_bucket() == "sagemaker-us-east-1-123456789012"  # STS answered offline


def test_deploy_of_a_two_container_pipeline_on_a_plain_session_takes_under_two_seconds(plain_sessions, tmp_path):
    from sagemaker.pipeline import PipelineModel
    from sagemaker.sklearn.model import SKLearnModel

    session = plain_session()
    (tmp_path / "scaler.py").write_text(SCALER_SCRIPT)
    (tmp_path / "regressor.py").write_text(REGRESSOR_SCRIPT)
    scaler, regressor = fitted_models()
    s3, bucket = boto3.client("s3"), session.default_bucket()
    models = [SKLearnModel(model_data=upload(s3, bucket, f"prompt/{n}/model.tar.gz", model_tarball(m)), role=ROLE,
                           entry_point=f"{n}.py", source_dir=str(tmp_path), framework_version="1.2-1",
                           py_version="py3", sagemaker_session=session,
                           env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"} if n == "scaler" else None)
              for n, m in (("scaler", scaler), ("regressor", regressor))]
    model = PipelineModel(models=models, role=ROLE, sagemaker_session=session, name="prompt-pipeline")
    started = time.perf_counter()
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="prompt-pipeline")
    took = time.perf_counter() - started
    try:
        assert session.sagemaker_client.describe_endpoint(EndpointName="prompt-pipeline")["EndpointStatus"] == "InService"
        assert took < 2.0, f"deploy() took {took:.2f} s"
    finally:
        session.sagemaker_client.delete_endpoint(EndpointName="prompt-pipeline")


def test_a_transform_jobs_wait_on_a_plain_session_returns_within_a_second_of_its_end(plain_sessions, tmp_path,
                                                                                    capsys):
    from sagemaker.sklearn.model import SKLearnModel

    session = plain_session()
    (tmp_path / "regressor.py").write_text(REGRESSOR_SCRIPT)
    _, regressor = fitted_models()
    s3, bucket = boto3.client("s3"), session.default_bucket()
    model = SKLearnModel(model_data=upload(s3, bucket, "prompt-transform/model.tar.gz", model_tarball(regressor)),
                         role=ROLE, entry_point="regressor.py", source_dir=str(tmp_path), framework_version="1.2-1",
                         py_version="py3", sagemaker_session=session)
    s3.put_object(Bucket=bucket, Key="prompt-transform/in/rows.csv", Body=b"1.0,2.0,0.5\n3.0,4.0,1.5\n")
    transformer = model.transformer(instance_count=1, instance_type="ml.m5.large",
                                    output_path=f"s3://{bucket}/prompt-transform/out")
    transformer.transform(f"s3://{bucket}/prompt-transform/in/rows.csv", content_type="text/csv",
                          split_type="Line", logs=True)
    returned = time.time()
    described = session.sagemaker_client.describe_transform_job(TransformJobName=transformer.latest_transform_job.name)
    assert described["TransformJobStatus"] == "Completed"
    assert returned - described["TransformEndTime"].timestamp() < 1.0


def test_a_session_bound_to_aws_keeps_the_sdks_own_waiting(plain_sessions, monkeypatch):
    import sagemaker

    from labcloud.client import sdk

    aws = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"),
                            sagemaker_client=boto3.client("sagemaker", region_name="us-east-1",
                                                          endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com"))
    assert not sdk.bound_to_labcloud(aws) and sdk.bound_to_labcloud(plain_session())
    calls = []
    monkeypatch.setitem(sdk._SDK, "wait_for_job", lambda session, job, poll=5: calls.append((job, poll)))
    aws.wait_for_job("some-job")  # the SDK's method, with its own 5 s poll; nothing is sent here
    assert calls == [("some-job", 5)]


def test_the_sdk_imported_after_start_is_patched_and_the_setting_turns_it_off(labcloud_server):
    first = {"the SDK": "import sagemaker", "labcloud.session()": "labcloud.session()"}
    for how, value, expected in (("the SDK", "1", "True"), ("labcloud.session()", "1", "True"),
                                 ("the SDK", "0", "False")):
        code = textwrap.dedent(f"""
            import labcloud
            labcloud.start(quiet=True)
            {first[how]}
            import sagemaker
            print(hasattr(sagemaker.Session.wait_for_job, "labcloud_sdk_method"))
            """)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                env={**__import__("os").environ, "LABCLOUD_PROMPT_WAITERS": value})
        assert result.returncode == 0, f"{how}: {result.stderr}"
        assert result.stdout.strip().splitlines()[-1] == expected, how


def test_a_pipeline_executions_wait_on_a_plain_pipeline_session_returns_promptly(plain_sessions):
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals
    from sagemaker.workflow.parameters import ParameterInteger
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

    session = PipelineSession()
    value = ParameterInteger(name="Value", default_value=1)
    check = ConditionStep(name="Check", conditions=[ConditionEquals(left=value, right=1)], if_steps=[], else_steps=[])
    pipeline = Pipeline(name="prompt-wait", parameters=[value], steps=[check], sagemaker_session=session)
    pipeline.upsert(role_arn=labcloud.ROLE_ARN)
    started = time.perf_counter()
    execution = pipeline.start()
    execution.wait()  # the SDK's waiter asks every 30 s unless the session is labcloud's
    took = time.perf_counter() - started
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    assert took < 2.0, f"wait() took {took:.2f} s"
