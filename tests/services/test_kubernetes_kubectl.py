"""The ACK SageMaker resources driven with the real kubectl against labcloud's Kubernetes API: manifests
reconcile into labcloud jobs and endpoints, bad manifests are refused naming the field, the conditions say
what happened, deleting stops, endpoints roll to a new config."""

from __future__ import annotations

import json

import boto3
import pytest

import labcloud
from labcloud.client import kubeconfig
from tests.support.hosting import (BROKEN_SCRIPT, REGRESSOR_SCRIPT, SKLEARN_IMAGE, csv_rows, fitted_models,
                                   model_tarball, training_data, upload)
from tests.support.kubectl import Kubectl, condition, training_spec
from tests.support.scripts import sourcedir_tarball
from tests.support.waiting import wait_until

BUCKET = "k8s-tests"
QUICK_SCRIPT = """
import json, os
print("training for kubectl", flush=True)
json.dump({"ok": True}, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
"""
SLOW_SCRIPT = """
import time
print("a long job", flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def kubectl(labcloud_server, tmp_path_factory) -> Kubectl:
    path = kubeconfig.write(tmp_path_factory.mktemp("kube") / "config", labcloud_server.url)
    return Kubectl(path)


@pytest.fixture(scope="module")
def bucket(labcloud_server) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture(scope="module")
def code(bucket) -> dict:
    s3 = boto3.client("s3")
    return {name: upload(s3, BUCKET, f"code/{name}/sourcedir.tar.gz", sourcedir_tarball(script))
            for name, script in (("quick", QUICK_SCRIPT), ("slow", SLOW_SCRIPT))}


def training_job(name: str, code_uri: str, role: str = labcloud.ROLE_ARN, **spec) -> dict:
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "TrainingJob",
            "metadata": {"name": name}, "spec": {**training_spec(name, code_uri, BUCKET, role), **spec}}


def test_kubectl_sees_the_ack_kinds_and_explains_their_fields(kubectl):
    resources = kubectl.run("api-resources", "--api-group=sagemaker.services.k8s.aws").stdout
    for kind in ("TrainingJob", "Model", "EndpointConfig", "Endpoint", "ProcessingJob", "TransformJob"):
        assert kind in resources, resources
    explained = kubectl.run("explain", "trainingjob.spec").stdout
    assert "roleARN" in explained and "algorithmSpecification" in explained, explained
    assert "stoppingCondition" in kubectl.run("explain", "trainingjob.spec", "--recursive").stdout


def test_a_training_job_manifest_reconciles_into_a_completed_job_with_its_status_written_back(kubectl, code):
    name = "kubectl-train"
    assert "created" in kubectl.apply(training_job(name, code["quick"])).stdout
    kubectl.wait("trainingjob", name, "condition=ACK.ResourceSynced", timeout=90)

    obj = kubectl.get("trainingjob", name)
    described = boto3.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["TrainingJobStatus"] == "Completed"
    status = obj["status"]
    assert status["trainingJobStatus"] == "Completed"
    assert status["secondaryStatus"] == "Completed"
    assert status["ackResourceMetadata"]["arn"] == described["TrainingJobArn"]
    assert status["ackResourceMetadata"]["region"] == "us-east-1"
    assert status["modelArtifacts"]["s3ModelArtifacts"] == described["ModelArtifacts"]["S3ModelArtifacts"]
    assert condition(obj, "ACK.ResourceSynced")["status"] == "True"
    assert obj["metadata"]["finalizers"] == ["finalizers.sagemaker.services.k8s.aws/TrainingJob"]

    # Applying the same manifest again changes nothing: no second job, the same ARN.
    assert "unchanged" in kubectl.apply(training_job(name, code["quick"])).stdout
    assert kubectl.get("trainingjob", name)["status"]["ackResourceMetadata"]["arn"] == described["TrainingJobArn"]

    described_again = kubectl.run("describe", "trainingjob", name).stdout
    assert "Events:" in described_again and "ack-sagemaker-controller" in described_again, described_again
    columns = kubectl.run("get", "trainingjobs").stdout
    assert name in columns and "Completed" in columns, columns


def test_get_watch_streams_the_job_until_it_completes(kubectl, code):
    name = "kubectl-watched"
    kubectl.apply(training_job(name, code["quick"]))
    watched = kubectl.run("get", "trainingjob", name, "--watch", "--output-watch-events",
                          "-o", "custom-columns=EVENT:.type,STATUS:.object.status.trainingJobStatus",
                          "--request-timeout=20s", timeout=40, check=False)
    lines = watched.stdout.split()
    assert "ADDED" in lines and "MODIFIED" in lines and "Completed" in lines, watched.stdout + watched.stderr


def test_a_wrongly_cased_field_is_rejected_naming_it(kubectl, code):
    manifest = training_job("kubectl-cased", code["quick"])
    manifest["spec"]["roleArn"] = manifest["spec"].pop("roleARN")
    done = kubectl.apply(manifest, check=False)
    assert done.returncode != 0
    assert 'unknown field "spec.roleArn"' in done.stderr, done.stderr
    assert kubectl.run("get", "trainingjob", "kubectl-cased", check=False).returncode != 0


def test_a_missing_required_field_is_rejected_naming_it(kubectl, code):
    manifest = training_job("kubectl-no-output", code["quick"])
    del manifest["spec"]["outputDataConfig"]
    done = kubectl.apply(manifest, check=False)
    assert done.returncode != 0
    assert "spec.outputDataConfig: Required value" in done.stderr, done.stderr


def test_an_invalid_role_ends_terminal_with_the_api_error(kubectl, code):
    name = "kubectl-bad-role"
    kubectl.apply(training_job(name, code["quick"], role="arn:aws:iam::123456789012:role/NoSuchRole"))
    kubectl.wait("trainingjob", name, "condition=ACK.Terminal", timeout=30)
    terminal = condition(kubectl.get("trainingjob", name), "ACK.Terminal")
    assert terminal["status"] == "True"
    assert "ValidationException" in terminal["message"] and "NoSuchRole" in terminal["message"], terminal
    sm = boto3.client("sagemaker")
    with pytest.raises(sm.exceptions.ClientError, match="Requested resource not found"):
        sm.describe_training_job(TrainingJobName=name)


def test_deleting_a_running_job_stops_it(kubectl, code):
    name = "kubectl-deleted"
    kubectl.apply(training_job(name, code["slow"]))
    kubectl.wait("trainingjob", name, "jsonpath={.status.trainingJobStatus}=InProgress", timeout=30)
    kubectl.run("delete", "trainingjob", name, "--timeout=30s", timeout=45)
    sm = boto3.client("sagemaker")
    wait_until(lambda: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped",
               "the deleted job to stop", timeout=60)
    assert kubectl.run("get", "trainingjob", name, check=False).returncode != 0


def test_a_retained_job_outlives_its_resource(kubectl, code):
    name = "kubectl-retained"
    manifest = training_job(name, code["slow"])
    manifest["metadata"]["annotations"] = {"services.k8s.aws/deletion-policy": "retain"}
    kubectl.apply(manifest)
    kubectl.wait("trainingjob", name, "jsonpath={.status.trainingJobStatus}=InProgress", timeout=30)
    kubectl.run("delete", "trainingjob", name, "--timeout=30s", timeout=45)
    sm = boto3.client("sagemaker")
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    sm.stop_training_job(TrainingJobName=name)


def test_an_existing_job_is_adopted_by_annotation(kubectl, code):
    name = "kubectl-adopted"
    sm = boto3.client("sagemaker")
    request = training_job(name, code["quick"])["spec"]
    sm.create_training_job(
        TrainingJobName=name, RoleArn=request["roleARN"],
        AlgorithmSpecification={"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
        HyperParameters=request["hyperParameters"], OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    arn = sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    manifest = {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "TrainingJob",
                "metadata": {"name": name, "annotations": {"services.k8s.aws/adoption-policy": "adopt",
                                                            "services.k8s.aws/adoption-fields":
                                                                f'{{"trainingJobName": "{name}"}}'}}}
    kubectl.apply(manifest)
    kubectl.wait("trainingjob", name, "condition=ACK.ResourceSynced", timeout=60)
    obj = kubectl.get("trainingjob", name)
    assert obj["status"]["ackResourceMetadata"]["arn"] == arn
    assert obj["spec"]["roleARN"] == labcloud.ROLE_ARN  # the adopted spec is filled from SageMaker


def test_json_and_merge_patches_change_the_spec_and_its_generation(kubectl):
    manifest = {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model",
                "metadata": {"name": "kubectl-patched", "annotations": {"services.k8s.aws/deletion-policy": "retain"}},
                "spec": {"modelName": "kubectl-patched", "primaryContainer": {"image": "x"},
                         "executionRoleARN": "arn:aws:iam::123456789012:role/NoSuchRole"}}
    kubectl.apply(manifest)
    kubectl.run("patch", "model", "kubectl-patched", "--type=json",
                "-p", '[{"op": "replace", "path": "/spec/primaryContainer/image", "value": "y"}]')
    kubectl.run("patch", "model", "kubectl-patched", "--type=merge", "-p", '{"metadata": {"labels": {"team": "red"}}}')
    obj = kubectl.get("model", "kubectl-patched")
    assert obj["spec"]["primaryContainer"]["image"] == "y"
    assert obj["metadata"]["generation"] == 2 and obj["metadata"]["labels"] == {"team": "red"}
    refused = kubectl.run("patch", "model", "kubectl-patched", "--type=json",
                          "-p", '[{"op": "test", "path": "/spec/primaryContainer/image", "value": "z"}]', check=False)
    assert refused.returncode != 0 and "test" in refused.stderr.lower(), refused.stderr
    assert [o["metadata"]["name"] for o in json.loads(kubectl.run("get", "models", "-l", "team=red", "-o", "json")
                                                      .stdout)["items"]] == ["kubectl-patched"]
    kubectl.run("delete", "model", "kubectl-patched", "--timeout=30s", timeout=45)


def _model(name: str, model_data: str) -> dict:
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model", "metadata": {"name": name},
            "spec": {"modelName": name, "executionRoleARN": labcloud.ROLE_ARN,
                     "primaryContainer": {"image": SKLEARN_IMAGE, "modelDataURL": model_data,
                                          "environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                          "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}}}


def _endpoint_config(name: str, model: str, instance_type: str) -> dict:
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "EndpointConfig",
            "metadata": {"name": name},
            "spec": {"endpointConfigName": name, "productionVariants": [
                {"variantName": "AllTraffic", "modelName": model, "initialInstanceCount": 1,
                 "instanceType": instance_type}]}}


def _endpoint(name: str, config: str) -> dict:
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Endpoint", "metadata": {"name": name},
            "spec": {"endpointName": name, "endpointConfigName": config}}


def test_an_endpoint_deploys_from_manifests_and_rolls_to_a_new_config(kubectl, bucket):
    _, regressor = fitted_models()
    model_data = upload(boto3.client("s3"), BUCKET, "models/regressor.tar.gz",
                        model_tarball(regressor, REGRESSOR_SCRIPT))
    kubectl.apply([_model("kubectl-model", model_data),
                   _endpoint_config("kubectl-config-a", "kubectl-model", "ml.m5.large"),
                   _endpoint("kubectl-endpoint", "kubectl-config-a")])
    kubectl.wait("endpoint", "kubectl-endpoint", "condition=ACK.ResourceSynced", timeout=120)
    assert kubectl.get("endpoint", "kubectl-endpoint")["status"]["endpointStatus"] == "InService"

    runtime = boto3.client("sagemaker-runtime")
    X, y = training_data()

    def predict():
        answer = runtime.invoke_endpoint(EndpointName="kubectl-endpoint", ContentType="text/csv",
                                         Body=csv_rows(X[:1]))
        return float(answer["Body"].read().decode().strip().strip("[]"))

    first = predict()

    # A Model cannot change: ACK says so with a terminal condition and keeps the SageMaker model.
    changed = _model("kubectl-model", model_data)
    changed["spec"]["primaryContainer"]["environment"]["EXTRA"] = "1"
    kubectl.apply(changed)
    kubectl.wait("model", "kubectl-model", "condition=ACK.Terminal", timeout=30)
    assert "cannot update a Model" in condition(kubectl.get("model", "kubectl-model"), "ACK.Terminal")["message"]
    kubectl.apply(_model("kubectl-model", model_data))  # put back as it was: synced, no longer terminal
    kubectl.wait("model", "kubectl-model", "condition=ACK.ResourceSynced", timeout=30)
    assert condition(kubectl.get("model", "kubectl-model"), "ACK.Terminal") is None

    kubectl.apply([_endpoint_config("kubectl-config-b", "kubectl-model", "ml.c5.large"),
                   _endpoint("kubectl-endpoint", "kubectl-config-b")])
    sm = boto3.client("sagemaker")
    wait_until(lambda: sm.describe_endpoint(EndpointName="kubectl-endpoint")["EndpointConfigName"]
               == "kubectl-config-b", "the endpoint to move to config b", timeout=60)
    kubectl.wait("endpoint", "kubectl-endpoint", "jsonpath={.status.endpointStatus}=InService", timeout=120)
    kubectl.wait("endpoint", "kubectl-endpoint", "condition=ACK.ResourceSynced", timeout=60)
    described = sm.describe_endpoint(EndpointName="kubectl-endpoint")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert predict() == pytest.approx(first)

    kubectl.run("delete", "endpoint", "kubectl-endpoint", "--timeout=60s", timeout=75)
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_endpoint(EndpointName="kubectl-endpoint")


def test_a_failed_endpoint_is_terminal_and_columns_follow_the_crd(kubectl, bucket):
    # An inference script that cannot be imported: the container does not start, the endpoint ends Failed.
    model_data = upload(boto3.client("s3"), BUCKET, "models/broken.tar.gz",
                        model_tarball(fitted_models()[1], BROKEN_SCRIPT))
    kubectl.apply([_model("kubectl-no-code", model_data),
                   _endpoint_config("kubectl-no-code", "kubectl-no-code", "ml.m5.large"),
                   _endpoint("kubectl-failing", "kubectl-no-code")])
    kubectl.wait("endpoint", "kubectl-failing", "condition=ACK.Terminal", timeout=120)
    obj = kubectl.get("endpoint", "kubectl-failing")
    assert obj["status"]["endpointStatus"] == "Failed"
    assert condition(obj, "ACK.Terminal")["message"] == \
        "Endpoint status reached terminal state: Failed. Check the FailureReason."
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(kubectl.get("model", "kubectl-no-code"), "Ready")["status"] == "True"

    header = kubectl.run("get", "endpoint", "kubectl-failing").stdout.splitlines()[0].split()
    assert header == ["NAME", "STATUS"]
    assert kubectl.run("get", "endpoint", "kubectl-failing", "-o", "wide").stdout.split()[:3] == \
        ["NAME", "FAILURE-REASON", "STATUS"]
    assert kubectl.run("get", "model", "kubectl-no-code").stdout.split()[:2] == ["NAME", "AGE"]
    kubectl.run("delete", "endpoint", "kubectl-failing", "--timeout=60s", timeout=75)


def test_a_recoverable_error_leaves_synced_unknown_until_the_reference_appears(kubectl):
    kubectl.apply(_endpoint("kubectl-waiting", "kubectl-config-later"))
    kubectl.wait("endpoint", "kubectl-waiting", "condition=ACK.Recoverable", timeout=30)
    obj = kubectl.get("endpoint", "kubectl-waiting")
    assert condition(obj, "ACK.ResourceSynced")["status"] == "Unknown"
    assert "kubectl-config-later" in condition(obj, "ACK.Recoverable")["message"]
    kubectl.run("delete", "endpoint", "kubectl-waiting", "--timeout=30s", timeout=45)


def test_a_namespace_can_say_retain_for_every_object_in_it(kubectl, code):
    kubectl.run("create", "namespace", "keep-all")
    kubectl.run("annotate", "namespace", "keep-all", "sagemaker.services.k8s.aws/deletion-policy=retain")
    in_namespace = Kubectl(kubectl.kubeconfig, namespace="keep-all")
    in_namespace.apply(training_job("kubectl-kept-by-namespace", code["slow"]))
    in_namespace.wait("trainingjob", "kubectl-kept-by-namespace", "jsonpath={.status.trainingJobStatus}=InProgress",
                      timeout=30)
    in_namespace.run("delete", "trainingjob", "kubectl-kept-by-namespace", "--timeout=30s", timeout=45)
    sm = boto3.client("sagemaker")
    assert sm.describe_training_job(TrainingJobName="kubectl-kept-by-namespace")["TrainingJobStatus"] == "InProgress"
    sm.stop_training_job(TrainingJobName="kubectl-kept-by-namespace")


def _ack(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": kind, "metadata": {"name": name},
            "spec": spec}


def test_the_registry_and_pipeline_kinds_reconcile(kubectl, bucket):
    _, regressor = fitted_models()
    model_data = upload(boto3.client("s3"), BUCKET, "models/registered.tar.gz",
                        model_tarball(regressor, REGRESSOR_SCRIPT))
    kubectl.apply([
        _ack("ModelPackageGroup", "kubectl-group", {"modelPackageGroupName": "kubectl-group"}),
        _ack("ModelPackage", "kubectl-package", {
            "modelPackageGroupName": "kubectl-group", "modelApprovalStatus": "PendingManualApproval",
            "inferenceSpecification": {"containers": [{"image": SKLEARN_IMAGE, "modelDataURL": model_data}],
                                       "supportedContentTypes": ["text/csv"],
                                       "supportedResponseMIMETypes": ["text/csv"]}}),
    ])
    kubectl.wait("modelpackage", "kubectl-package", "condition=ACK.ResourceSynced", timeout=60)
    package = kubectl.get("modelpackage", "kubectl-package")
    assert package["status"]["modelPackageStatus"] == "Completed"
    sm = boto3.client("sagemaker")
    arn = package["status"]["ackResourceMetadata"]["arn"]
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"

    # Approving is an update the controller sends (UpdateModelPackage).
    kubectl.run("patch", "modelpackage", "kubectl-package", "--type=merge",
                "-p", '{"spec": {"modelApprovalStatus": "Approved"}}')
    wait_until(lambda: sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved",
               "the approval to reach SageMaker", timeout=30)

    definition = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [
        {"Name": "Check", "Type": "Condition", "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": [], "ElseSteps": []}}]})
    kubectl.apply([
        _ack("Pipeline", "kubectl-pipeline", {"pipelineName": "kubectl-pipeline", "roleARN": labcloud.ROLE_ARN,
                                              "pipelineDefinition": definition}),
        _ack("PipelineExecution", "kubectl-run", {"pipelineName": "kubectl-pipeline"}),
    ])
    kubectl.wait("pipelineexecution", "kubectl-run", "condition=ACK.ResourceSynced", timeout=60)
    run = kubectl.get("pipelineexecution", "kubectl-run")
    assert run["status"]["pipelineExecutionStatus"] == "Succeeded"
    executions = sm.list_pipeline_executions(PipelineName="kubectl-pipeline")["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in executions] == [run["status"]["ackResourceMetadata"]["arn"]]


def test_a_transform_job_manifest_runs_a_batch_transform(kubectl, bucket):
    _, regressor = fitted_models()
    s3 = boto3.client("s3")
    model_data = upload(s3, BUCKET, "models/batch.tar.gz", model_tarball(regressor, REGRESSOR_SCRIPT))
    X, _ = training_data()
    upload(s3, BUCKET, "batch/in/rows.csv", csv_rows(X[:5]).encode())
    kubectl.apply([_model("kubectl-batch-model", model_data), _ack("TransformJob", "kubectl-batch", {
        "transformJobName": "kubectl-batch", "modelName": "kubectl-batch-model", "batchStrategy": "SingleRecord",
        "transformInput": {"contentType": "text/csv", "splitType": "Line", "dataSource": {
            "s3DataSource": {"s3DataType": "S3Prefix", "s3URI": f"s3://{BUCKET}/batch/in/"}}},
        "transformOutput": {"s3OutputPath": f"s3://{BUCKET}/batch/out/", "assembleWith": "Line"},
        "transformResources": {"instanceType": "ml.m5.large", "instanceCount": 1}})])
    kubectl.wait("transformjob", "kubectl-batch", "condition=ACK.ResourceSynced", timeout=120)
    assert kubectl.get("transformjob", "kubectl-batch")["status"]["transformJobStatus"] == "Completed"
    out = s3.get_object(Bucket=BUCKET, Key="batch/out/rows.csv.out")["Body"].read().decode()
    assert len(out.strip().splitlines()) == 5


def test_a_processing_job_manifest_runs_its_script(kubectl, bucket):
    s3 = boto3.client("s3")
    upload(s3, BUCKET, "processing/code/count.py", b"import os\nrows = open('/opt/ml/processing/input/data/rows.csv')"
           b".read().splitlines()\nos.makedirs('/opt/ml/processing/output', exist_ok=True)\n"
           b"open('/opt/ml/processing/output/count.txt', 'w').write(str(len(rows)))\n")
    upload(s3, BUCKET, "processing/data/rows.csv", b"1,2\n3,4\n5,6\n")
    kubectl.apply(_ack("ProcessingJob", "kubectl-processing", {
        "processingJobName": "kubectl-processing", "roleARN": labcloud.ROLE_ARN,
        "appSpecification": {"imageURI": SKLEARN_IMAGE,
                             "containerEntrypoint": ["python3", "/opt/ml/processing/input/code/count.py"]},
        "processingResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                                                  "volumeSizeInGB": 5}},
        "processingInputs": [
            {"inputName": name, "s3Input": {"s3URI": f"s3://{BUCKET}/processing/{name}/", "s3DataType": "S3Prefix",
                                            "s3InputMode": "File", "localPath": f"/opt/ml/processing/input/{name}"}}
            for name in ("code", "data")],
        "processingOutputConfig": {"outputs": [{"outputName": "count", "s3Output": {
            "s3URI": f"s3://{BUCKET}/processing/out", "localPath": "/opt/ml/processing/output",
            "s3UploadMode": "EndOfJob"}}]}}))
    kubectl.wait("processingjob", "kubectl-processing", "condition=ACK.ResourceSynced", timeout=120)
    assert kubectl.get("processingjob", "kubectl-processing")["status"]["processingJobStatus"] == "Completed"
    assert s3.get_object(Bucket=BUCKET, Key="processing/out/count.txt")["Body"].read() == b"3"
