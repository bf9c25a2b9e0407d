"""The services labcloud serves, one line each: `package.module:DEFINITION`.

A new service is a folder of its own under labcloud/services/ that declares a ServiceDefinition
(labcloud/platform/service.py), plus one line here. See ARCHITECTURE.md, "Adding a service".
"""

SERVICES = [
    "labcloud.services.moto:SERVICE",  # S3, Logs, IAM, STS, EventBridge, ...: what no other service claims
    "labcloud.services.sagemaker:SERVICE",
    "labcloud.services.sagemaker_runtime:SERVICE",
    "labcloud.services.codecommit:SERVICE",
    "labcloud.services.codebuild:SERVICE",
    "labcloud.services.servicecatalog:SERVICE",
    "labcloud.services.codepipeline:SERVICE",
    "labcloud.services.kubernetes:SERVICE",  # the Kubernetes API of the ACK SageMaker resources, at /k8s
    "labcloud.services.usage:SERVICE",  # labcloud's own: what SageMaker jobs and endpoints used (`labcloud bill`)
]
