"""SageMaker's runtime (REST-JSON): InvokeEndpoint, served by the model servers behind each endpoint."""

from labcloud.services.sagemaker_runtime.service import SERVICE

__all__ = ["SERVICE"]
