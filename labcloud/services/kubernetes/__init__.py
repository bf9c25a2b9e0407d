"""labcloud's Kubernetes API for the ACK SageMaker controller's resources (group sagemaker.services.k8s.aws,
version v1alpha1), with a reconciler that does what the controller does: {endpoint_url}/k8s."""

from labcloud.services.kubernetes.service import SERVICE

__all__ = ["SERVICE"]
