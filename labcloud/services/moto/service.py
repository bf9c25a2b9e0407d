"""Every AWS service labcloud does not run itself (S3, CloudWatch Logs, IAM, STS, EventBridge, ...): moto,
in the same process, behind the gateway as the service that takes what no other claims.

moto keeps its state in memory; with a state directory, every request that changed something is
appended to a journal (persistence/journal.py) and replayed into moto before the endpoint serves, so
objects, log events and roles survive a restart, a `kill -9` included.
"""

from __future__ import annotations

import functools
import io
import logging
import re

from moto.moto_api._internal.models import moto_api_backend
from botocore.exceptions import UnknownServiceError
from moto.moto_server.werkzeug_app import UNSIGNED_REQUESTS, DomainDispatcherApplication, create_backend_app

from labcloud.persistence.journal import Journal, is_mutation, replay
from labcloud.platform.service import CONTROL_PLANE_MAX_BYTES, Routes, Service, ServiceDefinition
from labcloud.protocols.validation import service_model
from labcloud.services.moto.defaults import ensure_defaults

log = logging.getLogger("labcloud")
JOURNAL_FILE = "moto-journal.bin"
_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class MotoService(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        # moto's state is per process: a server starts from empty and replays its own journal into it.
        moto_api_backend.reset()
        self.app = DomainDispatcherApplication(create_backend_app)
        self.journal: Journal | None = None

    def prepare(self) -> None:
        if self.ctx.state_dir:
            path = self.ctx.state_dir / JOURNAL_FILE
            replayed = replay(path, self.app)
            if replayed:
                log.info("replayed %d requests from %s", replayed, path)
            self.journal = Journal(path)

    def start(self) -> None:
        ensure_defaults(self.ctx)

    def close(self) -> None:
        if self.journal:
            self.journal.close()

    def serves_target(self, prefix: str, operation: str, signed_for: str | None) -> bool:
        """Whether an X-Amz-Target that no labcloud service claims is an operation of the AWS service the
        request is signed for (its botocore model's targetPrefix and operations), as AWS routes it; an
        unsigned one only for the few services AWS serves unsigned (Cognito's sign-in)."""
        if signed_for is None:
            service = UNSIGNED_REQUESTS.get(prefix, (None,))[0]
            return service is not None and _json_operation(service, prefix, operation)
        model = _model(signed_for)
        if model is None or not model.metadata.get("targetPrefix"):
            return True  # a signing name that is no botocore service name (monitoring, states), or a REST
            # or query service that takes no target: moto decides, as before
        return _json_operation(signed_for, prefix, operation)

    def max_request_bytes(self, environ) -> int | None:
        """A JSON API request (a target) is bounded as the control planes are; S3's bodies are not."""
        return CONTROL_PLANE_MAX_BYTES if environ.get("HTTP_X_AMZ_TARGET") else None

    def __call__(self, environ, start_response):
        if self.journal is None:
            return self.app(environ, start_response)
        body = _read_whole_body(environ)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        if captured.get("status", 500) < 300 and is_mutation(environ, body):
            self.journal.record(environ, body, b"".join(chunks))
        return chunks


@functools.lru_cache(maxsize=64)
def _model(name: str):
    """botocore's model of the service a signature names, or None (not a service name botocore has)."""
    if not _SERVICE_NAME.fullmatch(name):
        return None
    try:
        return service_model(name)
    except UnknownServiceError:
        return None


def _json_operation(service: str, prefix: str, operation: str) -> bool:
    model = _model(service)
    return (model is not None and model.metadata.get("targetPrefix") == prefix
            and operation in model.operation_names)


def _read_whole_body(environ) -> bytes:
    """Read the body once (to journal it) and hand moto a plain sized body in its place."""
    if environ.get("wsgi.input_terminated"):
        # A chunked body has no Content-Length: read it whole.
        body = environ["wsgi.input"].read()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


SERVICE = ServiceDefinition(name="moto", routes=Routes(fallback=True), factory=MotoService,
                            health_names=("s3", "logs", "iam", "sts", "events"), gated=False)
