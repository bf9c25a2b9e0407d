"""validate_request checks requests against botocore's model and words errors as AWS does."""

from __future__ import annotations

import copy
import time

import pytest

from labcloud.core.errors import (
    SerializationException,
    UnknownOperationException,
    ValidationException,
)
from labcloud.protocols import validation
from labcloud.protocols.validation import require, validate_request

BUCKET = "s3://sagemaker-us-east-1-123456789012"

# A CreateTrainingJob body as the SageMaker Python SDK v2 (2.257.7) sends it for a script-mode
# estimator with Managed Spot Training, checkpoints, a channel, environment and tags.
SDK_TRAINING_JOB = {
    "AlgorithmSpecification": {
        "TrainingInputMode": "File",
        "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "EnableSageMakerMetricsTimeSeries": True,
        "MetricDefinitions": [{"Name": "validation:rmse", "Regex": r".*\[[0-9]+\].*#011validation-rmse:([-+]?[0-9]*\.?[0-9]+)"}],
    },
    "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/spot/output"},
    "TrainingJobName": "xgb-spot-2026-01-01-00-00-00-000",
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "InputDataConfig": [{
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/spot/train.csv",
                                        "S3DataDistributionType": "FullyReplicated"}},
        "ContentType": "text/csv",
        "ChannelName": "train",
    }],
    "HyperParameters": {
        "num_round": "50",
        "objective": "reg:squarederror",
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": f'"{BUCKET}/xgb-spot/source/sourcedir.tar.gz"',
        "sagemaker_region": '"us-east-1"',
    },
    "Environment": {"MODE": "lab"},
    "Tags": [{"Key": "course", "Value": "mlops"}],
    "EnableManagedSpotTraining": True,
    "CheckpointConfig": {"S3Uri": f"{BUCKET}/spot/checkpoints", "LocalPath": "/opt/ml/checkpoints"},
    "DebugHookConfig": {"S3OutputPath": f"{BUCKET}/spot/output", "CollectionConfigurations": []},
    "ProfilerConfig": {"S3OutputPath": f"{BUCKET}/spot/output", "DisableProfiler": False},
    "RetryStrategy": {"MaximumRetryAttempts": 2},
}


def training_job(**changes) -> dict:
    body = copy.deepcopy(SDK_TRAINING_JOB)
    body.update(changes)
    return body


def error_of(operation, params, service="sagemaker", expected=ValidationException):
    with pytest.raises(expected) as caught:
        validate_request(operation, params, service)
    return caught.value


def test_the_sdk_request_passes_fast():
    validate_request("CreateTrainingJob", training_job())  # first call loads the model
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        validate_request("CreateTrainingJob", SDK_TRAINING_JOB)
    assert (time.perf_counter() - start) / runs < 0.001


