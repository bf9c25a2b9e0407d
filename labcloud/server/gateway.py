"""The one HTTP endpoint: routes each request to labcloud's SageMaker, its runtime, or moto.

    client ──► Gateway ──► X-Amz-Target: SageMaker.*              → services.sagemaker
                      ├──► POST /endpoints/<name>/invocations     → services.sagemaker_runtime
                      ├──► /_labcloud/*, /_localstack/health      → admin
                      └──► anything else (S3, Logs, IAM, STS, ...) → moto (journaled when durable)
"""

from __future__ import annotations

import io
import json
import os
import re

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from labcloud import __version__
from labcloud.core.errors import ServiceUnavailable

_INVOCATIONS = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
_SCOPE_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/aws4_request")


def _signed_service(environ: dict) -> str | None:
    match = _SCOPE_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("service") if match else None


class Gateway:
    def __init__(self, ctx, sagemaker, runtime, moto_app, journal=None):
        self.ctx = ctx
        self.sagemaker = sagemaker  # SageMakerResponse
        self.runtime = runtime  # sagemaker-runtime responder or None
        self.moto_app = moto_app
        self.journal = journal

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        is_runtime = (self.runtime is not None and environ["REQUEST_METHOD"] == "POST"
                      and _INVOCATIONS.match(path) and _signed_service(environ) in ("sagemaker", None))
        if (target.startswith("SageMaker.") or is_runtime) and not self.ctx.ready.is_set():
            # Until every family has loaded its records, an answer could deny a job that exists: clients
            # retry a 503. (S3 and IAM stay served: loading the records needs them.)
            err = ServiceUnavailable("labcloud is loading its saved state; retry in a moment.")
            return Response(err.json_body(), status=err.status, headers=err.headers())(environ, start_response)
        if target.startswith("SageMaker."):
            request = Request(environ)
            status, headers, body = self.sagemaker.dispatch(target, request.get_data())
            return Response(body, status=status, headers=headers)(environ, start_response)
        if is_runtime:
            request = Request(environ)
            status, headers, body = self.runtime.invoke_endpoint(
                _INVOCATIONS.match(path).group("name"), request)
            # The hot path of every prediction: answer straight through WSGI, without a Response object.
            start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                           [*headers.items(), ("Content-Length", str(len(body)))])
            return [body]
        if path.startswith("/_labcloud/") or path == "/_localstack/health":
            return self._admin(path)(environ, start_response)
        return self._moto(environ, start_response)

    def _admin(self, path: str) -> Response:
        if path == "/_labcloud/health":
            info = {"labcloud": __version__, "pid": os.getpid(), "endpoint_url": self.ctx.endpoint_url,
                    "state_dir": str(self.ctx.state_dir) if self.ctx.state_dir else None,
                    "ready": self.ctx.ready.is_set() and not self.ctx.shutting_down.is_set(),
                    "owner_pid": self.ctx.owner_pid}
        elif path == "/_labcloud/status":
            from labcloud.runtime.serving.launcher import shared_launcher

            launcher = shared_launcher(start=False)
            info = {"labcloud": __version__, "pid": os.getpid(), **self.sagemaker.backend.status(),
                    "model_server_launcher": launcher.describe() if launcher else "not running"}
        elif path == "/_localstack/health":
            # localstack-client and LocalStack tooling look here to see what the endpoint serves.
            info = {"edition": "labcloud", "version": __version__,
                    "services": {s: "running" for s in ("s3", "sagemaker", "logs", "iam", "sts", "events")}}
        else:
            return Response(json.dumps({"message": f"No such labcloud route: {path}"}), status=404,
                            content_type="application/json")
        return Response(json.dumps(info), content_type="application/json")

    def _moto(self, environ, start_response):
        if self.journal is None:
            return self.moto_app(environ, start_response)
        from labcloud.persistence.journal import is_mutation

        if environ.get("wsgi.input_terminated"):
            # A chunked body has no Content-Length: read it whole, then hand moto a plain sized body.
            body = environ["wsgi.input"].read()
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        chunks = list(self.moto_app(environ, capture))
        if captured.get("status", 500) < 300 and is_mutation(environ, body):
            self.journal.record(environ, body, b"".join(chunks))
        return chunks
