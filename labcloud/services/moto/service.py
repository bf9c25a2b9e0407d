"""Every AWS service labcloud does not run itself (S3, CloudWatch Logs, IAM, STS, EventBridge, ...): moto,
in the same process, behind the gateway as the service that takes what no other claims.

moto keeps its state in memory; with a state directory, every request that changed something is
appended to a journal (persistence/journal.py) and replayed into moto before the endpoint serves, so
objects, log events and roles survive a restart, a `kill -9` included.
"""

from __future__ import annotations

import io
import logging

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from labcloud.persistence.journal import Journal, is_mutation, replay
from labcloud.platform.service import Routes, Service, ServiceDefinition
from labcloud.services.moto.defaults import ensure_defaults

log = logging.getLogger("labcloud")
JOURNAL_FILE = "moto-journal.bin"


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
