"""sagemaker-runtime's error shapes: its 400 is ValidationError (the control plane says ValidationException),
and ModelError carries what the container answered."""

from __future__ import annotations

from labcloud.core.errors import AWSError


class ValidationError(AWSError):
    """sagemaker-runtime names its 400 error ValidationError."""

    code = "ValidationError"


class ModelError(AWSError):
    """InvokeEndpoint: a container answered with an error (AWS carries its status and message)."""

    code = "ModelError"
    status = 424

    def __init__(self, message: str, original_status_code: int, original_message: str, log_stream_arn: str = ""):
        super().__init__(message)
        self.original_status_code = original_status_code
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn

    def extra_fields(self) -> dict:
        fields = {"OriginalStatusCode": self.original_status_code, "OriginalMessage": self.original_message}
        if self.log_stream_arn:
            fields["LogStreamArn"] = self.log_stream_arn
        return fields
