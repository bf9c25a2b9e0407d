"""Every AWS service labcloud does not run itself (S3, CloudWatch Logs, IAM, STS, EventBridge, ...): moto,
in the same process, behind the gateway as the service that takes what no other claims.

moto keeps its state in memory; with a state directory, every request that changed something is
appended to a journal (persistence/journal.py) and replayed into moto before the endpoint serves, so
objects, log events and roles survive a restart, a `kill -9` included, with the ids and times clients saw
(reproducible.py: each mutating request runs seeded and at a recorded time, and so does its replay). A
snapshot of moto's state (snapshot.py) spares a start-up the replay of what came before it.

In front of moto: a JSON request (a target) reaches it only if it is an operation of the service it is
signed for (serves_target, asked by the registry), parsed strictly and checked against that service's
botocore model first; Flask's HTML error pages become AWS's error bodies.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from urllib.parse import parse_qs
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

from botocore.exceptions import UnknownServiceError
from moto.moto_api._internal.models import moto_api_backend
from moto.s3.responses import ACTION_MAP as S3_ACTIONS
from moto.moto_server.werkzeug_app import UNSIGNED_REQUESTS, DomainDispatcherApplication, create_backend_app
from werkzeug.http import HTTP_STATUS_CODES

from labcloud.core.errors import AWSError, InvalidSignatureException, SerializationException, coded
from labcloud.persistence.journal import Journal, is_mutation, replay
from labcloud.platform.service import CONTROL_PLANE_MAX_BYTES, Routes, Service, ServiceDefinition
from labcloud.protocols import json_codec
from labcloud.protocols.bodies import read_whole_body, with_body
from labcloud.protocols.errors import any_protocol_error
from labcloud.protocols.rest_json import SIGNED_FOR
from labcloud.protocols.validation import service_model, validate_request
from labcloud.services.moto import long_poll, reproducible, snapshot
from labcloud.services.moto.defaults import ensure_defaults
from labcloud.services.moto.reproducible import Reproducible

log = logging.getLogger("labcloud")
JOURNAL_FILE = "moto-journal.bin"
SNAPSHOT_EVERY = 1000  # journaled records between snapshots while serving: what a crash makes a start replay
_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# Signing names of JSON services that are not (only) the botocore service's name, as botocore 1.44's models
# give them (metadata.signingName): a request signed for the key may be for any of the values.
_SIGNED_AS = {
    "monitoring": ("cloudwatch",), "states": ("stepfunctions",), "dynamodb": ("dynamodbstreams",),
    "elasticmapreduce": ("emr",), "tagging": ("resourcegroupstaggingapi",), "servicequotas": ("service-quotas",),
    "timestream": ("timestream-query", "timestream-write"), "events": ("eventbridgev2",), "sso": ("sso-admin",),
    "cloudhsm": ("cloudhsmv2",), "cloudcontrolapi": ("cloudcontrol",), "kinesisanalytics": ("kinesisanalyticsv2",),
    "forecast": ("forecastquery",), "cassandra": ("keyspaces", "keyspacesstreams"), "mturk-requester": ("mturk",),
    "aws-marketplace": ("marketplace-entitlement", "meteringmarketplace", "marketplace-agreement"),
    "mgh": ("migrationhub-config",), "aoss": ("opensearchserverless",), "ses": ("mailmanager",),
    "sms-voice": ("pinpoint-sms-voice-v2",), "voiceid": ("voice-id",), "applicationinsights": ("application-insights",),
}


class MotoService(Service):
    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        # moto's state is per process: a server starts from empty and replays its own journal into it.
        moto_api_backend.reset()
        self.app = _Dispatcher(create_backend_app)
        self.journal: Journal | None = None
        self._scopes: dict[str, bool] = {}  # signing name -> whether a moto backend serves it
        self._reproducible = Reproducible()
        self._since_snapshot = 0  # records journaled since the last snapshot
        self._snapshotting = threading.Event()

    def prepare(self) -> None:
        if self.ctx.state_dir:
            path = self.ctx.state_dir / JOURNAL_FILE
            self.journal = Journal(path, self.ctx.damage)  # opening repairs it: only whole records are replayed
            if self.journal.rewritten:
                snapshot.discard(self.ctx.state_dir, "the journal was written anew")
            start = snapshot.load(self.ctx.state_dir, self.journal.size(), self.journal.is_record_boundary)
            replayed = replay(path, self.app, self._as_recorded, start)
            if replayed:
                log.info("replayed %d requests from %s%s", replayed, path, " after its snapshot" if start else "")
            if replayed > snapshot.REPLAYED_BEFORE_SNAPSHOT:  # the last stop was a crash: spare the next start
                snapshot.save(self.ctx.state_dir, self.journal.size())

    def start(self) -> None:
        ensure_defaults(self.ctx)

    def close(self) -> None:
        if self.journal:  # nothing is served any more: the state is the journal's, to its last record
            with self._reproducible.held():  # (after a snapshot being taken while serving, never beside it)
                snapshot.save(self.ctx.state_dir, self.journal.size())
                self.journal.close()

    def _refusal(self, environ, target: str | None) -> AWSError | None:
        """AWS's error for the requests moto fails on with a 500: signed for a service no moto backend serves,
        or an S3 POST on an object without one of the sub-resources (uploads, uploadId, restore, select)."""
        scope = environ.get(SIGNED_FOR)
        if scope is not None and not self._backend_serves(scope, environ):
            return InvalidSignatureException(f"Credential should be scoped to a valid service: labcloud serves no "
                                             f"service that signs as {scope[:64]!r}.")
        if target or scope not in (None, "s3") or environ.get("REQUEST_METHOD") != "POST":
            return None
        bucket, _, key = environ.get("PATH_INFO", "").lstrip("/").partition("/")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if bucket and key and not set(query) & set(S3_ACTIONS["KEY"]["POST"]):
            return coded("MethodNotAllowed", 405, "The specified method is not allowed against this resource: "
                                 "POST on an object needs one of ?" + ", ?".join(S3_ACTIONS["KEY"]["POST"]) + ".")
        if (bucket and not key and "delete" not in query
                and not environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")):
            return coded("InvalidArgument", 400, "A POST on a bucket is a form upload (multipart/form-data, "
                                 "with a key field) or ?delete (DeleteObjects).")
        return None

    def _backend_serves(self, scope: str, environ) -> bool:
        known = self._scopes.get(scope)
        if known is None:
            try:
                host = self.app.infer_service_region_host(environ, environ.get("PATH_INFO", ""))
            except (KeyError, IndexError, ValueError):
                host = None
            known = host is not None and any(pattern.match(f"http://{host}")
                                             for _, pattern in self.app.backend_url_patterns)
            if len(self._scopes) < 256:
                self._scopes[scope] = known
        return known

    def serves_target(self, prefix: str, operation: str, signed_for: str | None) -> bool:
        """Whether an X-Amz-Target that no labcloud service claims is an operation of the AWS service the
        request is signed for (its botocore model's targetPrefix and operations), as AWS routes it; an
        unsigned one only for the few services AWS serves unsigned (Cognito's sign-in)."""
        if signed_for is None:
            service = UNSIGNED_REQUESTS.get(prefix, (None,))[0]
            return service is not None and _json_operation(service, prefix, operation)
        names = (signed_for, *_SIGNED_AS.get(signed_for, ()))
        models = [model for model in map(_model, names) if model is not None]
        if models and not any(model.metadata.get("targetPrefix") for model in models):
            return True  # a REST or query service (S3, IAM) ignores a target header, as AWS's does
        return any(_json_operation(name, prefix, operation) for name in names)

    def max_request_bytes(self, environ) -> int | None:
        """A JSON API request (a target) is bounded as the control planes are; S3's bodies are not."""
        return CONTROL_PLANE_MAX_BYTES if environ.get("HTTP_X_AMZ_TARGET") else None

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET")
        refusal = self._refusal(environ, target)
        if refusal is not None:
            raise refusal
        if self.journal is None and not target:
            return _aws_shaped(self.app, environ, start_response)
        body = read_whole_body(environ)  # once (to journal it); moto reads a plain sized body in its place
        if target:  # moto's JSON services get what AWS's would accept: parsed strictly, checked against the model
            _check_json_request(target, body, environ.get(SIGNED_FOR))
        if self.journal is None:
            return _aws_shaped(self.app, environ, start_response)
        if not is_mutation(environ, body):
            return _aws_shaped(self.app, environ, start_response)
        plan = long_poll.long_poll(environ, body)
        if plan is None:
            status, headers, chunks = self._recorded(environ, body, always=True)
        else:  # waiting for messages must not hold every other mutation back (long_poll.py)
            status, headers, chunks = long_poll.poll(
                lambda: self._recorded(with_body(environ, plan.short_body), plan.short_body, always=False),
                plan)
        start_response(status, headers)
        return chunks

    def _recorded(self, environ, body: bytes, always: bool):
        """Run one mutating request reproducibly and journal it if it succeeded (and, unless `always`,
        received something); returns its status line, headers and body chunks."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: captured.setdefault("written", []).append(data)

        seed, at = reproducible.new_seed(), reproducible.now()
        with self._reproducible.run(seed, at):  # so that the replay makes the same ids and times
            answered = list(_aws_shaped(self.app, environ, capture))
            chunks = captured.pop("written", []) + answered  # what moto wrote through write() comes first
            code = int(captured.get("status", "500").split()[0])
            response = b"".join(chunks)
            # Journaled inside the lock: a snapshot (taken under it) never holds a change its offset leaves out.
            if code < 300 and (always or long_poll.received_something(response)):
                self.journal.record(environ, body, response, reproducible.header_fields(seed, at))
                self._since_snapshot += 1
        if self._since_snapshot >= SNAPSHOT_EVERY and not self._snapshotting.is_set():
            self._snapshotting.set()
            threading.Thread(target=self._snapshot_while_serving, name="moto-snapshot", daemon=True).start()
        return captured.get("status", "500 Internal Server Error"), captured.get("headers", []), chunks

    def _snapshot_while_serving(self) -> None:
        """A snapshot of the state as it is, so that a start-up after a crash replays at most SNAPSHOT_EVERY
        records; mutations wait meanwhile (reads go on)."""
        try:
            with self._reproducible.held():
                self._since_snapshot = 0
                snapshot.save(self.ctx.state_dir, self.journal.size())
        except Exception:  # noqa: BLE001 - the journal still holds everything; the next start replays more
            log.exception("could not write a snapshot of moto's state")
        finally:
            self._snapshotting.clear()

    def _as_recorded(self, header: dict):
        recorded = reproducible.from_header(header)
        return self._reproducible.run(*recorded) if recorded else contextlib.nullcontext()


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, with the backend each host names remembered: moto works it out again for every
    request by listing its package folder (a few hundred stat calls), which was half the time of a replay."""

    _REMEMBERED = 1024  # hosts come from requests: a bound, in case a client invents many

    def __init__(self, create_app):
        super().__init__(create_app)
        self._backends: dict[str | None, object] = {}

    def get_backend_for_host(self, host):
        if host in self._backends:
            return self._backends[host]
        backend = super().get_backend_for_host(host)
        if len(self._backends) < self._REMEMBERED:
            self._backends[host] = backend
        return backend


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


def _aws_shaped(app, environ, start_response):
    """moto's answer, except that Flask's own HTML error pages (a method or path no backend routes) become
    AWS's error body: 405 MethodNotAllowed, 404 NotFound, as S3 names them. Some of moto's own JSON errors
    also go out labelled text/html (events' ResourceNotFoundException); those pass, labelled as JSON."""
    page = {}

    def start(status, headers, exc_info=None):
        code = int(status.split()[0])
        if code >= 400 and any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers):
            page.update(status=code, line=status, headers=headers)
            return lambda data: None
        return start_response(status, headers, exc_info)

    try:
        chunks = app(environ, start)
    except NotImplementedError as err:
        if str(err).startswith("Method "):  # an HTTP method S3 has no operation for
            raise coded("MethodNotAllowed", 405, f"{err}: the method is not allowed against this resource.")
        raise
    except (ExpatError, ElementTree.ParseError) as err:  # moto read a malformed XML body
        raise coded("MalformedXML", 400, f"The XML you provided was not well-formed: {err}.") from None
    except RecursionError:  # a body nested past what moto's parsers recurse into
        raise coded("InvalidRequest", 400, "The request body nests too deeply.") from None
    if not page:
        return chunks
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    if body.lstrip().startswith(b"{"):
        headers = [(k, v) for k, v in page["headers"] if k.lower() not in ("content-type", "content-length")]
        start_response(page["line"], [*headers, ("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(body)))])
        return [body]
    code = page["status"]
    err = AWSError(f"labcloud (moto) has no {environ.get('REQUEST_METHOD', '')[:16]} operation at "
                   f"{environ.get('PATH_INFO', '')[:200]}.")
    err.code, err.status = {405: "MethodNotAllowed", 404: "NotFound"}.get(code, "InvalidRequest"), code
    status, headers, body = any_protocol_error(environ, err)
    start_response(f"{code} {HTTP_STATUS_CODES.get(code, 'Error')}", [*headers.items(),
                                                                      ("Content-Length", str(len(body)))])
    return [body]


def _check_json_request(target: str, body: bytes, signed_for: str | None) -> None:
    """SerializationException or ValidationException (protocols.validation) for a JSON request that moto would
    otherwise read leniently (NaN, 1e400, a wrong type) and might fail on with a 500."""
    prefix, _, operation = target.partition(".")
    names = (signed_for, *_SIGNED_AS.get(signed_for, ())) if signed_for else (
        UNSIGNED_REQUESTS.get(prefix, (None,))[0],)
    for name in names:
        if name and _json_operation(name, prefix, operation):
            params = json_codec.loads(body)
            if not isinstance(params, dict):
                raise SerializationException("The request body must be a JSON object.")
            validate_request(operation, params, name)
            return


SERVICE = ServiceDefinition(name="moto", routes=Routes(fallback=True), factory=MotoService,
                            health_names=("s3", "logs", "iam", "sts", "events"), gated=False)
