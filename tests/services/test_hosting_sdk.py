"""Endpoints and batch transform through the SageMaker Python SDK v2, against a real labcloud."""

from __future__ import annotations

import threading
import time

import boto3
import numpy as np
import pytest
from tests.support.hosting import (REGRESSOR_SCRIPT, ROLE, SCALER_SCRIPT, csv_rows, endpoint_processes,
                                  fitted_models, model_tarball, pid_alive, port_open, training_data, upload)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("code")
    (folder / "scaler.py").write_text(SCALER_SCRIPT)
    (folder / "regressor.py").write_text(REGRESSOR_SCRIPT)
    return folder


@pytest.fixture(scope="module")
def artifacts(sagemaker_session):
    scaler, regressor = fitted_models()
    s3 = boto3.client("s3")
    bucket = sagemaker_session.default_bucket()
    return {"scaler": scaler, "regressor": regressor,
            "scaler_url": upload(s3, bucket, "hosting-sdk/scaler/model.tar.gz", model_tarball(scaler)),
            "regressor_url": upload(s3, bucket, "hosting-sdk/regressor/model.tar.gz", model_tarball(regressor))}


def log_streams(group: str, prefix: str = "", count: int = 1, timeout: float = 5.0) -> list[str]:
    """The group's stream names once `count` exist (log lines are shipped in the background)."""
    logs = boto3.client("logs")
    deadline = time.monotonic() + timeout
    while True:
        try:
            kwargs = {"logStreamNamePrefix": prefix} if prefix else {}
            names = [s["logStreamName"] for s in
                     logs.describe_log_streams(logGroupName=group, **kwargs)["logStreams"]]
        except logs.exceptions.ResourceNotFoundException:
            names = []
        if len(names) >= count or time.monotonic() > deadline:
            return names
        time.sleep(0.1)


def sklearn_model(sagemaker_session, scripts, model_data, entry_point, **kwargs):
    from sagemaker.sklearn.model import SKLearnModel

    return SKLearnModel(model_data=model_data, role=ROLE, entry_point=entry_point, source_dir=str(scripts),
                        framework_version="1.2-1", py_version="py3", sagemaker_session=sagemaker_session,
                        **kwargs)


def pipeline(sagemaker_session, scripts, artifacts, name):
    from sagemaker.pipeline import PipelineModel

    scaler = sklearn_model(sagemaker_session, scripts, artifacts["scaler_url"], "scaler.py",
                           env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
    regressor = sklearn_model(sagemaker_session, scripts, artifacts["regressor_url"], "regressor.py")
    return PipelineModel(models=[scaler, regressor], role=ROLE, sagemaker_session=sagemaker_session, name=name)


def csv_predictor(endpoint_name, sagemaker_session):
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    return Predictor(endpoint_name, sagemaker_session=sagemaker_session, serializer=CSVSerializer(),
                     deserializer=CSVDeserializer())


def test_sklearn_model_deploys_predicts_and_leaves_nothing_after_delete(labcloud_server, sagemaker_session,
                                                                       scripts, artifacts):
    from sagemaker.deserializers import NumpyDeserializer
    from sagemaker.serializers import NumpySerializer

    X, _ = training_data(1)
    expected = artifacts["regressor"].predict(artifacts["scaler"].transform(X[:5]))
    model = sklearn_model(sagemaker_session, scripts, artifacts["regressor_url"], "regressor.py")
    started = time.monotonic()
    predictor = model.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                             endpoint_name="sdk-single", serializer=NumpySerializer(),
                             deserializer=NumpyDeserializer())
    assert time.monotonic() - started < 20
    processes = endpoint_processes(labcloud_server.url, "sdk-single")
    assert len(processes) == 1 and len(processes[0]["pids"]) == 1
    np.testing.assert_allclose(predictor.predict(artifacts["scaler"].transform(X[:5])), expected)

    assert [s.split("/")[0] for s in log_streams("/aws/sagemaker/Endpoints/sdk-single")] == ["AllTraffic"]

    pids, ports = processes[0]["pids"], processes[0]["ports"]
    predictor.delete_endpoint()
    assert not any(pid_alive(pid) for pid in pids)
    assert not any(port_open(port) for port in ports)
    assert endpoint_processes(labcloud_server.url, "sdk-single") == []
    with pytest.raises(Exception, match="Could not find endpoint"):
        sagemaker_session.sagemaker_client.describe_endpoint(EndpointName="sdk-single")


