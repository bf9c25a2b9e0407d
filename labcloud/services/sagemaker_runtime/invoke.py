"""InvokeEndpoint (sagemaker-runtime, rest-json): POST /endpoints/<name>/invocations.

The body goes through the endpoint's containers (Serial) or to the one named by
X-Amzn-SageMaker-Target-Container-Hostname (Direct), on one instance of one production variant.
Errors are the runtime's own shapes: ValidationError (400) for a request that cannot be served,
ModelError (424) when a container answers with an error or does not answer.
"""

from __future__ import annotations

import uuid

from labcloud.core.errors import AWSError, ModelError
from labcloud.runtime.serving.containers import ContainerError, ContainerUnavailable

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's payload limit


class ValidationError(AWSError):
    """sagemaker-runtime names its 400 error ValidationError (the control plane says ValidationException)."""

    code = "ValidationError"


def log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def _console_hint(ctx, endpoint: str) -> str:
    return (f"See https://{ctx.region}.console.aws.amazon.com/cloudwatch/home?region={ctx.region}"
            f"#logEventViewer:group={log_group(endpoint)} in account {ctx.account_id} for more information.")


class RuntimeResponse:
    def __init__(self, ctx, backend):
        self.ctx = ctx
        self.backend = backend

    def invoke_endpoint(self, name: str, request) -> tuple[int, dict, bytes]:
        request_id = str(uuid.uuid4())
        try:
            body, headers = self._invoke(name, request)
        except AWSError as err:
            return err.status, {**err.headers(), "x-amzn-RequestId": request_id}, err.json_body()
        return 200, {**headers, "x-amzn-RequestId": request_id}, body

    def _invoke(self, name: str, request) -> tuple[bytes, dict]:
        hosting = self.backend.family("Hosting")
        record, deployment = hosting.serving(name) if hosting else (None, None)
        if record is None:
            raise ValidationError(f"Endpoint {name} of account {self.ctx.account_id} not found.")
        if deployment is None:
            raise ValidationError(
                f"Endpoint {name} of account {self.ctx.account_id} is not in service: its status is "
                f"{record['EndpointStatus']}. Invoke it once DescribeEndpoint reports InService.")
        body = request.get_data()
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValidationError(f"The request body is {len(body)} bytes; InvokeEndpoint accepts at most "
                                  f"{MAX_PAYLOAD_BYTES} bytes. Use batch transform or asynchronous inference.")
        target_variant = request.headers.get("X-Amzn-SageMaker-Target-Variant")
        variant = deployment.variant(target_variant)
        if variant is None:
            raise ValidationError(f"Variant {target_variant} not found for endpoint {name}; its variants are "
                                  f"{', '.join(v.name for v in deployment.variants)}.")
        target = request.headers.get("X-Amzn-SageMaker-Target-Container-Hostname")
        if variant.mode == "Direct":
            if not target:
                raise ValidationError(
                    f"Endpoint {name} runs its containers in Direct mode: set TargetContainerHostname to one of "
                    f"{', '.join(variant.hostnames)}.")
            if target not in variant.hostnames:
                raise ValidationError(f"Container hostname {target} not found in endpoint {name}; set "
                                      f"TargetContainerHostname to one of {', '.join(variant.hostnames)}.")
        elif target:
            raise ValidationError(f"TargetContainerHostname is only valid for an endpoint whose model has "
                                  f"InferenceExecutionConfig Mode Direct; endpoint {name} runs its containers "
                                  f"in {variant.mode} mode.")
        instance = variant.next_instance()
        try:
            try:
                out, content_type = instance.invoke(body, request.headers.get("Content-Type"),
                                                    request.headers.get("Accept"), target)
            except ContainerUnavailable:
                # An UpdateEndpoint may have swapped the deployment between the look-up and the call: the
                # request then goes to what serves the endpoint now, once.
                current = hosting.serving(name)[1]
                if current is None or current is deployment:
                    raise
                instance = (current.variant(variant.name) or current.variant(None)).next_instance()
                out, content_type = instance.invoke(body, request.headers.get("Content-Type"),
                                                    request.headers.get("Accept"), target)
        except ContainerError as err:
            kind = "client" if 400 <= err.status < 500 else "server"
            raise ModelError(
                f'Received {kind} error ({err.status}) from {err.container.hostname} with message '
                f'"{err.message}". {_console_hint(self.ctx, name)}', err.status, err.message,
                self._log_arn(name)) from None
        except ContainerUnavailable as err:
            message = (f"Your invocation could not be served by container {err.container.hostname}: {err.reason}. "
                       "Check its logs in CloudWatch, fix the model and update or re-create the endpoint.")
            raise ModelError(f'Received server error (0) from {err.container.hostname} with message "{message}". '
                             f"{_console_hint(self.ctx, name)}", 0, message, self._log_arn(name)) from None
        return out, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant.name}

    def _log_arn(self, name: str) -> str:
        return self.ctx.arn("logs", f"log-group:{log_group(name)}")
