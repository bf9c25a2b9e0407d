"""SageMaker's control plane (AWS JSON 1.1, X-Amz-Target SageMaker.*): training, hosting, batch transform."""

from labcloud.services.sagemaker.service import SERVICE

__all__ = ["SERVICE"]
