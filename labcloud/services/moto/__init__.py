"""moto's AWS services (S3, CloudWatch Logs, IAM, STS, EventBridge, ...), journaled for durability."""

from labcloud.services.moto.service import SERVICE

__all__ = ["SERVICE"]
