"""Kubeflow Pipelines (kfp 2) steps that drive SageMaker through the ACK controller, as the SageMaker
Components for Kubeflow Pipelines v2 do: `components` (the steps: TrainingJob, Model, EndpointConfig,
Endpoint), `ack` (what every step does, copied into each step's program: apply one ACK custom resource and
wait on its conditions) and `local` (compile a pipeline offline, run it with kfp's local subprocess
runner, never asking a package index)."""
