"""Kubeflow Pipelines (kfp 2) components that drive SageMaker through the ACK controller, as the SageMaker
Components for Kubeflow Pipelines v2 do: `components` (the steps), `ack` (what each step does: apply one
ACK custom resource and wait on its conditions) and `local` (compile a pipeline offline, run it with
kfp's local subprocess runner)."""