def test_missing_required_members():
    err = error_of("CreateTrainingJob", {"TrainingJobName": "job"})
    assert err.code == "ValidationException"
    assert err.message == (
        "2 validation errors detected: "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null")


def test_null_is_an_absent_member_and_unknown_members_are_ignored():
    err = error_of("CreateTrainingJob", training_job(RoleArn=None))
    assert err.message == ("1 validation error detected: Value null at 'roleArn' failed to satisfy "
                           "constraint: Member must not be null")
    validate_request("CreateTrainingJob", training_job(NotAMember={"x": 1}, VpcConfig=None))


@pytest.mark.parametrize("member, value, message", [
    ("TrainingJobName", 5,
     "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    ("StoppingCondition", {"MaxRuntimeInSeconds": "60"},
     "class java.lang.String can not be converted to an Integer"),
    ("ResourceConfig", {"InstanceCount": True, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
     "class java.lang.Boolean can not be converted to an Integer"),
    ("EnableManagedSpotTraining", 1,
     "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean"),
    ("EnableManagedSpotTraining", "yes", "'YES' can not be converted to an Boolean"),
    ("InputDataConfig", {"ChannelName": "train"}, "Start of structure or map found where not expected."),
    ("OutputDataConfig", "s3://bucket/out", "Expected null"),
    ("HyperParameters", ["a"], "Start of list found where not expected"),
    ("Tags", "course=mlops", "Expected list or null"),
])
def test_wrong_json_types_are_serialization_errors(member, value, message):
    err = error_of("CreateTrainingJob", training_job(**{member: value}), expected=SerializationException)
    assert err.code == "SerializationException"
    assert err.message == message


def test_enum():
    body = training_job()
    body["AlgorithmSpecification"]["TrainingInputMode"] = "Files"
    err = error_of("CreateTrainingJob", body)
    assert err.message == (
        "1 validation error detected: Value 'Files' at 'algorithmSpecification.trainingInputMode' "
        "failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]")


def test_length_and_pattern_of_one_member_are_two_errors():
    name = "a" * 64
    err = error_of("CreateTrainingJob", training_job(TrainingJobName=name))
    assert err.message == (
        f"2 validation errors detected: Value '{name}' at 'trainingJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63; "
        f"Value '{name}' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def test_pattern_matches_the_whole_value():
    err = error_of("CreateTrainingJob", training_job(TrainingJobName="abc!"))
    assert err.message == (
        "1 validation error detected: Value 'abc!' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
    err = error_of("CreateTrainingJob", training_job(RoleArn="SageMakerRole"))
    assert "Value 'SageMakerRole' at 'roleArn' failed to satisfy constraint: Member must satisfy " \
           r"regular expression pattern: arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+" in err.message


def test_range_on_a_nested_member():
    err = error_of("CreateTrainingJob", training_job(StoppingCondition={"MaxRuntimeInSeconds": 0}))
    assert err.message == (
        "1 validation error detected: Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1")


def test_float_values_and_bounds_print_as_java_doubles():
    body = {"EndpointConfigName": "cfg", "ProductionVariants": [
        {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large", "InitialVariantWeight": -1}]}
    err = error_of("CreateEndpointConfig", body)
    assert err.message == (
        "1 validation error detected: Value '-1.0' at 'productionVariants.1.member.initialVariantWeight' "
        "failed to satisfy constraint: Member must have value greater than or equal to 0.0")


def test_list_of_structures_uses_one_based_member_paths():
    second = {"ChannelName": "validation", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix"}}}
    body = training_job(InputDataConfig=SDK_TRAINING_JOB["InputDataConfig"] + [second])
    err = error_of("CreateTrainingJob", body)
    assert err.message == (
        "1 validation error detected: Value null at 'inputDataConfig.2.member.dataSource.s3DataSource.s3Uri' "
        "failed to satisfy constraint: Member must not be null")


def test_list_of_strings_is_reported_once_with_every_item_constraint():
    body = training_job(VpcConfig={"SecurityGroupIds": ["sg-1", "sg_2!", "sg 3"], "Subnets": ["subnet-1"]})
    err = error_of("CreateTrainingJob", body)
    assert err.message == (
        "1 validation error detected: Value '[sg-1, sg_2!, sg 3]' at 'vpcConfig.securityGroupIds' failed "
        "to satisfy constraint: Member must satisfy constraint: [Member must have length less than or "
        "equal to 32, Member must have length greater than or equal to 0, Member must satisfy regular "
        "expression pattern: [-0-9a-zA-Z]+]")


def test_list_length():
    err = error_of("CreateTrainingJob", training_job(VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": []}))
    assert err.message == (
        "1 validation error detected: Value '[]' at 'vpcConfig.subnets' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1")


def test_map_values_keys_and_size():
    err = error_of("CreateTrainingJob", training_job(HyperParameters={"eta": "x" * 2501}))
    assert err.message == (
        f"1 validation error detected: Value '{{eta={'x' * 2501}}}' at 'hyperParameters' failed to satisfy "
        "constraint: Map value must satisfy constraint: [Member must have length less than or equal to "
        "2500, Member must have length greater than or equal to 0, Member must satisfy regular "
        "expression pattern: .*]")
    err = error_of("CreateTrainingJob", training_job(Environment={"1BAD": "v", "GOOD": "v"}))
    assert err.message == (
        "1 validation error detected: Value '{1BAD=v, GOOD=v}' at 'environment' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must have length less than or equal to "
        "512, Member must have length greater than or equal to 0, Member must satisfy regular "
        "expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]")
    too_many = {f"K{i}": "v" for i in range(101)}
    err = error_of("CreateTrainingJob", training_job(Environment=too_many))
    assert err.message.startswith("1 validation error detected: Value '{K0=v, K1=v")
    assert err.message.endswith("at 'environment' failed to satisfy constraint: "
                                "Member must have length less than or equal to 100")


def test_java_unicode_classes_in_patterns():
    ok = training_job(Tags=[{"Key": "équipe", "Value": "café crème 42 a/b=c+d-e@f"}])
    validate_request("CreateTrainingJob", ok)
    err = error_of("CreateTrainingJob", training_job(Tags=[{"Key": "course", "Value": "ml!ops"}]))
    assert err.message == (
        "1 validation error detected: Value 'ml!ops' at 'tags.1.member.value' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")


def test_sagemaker_runtime_and_sensitive_values():
    validate_request("InvokeEndpoint", {"EndpointName": "ep", "Body": b"1,2", "ContentType": "text/csv"},
                     service="sagemaker-runtime")
    err = error_of("InvokeEndpoint", {"EndpointName": "ep", "Body": b"1", "ContentType": "text/csvé"},
                   service="sagemaker-runtime")
    assert err.message == (r"1 validation error detected: Value 'text/csvé' at 'contentType' failed to "
                           r"satisfy constraint: Member must satisfy regular expression pattern: \p{ASCII}*")
    # CustomAttributes is a sensitive shape: AWS leaves its value out of the message.
    err = error_of("InvokeEndpoint", {"EndpointName": "ep", "Body": b"1", "CustomAttributes": "é"},
                   service="sagemaker-runtime")
    assert err.message.startswith("1 validation error detected: Value at 'customAttributes' failed")
    err = error_of("InvokeEndpoint", {"EndpointName": "ep", "Body": b"1", "TargetModel": " model.tar.gz"},
                   service="sagemaker-runtime")
    assert "at 'targetModel' failed to satisfy constraint" in err.message


def test_at_most_ten_errors_are_listed():
    body = {"ModelName": "m", "Containers": [{"Image": "i" * 300} for _ in range(12)]}
    err = error_of("CreateModel", body)
    assert err.message.startswith("10 validation errors detected: ")
    assert err.message.count("failed to satisfy constraint") == 10


def test_unknown_operation():
    err = error_of("CreateTrainingJobs", {}, expected=UnknownOperationException)
    assert err.code == "UnknownOperationException"
    assert "CreateTrainingJobs" in err.message
    error_of("CreateTrainingJob", {}, service="sagemaker-runtime", expected=UnknownOperationException)


@pytest.mark.parametrize("pattern, good, bad", [
    (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "ok 😀", "bell\x07"),
    (r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}", "Ünïcode 1", "no!"),
    (r"arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:function:.*",
     "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:1234:function:f"),
    (r"\A\S[\p{Print}]*\z", "model-1.tar.gz", "model\n"),
    (r"\d+", "123", "١٢٣"),  # Java's \d is ASCII-only
])
def test_java_patterns_are_translated(pattern, good, bad):
    compiled = validation._compile(pattern)
    assert compiled.fullmatch(good)
    assert not compiled.fullmatch(bad)


def test_a_pattern_python_cannot_compile_is_skipped():
    assert validation._compile(r"\p{javaLowerCase}+") is None
    assert validation._compile(r"[a-z") is None


def test_require():
    require(True, "never raised")
    with pytest.raises(ValidationException) as caught:
        require(False, "MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds.")
    assert caught.value.message == "MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds."
