"""`labcloud bill` and labcloud.billing: a dated price table whose every type is valid for its use, bills
computed as AWS bills (billable seconds x count x price), and the bill of real jobs and endpoints."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time

import pytest

from labcloud import billing
from labcloud.billing.prices import ENUM_OF_COMPONENT
from labcloud.protocols.validation import service_model
from tests.support.hosting import (REGRESSOR_SCRIPT, ROLE, SKLEARN_IMAGE, container, fitted_models, model_tarball,
                                   upload)
from tests.support.scripts import sourcedir_tarball

BUCKET = "sagemaker-us-east-1-123456789012"

TABLE = billing.prices.load()


def test_the_price_table_states_region_date_and_source():
    assert TABLE.region == "eu-west-1"
    assert TABLE.date.startswith("2023-12")
    assert TABLE.source.startswith("https://github.com/aws-samples/")
    assert TABLE.prices  # and every figure is positive
    assert all(price > 0 for price in TABLE.prices.values())


def test_every_priced_type_is_valid_for_its_use():
    model = service_model("sagemaker")
    for (component, instance_type) in TABLE.prices:
        assert instance_type in model.shape_for(ENUM_OF_COMPONENT[component]).enum, (component, instance_type)


KNOWN = [
    {"name": "train", "kind": "training-job", "instance_type": "ml.m5.xlarge", "instance_count": 2,
     "billable_seconds": 1800, "status": "Completed", "training_seconds": 1800},
    {"name": "train-spot", "kind": "training-job", "instance_type": "ml.p3.2xlarge", "instance_count": 1,
     "billable_seconds": 1080, "status": "Completed", "spot": True, "training_seconds": 3600},
    {"name": "prep", "kind": "processing-job", "instance_type": "ml.m5.xlarge", "instance_count": 1,
     "billable_seconds": 600, "status": "Completed"},
    {"name": "score", "kind": "transform-job", "instance_type": "ml.m5.xlarge", "instance_count": 1,
     "billable_seconds": 360, "status": "Completed"},
    {"name": "ep", "kind": "endpoint", "instance_type": "ml.g4dn.xlarge", "instance_count": 1,
     "billable_seconds": 7200, "status": "Deleted"},
    {"name": "cheap", "kind": "endpoint", "instance_type": "ml.t2.medium", "instance_count": 1,
     "billable_seconds": 3600, "status": "InService"},
]


def test_the_bill_of_known_jobs():
    bill = billing.price(KNOWN, TABLE)
    assert [round(r.usd, 6) if r.priced else None for r in bill.rows] == [
        0.257,  # 1800 s x 2 x $0.257/h
        1.2393,  # spot: BillableTimeInSeconds is already discounted, priced on demand (1080 s x $4.131/h)
        round(600 * 0.257 / 3600, 6),
        round(360 * 0.257 / 3600, 6),
        1.642,  # 2 h x $0.821/h (hosting's rate, not training's $0.822)
        None,  # ml.t2.medium is not in the table: unpriced, not free
    ]
    assert bill.total_usd == pytest.approx(0.257 + 1.2393 + 960 * 0.257 / 3600 + 1.642)
    assert [r.name for r in bill.unpriced] == ["cheap"]


def test_csv_has_a_row_each_and_a_total_and_says_unpriced():
    bill = billing.price(KNOWN, TABLE)
    rows = list(csv.DictReader(io.StringIO(bill.csv())))
    assert list(rows[0])[:7] == ["name", "kind", "instance_type", "instance_count", "billable_seconds",
                                 "usd_per_hour", "usd"]
    assert [r["name"] for r in rows] == [k["name"] for k in KNOWN] + ["total"]
    assert rows[1]["spot"] == "yes" and rows[1]["usd_per_hour"] == "4.131" and rows[1]["usd"] == "1.239300"
    assert rows[5]["usd"] == "unpriced" and rows[5]["usd_per_hour"] == ""
    assert float(rows[-1]["usd"]) == pytest.approx(bill.total_usd, abs=1e-6)
    assert rows[-1]["status"] == "1 unpriced"
    table = bill.table()
    assert "unpriced" in table and "ml.t2.medium (hosting)" in table and TABLE.source in table


def test_chart_is_an_image(tmp_path):
    path = billing.price(KNOWN, TABLE).chart(tmp_path / "bill.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert billing.price([], TABLE).chart(tmp_path / "empty.svg").read_text().lstrip().startswith("<?xml")


# --- the bill of this lab cloud's own jobs and endpoints ---------------------------------------------

TRAIN_SCRIPT = "import os, time\ntime.sleep(1.2)\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm'), 'w').write('x')\n"


def script_job(s3, name: str, **extra) -> dict:
    key = f"tests/billing/{name}/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=sourcedir_tarball(TRAIN_SCRIPT))
    request = {"TrainingJobName": name, "RoleArn": ROLE,
               "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
               "HyperParameters": {"sagemaker_program": '"train.py"',
                                   "sagemaker_submit_directory": f'"s3://{BUCKET}/{key}"'},
               "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tests/billing/output"},
               "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 1},
               "StoppingCondition": {"MaxRuntimeInSeconds": 120}}
    request.update(extra)
    return request


def wait(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def test_the_bill_of_this_lab_clouds_jobs_and_a_deleted_endpoint(sm, s3, sagemaker_session, labcloud_server,
                                                                  tmp_path):
    sagemaker_session.default_bucket()  # makes BUCKET
    sm.create_training_job(**script_job(s3, "billed-on-demand"))
    sm.create_training_job(**script_job(s3, "billed-spot", EnableManagedSpotTraining=True,
                                        StoppingCondition={"MaxRuntimeInSeconds": 120, "MaxWaitTimeInSeconds": 240}))
    s3.create_bucket(Bucket="billing-models")
    _, regressor = fitted_models()
    model_url = upload(s3, "billing-models", "regressor/model.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    sm.create_model(ModelName="billed-model", ExecutionRoleArn=ROLE, PrimaryContainer=container(model_url))
    sm.create_endpoint_config(EndpointConfigName="billed-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "billed-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.xlarge"}])
    sm.create_endpoint(EndpointName="billed-endpoint", EndpointConfigName="billed-config")
    sm.create_processing_job(ProcessingJobName="billed-processing", RoleArn=ROLE, AppSpecification={
        "ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", "-c", "import time; time.sleep(1)"]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                               "VolumeSizeInGB": 1}})
    s3.put_object(Bucket="billing-models", Key="batch/in.csv", Body=b"1.0,2.0,3.0\n4.0,5.0,6.0\n")
    sm.create_transform_job(TransformJobName="billed-transform", ModelName="billed-model",
                            TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://billing-models/batch/"}}},
                            TransformOutput={"S3OutputPath": "s3://billing-models/batch-out/"},
                            TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1})
    wait(lambda: sm.describe_endpoint(EndpointName="billed-endpoint")["EndpointStatus"] == "InService")
    time.sleep(1.1)
    sm.delete_endpoint(EndpointName="billed-endpoint")
    jobs = {name: wait(lambda name=name: (d := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"]
                       in ("Completed", "Failed") and d) for name in ("billed-on-demand", "billed-spot")}
    assert {j["TrainingJobStatus"] for j in jobs.values()} == {"Completed"}
    processing = wait(lambda: (d := sm.describe_processing_job(ProcessingJobName="billed-processing"))[
        "ProcessingJobStatus"] in ("Completed", "Failed") and d)
    transform = wait(lambda: (d := sm.describe_transform_job(TransformJobName="billed-transform"))[
        "TransformJobStatus"] in ("Completed", "Failed") and d)
    assert (processing["ProcessingJobStatus"], transform["TransformJobStatus"]) == ("Completed", "Completed")

    bill = billing.bill(labcloud_server.url)
    rows = {r.name: r for r in bill.rows if r.name.startswith("billed-")}
    assert set(rows) == {"billed-on-demand", "billed-spot", "billed-endpoint", "billed-processing",
                         "billed-transform"}
    for name, start, end in (("billed-processing", processing["ProcessingStartTime"], processing["ProcessingEndTime"]),
                             ("billed-transform", transform["TransformStartTime"], transform["TransformEndTime"])):
        row = rows[name]  # from start to end, rounded up to the second (Describe shows milliseconds)
        assert (row.instance_type, row.instance_count, row.status) == ("ml.m5.xlarge", 1, "Completed")
        assert (end - start).total_seconds() <= row.billable_seconds <= (end - start).total_seconds() + 1.001
        assert row.usd == pytest.approx(row.billable_seconds * 0.257 / 3600)
    for name, job in jobs.items():  # billable seconds x count x price, as DescribeTrainingJob reports them
        row = rows[name]
        assert (row.kind, row.instance_type, row.instance_count) == ("training-job", "ml.m5.xlarge", 2)
        assert row.billable_seconds == job["BillableTimeInSeconds"]
        assert row.usd == pytest.approx(job["BillableTimeInSeconds"] * 2 * 0.257 / 3600)
    assert rows["billed-spot"].spot and rows["billed-spot"].billable_seconds < rows["billed-spot"].training_seconds
    endpoint = rows["billed-endpoint"]
    assert (endpoint.kind, endpoint.status, endpoint.instance_type, endpoint.instance_count) == (
        "endpoint", "Deleted", "ml.m5.xlarge", 1)
    assert 1 <= endpoint.billable_seconds <= 30
    assert endpoint.usd == pytest.approx(endpoint.billable_seconds * 0.257 / 3600)

    # the command line says the same
    command = [sys.executable, "-m", "labcloud", "bill", "--port", str(labcloud_server.port)]
    printed = subprocess.run([*command, "--csv", "--chart", str(tmp_path / "bill.png")], capture_output=True,
                             text=True, timeout=60, check=True)
    lines = {r["name"]: r for r in csv.DictReader(io.StringIO(printed.stdout))}
    assert float(lines["billed-spot"]["usd"]) == pytest.approx(rows["billed-spot"].usd, abs=1e-6)
    assert lines["billed-endpoint"]["status"] == "Deleted"
    assert "total" in lines and (tmp_path / "bill.png").exists()
    table = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "billed-spot (spot)" in table and "total" in table


def test_bill_says_when_no_labcloud_answers():
    from labcloud.platform.ports import free_port

    done = subprocess.run([sys.executable, "-m", "labcloud", "bill", "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "not running" in done.stderr


def test_an_endpoints_usage_survives_a_restart_without_a_second_stretch(in_process):
    import boto3

    first = in_process()
    sm, s3 = boto3.client("sagemaker"), boto3.client("s3")
    s3.create_bucket(Bucket="restart-models")
    _, regressor = fitted_models()
    model_url = upload(s3, "restart-models", "m/model.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer=container(model_url))
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 2, "InstanceType": "ml.g4dn.xlarge"}])
    sm.create_endpoint(EndpointName="kept", EndpointConfigName="c")
    wait(lambda: sm.describe_endpoint(EndpointName="kept")["EndpointStatus"] == "InService")
    first.stop()

    second = in_process()
    sm = boto3.client("sagemaker")
    wait(lambda: sm.describe_endpoint(EndpointName="kept")["EndpointStatus"] == "InService")
    (row,) = billing.bill(second.url).rows
    assert (row.name, row.status, row.instance_type, row.instance_count) == ("kept", "InService", "ml.g4dn.xlarge", 2)
    sm.delete_endpoint(EndpointName="kept")
    (row,) = billing.bill(second.url).rows
    assert row.status == "Deleted" and row.usd == pytest.approx(row.billable_seconds * 2 * 0.821 / 3600)
