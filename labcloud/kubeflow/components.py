"""The pipeline steps: kfp 2 lightweight components, one per ACK kind a training-to-endpoint pipeline
needs, with the interface of the SageMaker Components for Kubeflow Pipelines v2 (the resource's spec in,
its ARN and status out; the spec uses the controller's field names, e.g. `roleARN`).

Each step imports labcloud.kubeflow.ack where it runs: kfp's local subprocess runner runs it in this
environment, where labcloud is installed. On a KFP backend in a cluster, the steps would run in a container
image that holds that code (the real components ship theirs in AWS's image) and reach the API server
with the pod's service account instead of a kubeconfig (pass kubeconfig="").
"""

from typing import NamedTuple  # (no `from __future__ import annotations`: kfp reads the real types)

from kfp import dsl

# The image a KFP backend would run the steps in; kfp's local subprocess runner ignores it.
BASE_IMAGE = "python:3.11-slim"


@dsl.component(base_image=BASE_IMAGE)
def training_job(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
                 timeout_seconds: int = 900) -> NamedTuple("TrainingOutputs", [("arn", str),
                                                                             ("model_artifacts", str),
                                                                             ("status", str)]):
    """A TrainingJob: returns once the job has Completed (a Failed or Stopped job fails the step)."""
    from collections import namedtuple

    from labcloud.kubeflow.ack import apply_and_wait

    status = apply_and_wait(kubeconfig, "TrainingJob", name, spec, namespace, timeout_seconds,
                            "trainingJobStatus")
    outputs = namedtuple("TrainingOutputs", ["arn", "model_artifacts", "status"])
    return outputs(status["ackResourceMetadata"]["arn"],
                   status.get("modelArtifacts", {}).get("s3ModelArtifacts", ""), status["trainingJobStatus"])


@dsl.component(base_image=BASE_IMAGE)
def model(kubeconfig: str, name: str, spec: dict, namespace: str = "default", timeout_seconds: int = 300) -> str:
    """A Model: returns its ARN once SageMaker has it."""
    from labcloud.kubeflow.ack import apply_and_wait

    return apply_and_wait(kubeconfig, "Model", name, spec, namespace, timeout_seconds)["ackResourceMetadata"]["arn"]


@dsl.component(base_image=BASE_IMAGE)
def endpoint_config(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
                    timeout_seconds: int = 300) -> str:
    """An EndpointConfig: returns its ARN once SageMaker has it."""
    from labcloud.kubeflow.ack import apply_and_wait

    status = apply_and_wait(kubeconfig, "EndpointConfig", name, spec, namespace, timeout_seconds)
    return status["ackResourceMetadata"]["arn"]


@dsl.component(base_image=BASE_IMAGE)
def endpoint(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
             timeout_seconds: int = 900) -> NamedTuple("EndpointOutputs", [("arn", str), ("status", str)]):
    """An Endpoint: returns once it is InService (a Failed endpoint fails the step)."""
    from collections import namedtuple

    from labcloud.kubeflow.ack import apply_and_wait

    status = apply_and_wait(kubeconfig, "Endpoint", name, spec, namespace, timeout_seconds, "endpointStatus")
    return namedtuple("EndpointOutputs", ["arn", "status"])(status["ackResourceMetadata"]["arn"],
                                                           status["endpointStatus"])
