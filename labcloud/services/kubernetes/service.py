"""labcloud's Kubernetes API: the part of a kube-apiserver the ACK SageMaker resources need, at
{endpoint_url}/k8s, so the real `kubectl` and the `kubernetes` Python client work unchanged (a kubeconfig's
server may carry a path; `labcloud kubeconfig` writes one).

    request ──► bearer token check (401 Status) ──► api.API (routes, verbs, watch) ──► objects.Objects
                                                                                  └─► reconciler (ACK)

It authenticates as an API server does, not as AWS: `Authorization: Bearer <token>`, the token derived
from the user's labcloud secret (core/credentials.py). A SigV4-signed request never reaches it (an S3
bucket named "k8s" stays S3's). Errors are Kubernetes `Status` objects (statuses.py).
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import parse_qsl

from werkzeug.wrappers import Response

from labcloud.platform.service import Routes, Service, ServiceDefinition
from labcloud.services.kubernetes.api import API, JSON, Call
from labcloud.services.kubernetes.objects import Objects
from labcloud.services.kubernetes.controller.loop import Reconciler
from labcloud.services.kubernetes.statuses import KubeError

log = logging.getLogger("labcloud.kubernetes")

PREFIX = "/k8s"
MAX_REQUEST_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit on a request body
_PATH = rf"^{PREFIX}(?P<path>/.*)?$"


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized: labcloud's Kubernetes API needs your labcloud token; run "
                                          "`labcloud kubeconfig` and use the context it writes (labcloud)")


class KubernetesService(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.stopping = threading.Event()
        self.objects = Objects(self.store)
        self.api = API(self.objects, self.stopping)
        self.reconciler = Reconciler(ctx, self.objects, self.store)

    def start(self) -> None:
        self.objects.load()
        self.reconciler.start()

    def shutdown(self) -> None:
        self.stopping.set()
        self.objects.end_watches()
        self.reconciler.stop()

    def status(self) -> dict:
        return self.reconciler.status()

    def max_request_bytes(self, environ) -> int | None:
        return MAX_REQUEST_BYTES

    def __call__(self, environ, start_response):
        try:
            if not self.ctx.authenticator.bearer_ok(environ):
                raise unauthorized()
            answer = self.api.handle(_call(environ))
        except KubeError as err:
            return _json(err.code, err.status(), {}, environ, start_response)
        if isinstance(answer.body, (dict, list)):
            return _json(answer.status, answer.body, answer.headers or {}, environ, start_response)
        if isinstance(answer.body, bytes):
            return _bytes(answer.status, answer.body, answer.headers or {}, environ, start_response)
        # A watch: one JSON event a line, each sent as it happens (chunked); the first empty write sends the
        # head at once, so a client knows the watch is open before anything changes.
        headers = [("Content-Type", JSON), ("Cache-Control", "no-cache, private"), *(answer.headers or {}).items()]
        start_response(f"{answer.status} OK", headers)
        return _stream(answer.body)


def _stream(events):
    yield b""
    yield from events


def _call(environ) -> Call:
    path = environ.get("PATH_INFO", "")[len(PREFIX):] or "/"
    query = {}
    for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        query.setdefault(key, value)
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    body = stream.read(int(length)) if length else (stream.read() if environ.get("wsgi.input_terminated") else b"")
    return Call(environ["REQUEST_METHOD"], path, query, environ.get("HTTP_ACCEPT", ""),
                environ.get("CONTENT_TYPE", ""), body)


def _json(status: int, body, headers: dict, environ, start_response):
    return _bytes(status, json.dumps(body).encode(), {"Content-Type": JSON, **headers}, environ, start_response)


def _bytes(status: int, body: bytes, headers: dict, environ, start_response):
    headers = {"Content-Type": JSON, **headers}
    return Response(body, status=status, headers=headers)(environ, start_response)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SERVICE = ServiceDefinition(
    name="kubernetes",
    # Signing names no AWS client signs for: a SigV4 request to /k8s/... is another service's (S3's bucket "k8s").
    routes=Routes(rest_paths=tuple((method, _PATH) for method in _METHODS), signing_names=("kubernetes.labcloud",),
                  owned_paths=(_PATH,)),
    factory=KubernetesService,
    store_root="kubernetes",
    authenticates_itself=True,
)