def test_two_container_pipeline_predicts_like_the_models_in_process_and_updates_without_downtime(
        labcloud_server, sagemaker_session, scripts, artifacts):
    X, _ = training_data(2)
    expected = artifacts["regressor"].predict(artifacts["scaler"].transform(X))
    model = pipeline(sagemaker_session, scripts, artifacts, "sdk-pipeline-model")
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="sdk-pipeline")
    sm = sagemaker_session.sagemaker_client
    described = sm.describe_model(ModelName="sdk-pipeline-model")
    assert len(described["Containers"]) == 2
    assert described["InferenceExecutionConfig"] == {"Mode": "Serial"}
    predictor = csv_predictor("sdk-pipeline", sagemaker_session)
    got = np.array(predictor.predict(X), dtype=float).ravel()
    np.testing.assert_allclose(got, expected)
    first_pids = {p for i in endpoint_processes(labcloud_server.url, "sdk-pipeline") for p in i["pids"]}
    assert len(first_pids) == 2

    # UpdateEndpoint to a config with two instances: requests keep succeeding during the switch.
    sm.create_endpoint_config(EndpointConfigName="sdk-pipeline-2", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "sdk-pipeline-model", "InitialInstanceCount": 2,
        "InstanceType": "ml.m5.large"}])
    failures, answers, done = [], [], threading.Event()

    def keep_invoking():
        while not done.is_set():
            try:
                answers.append(np.array(predictor.predict(X[:3]), dtype=float).ravel())
            except Exception as err:  # noqa: BLE001 - any failure during the update is the bug
                failures.append(err)

    client = threading.Thread(target=keep_invoking)
    client.start()
    try:
        sm.update_endpoint(EndpointName="sdk-pipeline", EndpointConfigName="sdk-pipeline-2")
        assert sm.describe_endpoint(EndpointName="sdk-pipeline")["EndpointStatus"] == "Updating"
        sagemaker_session.wait_for_endpoint("sdk-pipeline")
    finally:
        done.set()
        client.join()
    assert failures == []
    assert len(answers) > 0
    for answer in answers:
        np.testing.assert_allclose(answer, expected[:3])
    described = sm.describe_endpoint(EndpointName="sdk-pipeline")
    assert described["EndpointConfigName"] == "sdk-pipeline-2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    new_pids = {p for i in endpoint_processes(labcloud_server.url, "sdk-pipeline") for p in i["pids"]}
    assert len(new_pids) == 4 and not new_pids & first_pids
    assert not any(pid_alive(pid) for pid in first_pids)

    sm.delete_endpoint(EndpointName="sdk-pipeline")
    assert not any(pid_alive(pid) for pid in new_pids)


def test_pipeline_batch_transform_writes_one_output_per_input_object(sagemaker_session, scripts, artifacts):
    X, _ = training_data(3)
    s3 = boto3.client("s3")
    bucket = sagemaker_session.default_bucket()
    upload(s3, bucket, "transform-in/part-a.csv", csv_rows(X[:7]).encode())
    upload(s3, bucket, "transform-in/part-b.csv", csv_rows(X[7:12]).encode())
    model = pipeline(sagemaker_session, scripts, artifacts, "sdk-transform-model")
    transformer = model.transformer(instance_count=1, instance_type="ml.m5.large", strategy="MultiRecord",
                                    assemble_with="Line", accept="text/csv",
                                    output_path=f"s3://{bucket}/transform-out")
    transformer.transform(f"s3://{bucket}/transform-in", content_type="text/csv", split_type="Line",
                          job_name="sdk-transform", wait=True, logs=False)
    described = sagemaker_session.sagemaker_client.describe_transform_job(TransformJobName="sdk-transform")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["TransformEndTime"] >= described["TransformStartTime"]
    scaler, regressor = artifacts["scaler"], artifacts["regressor"]
    for key, rows in (("part-a.csv", X[:7]), ("part-b.csv", X[7:12])):
        body = s3.get_object(Bucket=bucket, Key=f"transform-out/{key}.out")["Body"].read().decode()
        got = np.array([float(line) for line in body.splitlines()])
        np.testing.assert_allclose(got, regressor.predict(scaler.transform(rows)))
    streams = log_streams("/aws/sagemaker/TransformJobs", "sdk-transform/", count=2)
    assert len(streams) == 2  # one per container of the single instance
