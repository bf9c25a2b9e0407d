"""The pipeline steps: kfp 2 lightweight components, one per ACK kind a training-to-endpoint pipeline needs,
that work as the SageMaker Components for Kubeflow Pipelines v2 do: each creates (or updates) one ACK
custom resource through the Kubernetes API and waits on the controller's conditions. A step's `spec` is
the resource's spec with the controller's field names (`trainingJobName`, `roleARN`, `s3URI`, ...).

    training_job     -> (arn, model_artifacts, status)   once the job has Completed
    model            -> the model's ARN
    endpoint_config  -> the endpoint configuration's ARN
    endpoint         -> (arn, status)                    once the endpoint is InService

A step fails with the controller's message when its resource is ACK.Terminal (an error only a change of
the spec fixes, such as an invalid role), with the API server's when it refuses the object (an unknown or
wrongly cased field), when a job ends Failed or Stopped or an endpoint Failed, and with a TimeoutError
naming what it saw last after `timeout_seconds`.

Each step's program is self-contained: kfp copies `ack.apply_and_wait` into it (`additional_funcs`), so
it needs nothing of labcloud's where it runs, only kfp and the `kubernetes` client (`PACKAGES`). What the
real components do in a cluster that these do not:

- The SageMaker Components v2 are container components: their steps run the components' own container
  image, which holds their code. These are lightweight components whose program travels in the pipeline's
  YAML: a KFP backend would run it in `BASE_IMAGE`, pip installing `PACKAGES` at each step's start; here
  kfp's subprocess runner runs it as a process of this environment (`labcloud.kubeflow.local`).
- On a cluster, the step's pod talks to the API server with its service account (`kubeconfig=""` loads
  the in-cluster configuration); that account needs RBAC rights on the sagemaker.services.k8s.aws
  resources of its namespace. The controller, not the step, calls SageMaker, with its own IAM role (IRSA
  on EKS). Here the step reads the kubeconfig `labcloud kubeconfig` writes, and labcloud plays the API
  server and the controller.
- The SageMaker Components v2 document support for the KFP v1 backend with the kfp 1.8 SDK; these are
  written for the kfp 2 SDK. None of them is run by a KFP backend here: no Argo workflow, no pods, no
  caching or artifact store beyond kfp's local pipeline root.
"""

from typing import NamedTuple  # (no `from __future__ import annotations`: kfp reads the real types)

import kfp
from kfp import dsl

from labcloud.kubeflow.ack import apply_and_wait

# The image a KFP backend would run the steps in; kfp's local subprocess runner runs them here instead.
BASE_IMAGE = "python:3.11-slim"
# What a step's program needs: the kubernetes client, and kfp itself (named here, kfp adds no install of
# its own: one pip call per step instead of two). Both are installed here, so the local runner's pip has
# nothing to do (local.run keeps it off any package index); in a KFP backend's pod they are installed.
PACKAGES = ["kubernetes", f"kfp=={kfp.__version__}"]

step = dsl.component(base_image=BASE_IMAGE, packages_to_install=PACKAGES, additional_funcs=[apply_and_wait])


@step
def training_job(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
                 timeout_seconds: int = 900) -> NamedTuple("Outputs", [("arn", str), ("model_artifacts", str),
                                                                     ("status", str)]):
    """A TrainingJob: returns once the job has Completed (a Failed or Stopped job fails the step).

    Args:
        kubeconfig: Path of a kubeconfig file; "" for the pod's in-cluster configuration.
        name: The TrainingJob object's name.
        spec: The TrainingJob's spec, with the controller's field names.
        namespace: The object's namespace.
        timeout_seconds: How long to wait for the job to end.
    """
    from collections import namedtuple

    status = apply_and_wait(kubeconfig, "TrainingJob", name, spec, namespace, timeout_seconds,
                            "trainingJobStatus", "Completed")
    outputs = namedtuple("Outputs", ["arn", "model_artifacts", "status"])
    return outputs(status["ackResourceMetadata"]["arn"],
                   (status.get("modelArtifacts") or {}).get("s3ModelArtifacts", ""), status["trainingJobStatus"])


@step
def model(kubeconfig: str, name: str, spec: dict, namespace: str = "default", timeout_seconds: int = 300) -> str:
    """A Model: returns its ARN once SageMaker has it.

    Args:
        kubeconfig: Path of a kubeconfig file; "" for the pod's in-cluster configuration.
        name: The Model object's name.
        spec: The Model's spec, with the controller's field names.
        namespace: The object's namespace.
        timeout_seconds: How long to wait for the controller to sync it.
    """
    return apply_and_wait(kubeconfig, "Model", name, spec, namespace, timeout_seconds)["ackResourceMetadata"]["arn"]


@step
def endpoint_config(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
                    timeout_seconds: int = 300) -> str:
    """An EndpointConfig: returns its ARN once SageMaker has it.

    Args:
        kubeconfig: Path of a kubeconfig file; "" for the pod's in-cluster configuration.
        name: The EndpointConfig object's name.
        spec: The EndpointConfig's spec, with the controller's field names.
        namespace: The object's namespace.
        timeout_seconds: How long to wait for the controller to sync it.
    """
    status = apply_and_wait(kubeconfig, "EndpointConfig", name, spec, namespace, timeout_seconds)
    return status["ackResourceMetadata"]["arn"]


@step
def endpoint(kubeconfig: str, name: str, spec: dict, namespace: str = "default",
             timeout_seconds: int = 900) -> NamedTuple("Outputs", [("arn", str), ("status", str)]):
    """An Endpoint: returns once it is InService (a Failed endpoint fails the step). Applied again with
    another `endpointConfigName`, it moves the endpoint to that configuration and waits for it.

    Args:
        kubeconfig: Path of a kubeconfig file; "" for the pod's in-cluster configuration.
        name: The Endpoint object's name.
        spec: The Endpoint's spec, with the controller's field names.
        namespace: The object's namespace.
        timeout_seconds: How long to wait for the endpoint to be InService.
    """
    from collections import namedtuple

    status = apply_and_wait(kubeconfig, "Endpoint", name, spec, namespace, timeout_seconds,
                            "endpointStatus", "InService")
    return namedtuple("Outputs", ["arn", "status"])(status["ackResourceMetadata"]["arn"], status["endpointStatus"])
