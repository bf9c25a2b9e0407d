"""A small fuzz pass derived from botocore's models (issue 15): requests to a sample of the operations
labcloud serves itself, well-formed and broken, and every answer must be AWS's: no 5xx, every error a
body botocore parses into an error code. Deterministic (one seed) and bounded in time.

Well-formed bodies go only to operations that start nothing (Create*, Start*, Put*, ... get broken ones
only: a fuzzer must not launch training jobs or builds). Run as a script against a running labcloud to
count: `python tests/services/test_robustness_fuzz.py PORT [REQUESTS]`.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import sys
import time
from collections import Counter

import botocore.parsers
import botocore.session

from tests.support.signing import signed_headers

SEED = 15
REQUESTS = 4000
SECONDS = 20
# (botocore service name, target prefix): labcloud's own JSON services
SERVICES = [("sagemaker", "SageMaker"), ("codebuild", "CodeBuild_20161006"), ("codecommit", "CodeCommit_20150413"),
            ("codepipeline", "CodePipeline_20150709"), ("servicecatalog", "AWS242ServiceCatalogService")]
_SIGNING = {prefix: name for name, prefix in SERVICES}  # what boto3 signs each service's requests for
_STARTS_WORK = ("Create", "Start", "Put", "Import", "Retry", "Send", "Register", "Merge", "Post", "Provision",
                "Execute", "Override", "Rollback")
_RECORDS_ONLY = {("sagemaker", op) for op in ("CreateModel", "CreateEndpointConfig", "CreateModelPackageGroup",
                                               "CreateModelPackage", "CreatePipeline")} | {
    ("codebuild", "CreateProject"), ("codecommit", "CreateRepository"), ("codecommit", "CreateBranch")}
_CANDIDATES = ["x", "name-1", "abc", "s3://bucket/key", "arn:aws:iam::123456789012:role/SageMakerRole",
               "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g", "ml.m5.large", "1", "main",
               "https://example.com/x", "123456789012.dkr.ecr.us-east-1.amazonaws.com/image:latest", "a" * 40]
_NAN, _INF, _HUGE = "\x00NaN", "\x00Infinity", "\x001e400"  # become bare JSON tokens after dumps()
_BAD_SCALARS = [_NAN, _INF, _HUGE, 7.9, -1, 2 ** 70, -1e15, 1e20, "", "x" * 3000, True, {}, [], [None],
                {"k": None}, "\u0000\u2028é", 0]


def labcloud_operations() -> dict[str, list[str]]:
    """Each service's operations that labcloud serves, read from the services' own tables."""
    from labcloud.services.codebuild.operations import OPERATIONS as CODEBUILD
    from labcloud.services.codecommit.operations import OPERATIONS as CODECOMMIT
    from labcloud.services.codepipeline.operations import OPERATIONS as CODEPIPELINE
    from labcloud.services.sagemaker.operations import OPERATIONS as SAGEMAKER
    from labcloud.services.servicecatalog.operations import OPERATIONS as SERVICECATALOG

    return {"sagemaker": sorted(SAGEMAKER), "codebuild": sorted(CODEBUILD), "codecommit": sorted(CODECOMMIT),
            "codepipeline": sorted(CODEPIPELINE), "servicecatalog": sorted(SERVICECATALOG)}


class Generator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def value(self, shape, depth: int = 0):
        rng, kind, meta = self.rng, shape.type_name, shape.metadata
        if kind == "structure":
            if depth > 6:
                return {}
            out = {}
            for name, member in shape.members.items():
                if name in shape.required_members or rng.random() < 0.25:
                    out[name] = self.value(member, depth + 1)
            return out
        if kind == "list":
            return [] if depth > 6 else [self.value(shape.member, depth + 1) for _ in range(rng.randint(0, 2))]
        if kind == "map":
            return {} if depth > 6 else {self.value(shape.key, depth + 1): self.value(shape.value, depth + 1)
                                         for _ in range(rng.randint(0, 2))}
        if kind == "string":
            if meta.get("enum"):
                return rng.choice(meta["enum"])
            if rng.random() < 0.8:  # mostly a string the member's pattern and length allow, if one of these does
                fitting = [c for c in _CANDIDATES if _fits(c, meta)]
                if fitting:
                    return rng.choice(fitting)
            return rng.choice(["x", "name-1", "a" * int(meta.get("max", 10) or 10), "s3://bucket/key",
                               "arn:aws:iam::123456789012:role/SageMakerRole", "Ünïcode", "a b", "-" * 3])
        if kind in ("integer", "long"):
            low, high = int(meta.get("min", 0)), int(meta.get("max", 100))
            return rng.choice([low, high, (low + high) // 2, high + 1, low - 1])
        if kind in ("float", "double"):
            return rng.choice([0.0, 0.5, float(meta.get("max", 1.0)), -0.1])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            return rng.choice([0, 1_700_000_000, 1_700_000_000.5, "2026-01-01T00:00:00Z"])
        if kind == "blob":
            return base64.b64encode(b"data").decode()
        return None

    def break_one(self, body: dict, shape) -> dict:
        """`body` with one member (at any depth, present or not) given a value its shape cannot take."""
        slots = [(body, name) for name in shape.members]

        def collect(value, spec):
            if spec.type_name == "structure" and isinstance(value, dict):
                for name, member in spec.members.items():
                    if name in value:
                        slots.append((value, name))
                        collect(value[name], member)
            elif spec.type_name == "list" and isinstance(value, list):
                for index, item in enumerate(value):
                    slots.append((value, index))
                    collect(item, spec.member)

        collect(body, shape)
        container, key = self.rng.choice(slots)
        container[key] = self.rng.choice(_BAD_SCALARS)
        return body


def _fits(text: str, meta: dict) -> bool:
    from labcloud.protocols.java_regex import compile_pattern

    if not int(meta.get("min", 0)) <= len(text) <= int(meta.get("max", 1 << 30)):
        return False
    pattern = meta.get("pattern")
    compiled = compile_pattern(pattern) if pattern else None
    return compiled is None or compiled.fullmatch(text) is not None


def encode(body) -> bytes:
    text = json.dumps(body)
    for token in (_NAN, _INF, _HUGE):
        text = text.replace(json.dumps(token), token[1:])
    return text.encode()


def requests(count: int, seed: int = SEED):
    """(target, body) pairs: per operation a well-formed body (if it starts nothing), broken ones, and
    broken framing."""
    rng, session = random.Random(seed), botocore.session.get_session()
    gen = Generator(rng)
    served = labcloud_operations()
    models = {name: session.get_service_model(name) for name, _ in SERVICES}
    pool = [(name, prefix, op) for name, prefix in SERVICES for op in served[name]]
    for _ in range(count):
        name, prefix, op = rng.choice(pool)
        shape = models[name].operation_model(op).input_shape
        target = f"{prefix}.{op}"
        body = gen.value(shape) if shape is not None else {}
        roll = rng.random()
        if roll < 0.4 and (not op.startswith(_STARTS_WORK) or (name, op) in _RECORDS_ONLY):
            yield target, encode(body)
        elif roll < 0.85 and shape is not None and shape.members:
            yield target, encode(gen.break_one(body, shape))
        elif roll < 0.9:
            yield target, rng.choice([b"[" * 5000, b'{"a":' * 3000, b"{", b"\xff", b"null", b"[]", b'"x"', b"1e400"])
        elif roll < 0.95:
            yield rng.choice([target.lower(), prefix, f"{prefix}.", f"{prefix}.{op.lower()}", "Foo.Bar"]), b"{}"
        else:
            yield target, encode({**body, "Tags": [None], "MaxResults": rng.choice([7.9, _NAN, 0, -3])})


def fuzz(port: int, count: int = REQUESTS, seed: int = SEED, seconds: float = SECONDS) -> dict:
    """Send the requests; return what came back: counts by status, the 5xx and unparsable answers."""
    parser = botocore.parsers.create_parser("json")
    statuses, faults, unparsed, codes = Counter(), [], [], Counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + seconds
    sent = 0
    for target, body in requests(count, seed):
        if time.monotonic() > deadline:
            break
        headers = signed_headers("POST", f"http://127.0.0.1:{port}/", body, {
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
            service=_SIGNING.get(target.split(".", 1)[0], "sagemaker"))
        try:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as err:
            faults.append((target, body[:200], f"connection: {err!r}"))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        sent += 1
        statuses[response.status] += 1
        if response.status >= 500:
            faults.append((target, body[:200], data[:300]))
        if response.status >= 400:
            headers = {k.lower(): v for k, v in response.getheaders()}
            parsed = parser.parse({"status_code": response.status, "headers": headers, "body": data}, None)
            code = parsed.get("Error", {}).get("Code")
            if not code or not headers.get("x-amzn-requestid") or code == str(response.status):
                unparsed.append((target, body[:200], data[:300]))
            codes[code] += 1
    connection.close()
    return {"sent": sent, "statuses": dict(statuses), "faults": faults, "unparsed": unparsed, "codes": dict(codes)}


def test_fuzzed_requests_get_aws_answers_never_a_5xx(in_process):
    server = in_process(state_dir=None)
    started = time.monotonic()
    report = fuzz(server.port)
    took = time.monotonic() - started
    assert report["sent"] >= 500, report  # enough of them within the time bound to mean something
    assert not report["faults"], report["faults"][:5]
    assert not report["unparsed"], report["unparsed"][:5]
    assert set(report["statuses"]) <= {200, 400, 404, 409, 413}, report["statuses"]
    print(f"fuzz: {report['sent']} requests in {took:.1f} s, {report['statuses']}")


_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]
_SCOPES = [None, "sagemaker", "s3", "logs", "codecommit", "servicecatalog", "nosuch"]
_RUNTIME_HEADERS = ["X-Amzn-SageMaker-Target-Variant", "X-Amzn-SageMaker-Target-Container-Hostname",
                    "X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-Inference-Id", "Accept", "Content-Type"]


def odd_routes(count: int, seed: int = SEED):
    """(method, path, headers, body, scope): InvokeEndpoint's route and its neighbours, any method, signed for
    any service (scope) or not at all (None)."""
    rng = random.Random(seed)
    names = ["x", "", "a%2Fb", "n" * 64, "..", "%00", "ok-name", "%C3%A9"]
    for _ in range(count):
        name = rng.choice(names)
        path = rng.choice([f"/endpoints/{name}/invocations", f"/endpoints/{name}", "/endpoints/",
                           f"/endpoints/{name}/invocations/", f"/endpoints/{name}/invocations-response-stream",
                           "/service/AWS242ServiceCatalogService/operation/" + rng.choice(["SearchProducts", "Nope", ""]),
                           "/service/Other/operation/X", f"/v1/repos/{name}/info/refs"])
        headers = {}
        scope = rng.choice(_SCOPES)
        for header in rng.sample(_RUNTIME_HEADERS, rng.randint(0, 3)):
            headers[header] = rng.choice(["AllTraffic", "x" * 2000, "", "text/csv", "	", "a b"])
        if path.startswith("/service/") and rng.random() < 0.7:
            headers["smithy-protocol"] = "rpc-v2-cbor"
        body = rng.choice([b"", b"1,2", b"\xa0", b"\xff" * 10, b"{}", b"[" * 3000])
        yield rng.choice(_METHODS), path, headers, body, scope


def fuzz_routes(port: int, count: int = 600, seed: int = SEED) -> dict:
    statuses, faults = Counter(), []
    for method, path, headers, body, scope in odd_routes(count, seed):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = body if method not in ("GET", "HEAD") else None
        if scope:
            headers = signed_headers(method, f"http://127.0.0.1:{port}{path}", sent or b"", headers, service=scope)
        try:
            connection.request(method, path, body=sent, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        statuses[response.status] += 1
        kind = response.getheader("Content-Type") or ""
        if response.status >= 500 or (response.status >= 400 and "html" in kind) or not response.getheader(
                "x-amzn-RequestId"):
            faults.append((method, path, response.status, data[:200]))
    return {"statuses": dict(statuses), "faults": faults}


def test_odd_routes_get_the_services_own_errors(in_process):
    server = in_process(state_dir=None)
    report = fuzz_routes(server.port)
    assert not report["faults"], report["faults"][:5]
    print(f"routes: {sum(report['statuses'].values())} requests, {report['statuses']}")


if __name__ == "__main__":
    result = fuzz(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else REQUESTS, seconds=600)
    print(json.dumps({k: v for k, v in result.items() if k != "faults"}, indent=1, default=str))
    print(len(result["faults"]), "faults")
    for fault in result["faults"][:40]:
        print(fault)
