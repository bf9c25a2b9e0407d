"""InvokeEndpoint (sagemaker-runtime, REST-JSON): POST /endpoints/<name>/invocations.

The body goes through the endpoint's containers (Serial) or to the one named by
X-Amzn-SageMaker-Target-Container-Hostname (Direct), on one instance of one production variant.
Errors are the runtime's own shapes (exceptions.py): ValidationError (400) for a request that cannot be
served, ModelError (424) when a container answers with an error or does not answer.
"""

from __future__ import annotations

import time

from labcloud.core.errors import AWSError
from labcloud.platform.service import Routes, ServiceDefinition
from labcloud.protocols.rest_json import RestJsonService
from labcloud.runtime.serving.containers import ContainerError, ContainerUnavailable
from labcloud.services.sagemaker_runtime.exceptions import ModelError, ValidationError
from labcloud.services.sagemaker_runtime.metrics import InvocationMetrics

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's payload limit
INVOCATIONS = r"^/endpoints/(?P<name>.*)/invocations$"  # any name: a bad one is a ValidationError, as AWS's


def log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


class RuntimeService(RestJsonService):
    botocore_name = "sagemaker-runtime"
    validation_error = ValidationError
    operation_names = ("InvokeEndpoint",)

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.routes = {INVOCATIONS: self.invoke_endpoint}
        self.endpoints = None  # SageMaker's Endpoints family, found when the server starts
        self.metrics = InvocationMetrics(ctx)

    def start(self) -> None:
        self.endpoints = self.ctx.services.service("sagemaker").endpoints
        self.metrics.start()

    def shutdown(self) -> None:
        self.metrics.flush()  # while the endpoint still answers: the last invocations' metrics are kept

    def max_request_bytes(self, environ) -> int | None:
        return MAX_PAYLOAD_BYTES  # refused before it is read

    def request_too_large(self, size: int, limit: int) -> AWSError:
        return ValidationError(f"The request body is {size} bytes; InvokeEndpoint accepts at most {limit} bytes. "
                               "Use batch transform or asynchronous inference.")

    def invoke_endpoint(self, request, path: dict) -> tuple[int, dict, bytes]:
        self.validate_input("InvokeEndpoint", request, {"EndpointName": path["name"]})
        body, headers = self._invoke(path["name"], request)
        return 200, headers, body

    def _invoke(self, name: str, request) -> tuple[bytes, dict]:
        record, deployment = self.endpoints.serving(name)
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
        _check_target(name, variant, target)
        started, timings, failed = time.monotonic(), [], None
        try:
            out, content_type = self._call(name, deployment, variant, body, request.headers, target, timings)
        except ContainerError as err:
            failed = err.status if 400 <= err.status < 600 else 500
            kind = "client" if 400 <= err.status < 500 else "server"
            raise ModelError(
                f'Received {kind} error ({err.status}) from {err.container.hostname} with message '
                f'"{err.message}". {self._console_hint(name)}', err.status, err.message,
                self._log_arn(name)) from None
        except ContainerUnavailable as err:
            failed = 500
            message = (f"Your invocation could not be served by container {err.container.hostname}: {err.reason}. "
                       "Check its logs in CloudWatch, fix the model and update or re-create the endpoint.")
            raise ModelError(f'Received server error (0) from {err.container.hostname} with message "{message}". '
                             f"{self._console_hint(name)}", 0, message, self._log_arn(name)) from None
        finally:
            self.metrics.record(name, variant.name, time.monotonic() - started, timings, failed,
                                len(variant.hostnames) > 1)
        return out, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant.name}

    def _call(self, name, deployment, variant, body, headers, target, timings: list) -> tuple[bytes, str]:
        content_type, accept = headers.get("Content-Type"), headers.get("Accept")
        try:
            return variant.next_instance().invoke(body, content_type, accept, target, timings)
        except ContainerUnavailable:
            # An UpdateEndpoint may have swapped the deployment between the look-up and the call: the
            # request then goes to what serves the endpoint now, once.
            current = self.endpoints.serving(name)[1]
            if current is None or current is deployment:
                raise
            instance = (current.variant(variant.name) or current.variant(None)).next_instance()
            timings.clear()
            return instance.invoke(body, content_type, accept, target, timings)

    def _console_hint(self, endpoint: str) -> str:
        region = self.ctx.region
        return (f"See https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
                f"#logEventViewer:group={log_group(endpoint)} in account {self.ctx.account_id} for more information.")

    def _log_arn(self, name: str) -> str:
        return self.ctx.arn("logs", f"log-group:{log_group(name)}")


def _check_target(name: str, variant, target: str | None) -> None:
    """TargetContainerHostname as the variant's InferenceExecutionConfig Mode allows it."""
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


SERVICE = ServiceDefinition(name="sagemaker-runtime",
                            routes=Routes(rest_paths=(("POST", INVOCATIONS),), signing_names=("sagemaker",),
                                          owned_paths=(r"^/endpoints/",), refuse_foreign_signatures=True),
                            factory=RuntimeService, health_names=())
