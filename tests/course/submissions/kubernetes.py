"""Kept submissions of the Kubernetes lab (13 autograded points: training job 3, fixed manifest 2,
endpoint 3, roll 2, pipeline 3)."""
from tests.course.submissions import Submission, chain, replace

FULL = 13

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "other stopping conditions inside the limits (5 and 20 minutes), the fix written as a whole new "
        "YAML text instead of replace(): all right",
        {
            "training-manifest": replace('"stoppingCondition": {"maxRuntimeInSeconds": 600, "maxWaitTimeInSeconds": 1800}',
                                         '"stoppingCondition": {"maxRuntimeInSeconds": 300, "maxWaitTimeInSeconds": 1200}'),
            "fixed-manifest": replace(
                'fixed_yaml = broken_yaml.replace("  roleArn:", "  roleARN:").replace("volumeSizeInGb:", "volumeSizeInGB:")',
                'fixed_yaml = "\\n".join(line.replace("roleArn:", "roleARN:").replace("InGb:", "InGB:")\n'
                '                       for line in broken_yaml.splitlines())'),
        },
    ),
    Submission(
        "wait-beyond-the-limit", FULL - 3,
        "maxWaitTimeInSeconds of 45 minutes: a valid spot job, but past the stated 30 minutes, so the "
        "training-job check loses its points",
        {"training-manifest": replace('"maxWaitTimeInSeconds": 1800', '"maxWaitTimeInSeconds": 2700')},
    ),
    Submission(
        "roll-by-editing-the-config", FULL - 2,
        "changes config A's instance type in place instead of making a new config: the controller calls it "
        "Terminal and the endpoint never moves, so the roll check loses its points",
        {"roll-manifests": chain(
            replace('"metadata": {"name": new_config_name},\n     "spec": {"endpointConfigName": new_config_name,',
                    '"metadata": {"name": config_name},\n     "spec": {"endpointConfigName": config_name,'),
            replace('"spec": {"endpointName": endpoint_name, "endpointConfigName": new_config_name}}',
                    '"spec": {"endpointName": endpoint_name, "endpointConfigName": config_name}}'))},
    ),
]

SUBMISSIONS += [
    Submission(
        "pipeline-config-not-after-the-model", FULL - 3,
        "the endpoint config step does not wait for the model step (no .after(model)): the compiled pipeline "
        "lets it run first, so the pipeline check loses its points",
        {"pipeline": replace('"initialInstanceCount": 1, "instanceType": "ml.m5.large"}]}).after(model)',
                             '"initialInstanceCount": 1, "instanceType": "ml.m5.large"}]})')},
    ),
    Submission(
        "model-without-its-inference-script", FULL - 5,
        "the Model's container has no SAGEMAKER_PROGRAM: the serving container cannot find inference.py, so "
        "the endpoint never serves and the endpoint and roll checks lose their points",
        {"hosting-manifests": replace(
            '"primaryContainer": {"image": IMAGE, "modelDataURL": artifacts,\n'
            '                                   "environment": {"SAGEMAKER_PROGRAM": "inference.py",\n'
            '                                                   "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}}},',
            '"primaryContainer": {"image": IMAGE, "modelDataURL": artifacts}}},')},
    ),
]
