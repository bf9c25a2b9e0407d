"""SQS long polling outside the one-at-a-time lock of reproducible requests.

moto waits for messages inside ReceiveMessage, timing the wait with its own clock. A mutating request runs
with that clock stopped and every other mutation held back (reproducible.py), so a long poll there would
never end and no SendMessage could reach the queue it waits on. Instead, a ReceiveMessage that may wait
(WaitTimeSeconds, or the queue's ReceiveMessageWaitTimeSeconds) is run as short polls, each a reproducible
request of its own, with the waiting done between them and outside the lock. Only a poll that received
something is journaled: an empty one changes nothing a replay needs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlparse

from moto.sqs.models import sqs_backends

POLL_INTERVAL = 0.1  # seconds between short polls: a message sent meanwhile arrives within this
_REGION = re.compile(r"Credential=[^/]+/[^/]+/(?P<region>[^/]+)/")
_JSON_TARGET = "AmazonSQS.ReceiveMessage"


@dataclass(frozen=True)
class LongPoll:
    seconds: float
    short_body: bytes  # the request with WaitTimeSeconds 0


def long_poll(environ: dict, body: bytes) -> LongPoll | None:
    """The wait of an SQS ReceiveMessage that may wait, or None (any other request, or one that may not)."""
    if environ.get("HTTP_X_AMZ_TARGET") == _JSON_TARGET:
        params = _json_object(body)
        if params is None:
            return None
        seconds = _seconds(params.get("WaitTimeSeconds"), environ, params.get("QueueUrl"))
        return LongPoll(seconds, json.dumps({**params, "WaitTimeSeconds": 0}).encode()) if seconds else None
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(pairs)
        if params.get("Action") != "ReceiveMessage":
            return None
        seconds = _seconds(params.get("WaitTimeSeconds"), environ, params.get("QueueUrl"))
        if not seconds:
            return None
        short = [(k, v) for k, v in pairs if k != "WaitTimeSeconds"] + [("WaitTimeSeconds", "0")]
        return LongPoll(seconds, urlencode(short).encode())
    return None


def received_something(response_body: bytes) -> bool:
    return b'"Messages"' in response_body or b"<Message>" in response_body


def poll(run_once, plan: LongPoll):
    """Run `run_once()` (one short poll: its status line, headers and body chunks) until it receives
    something, fails or the wait is over; returns the last answer."""
    deadline = time.monotonic() + plan.seconds
    while True:
        answer = run_once()
        status, _, chunks = answer
        if int(status.split()[0]) >= 300 or received_something(b"".join(chunks)) or time.monotonic() >= deadline:
            return answer
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


def _json_object(body: bytes) -> dict | None:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _seconds(given, environ: dict, queue_url) -> float:
    # A value moto would refuse (not a number, out of 0..20) is left for moto to refuse, at once.
    if given is not None:
        try:
            seconds = int(given)
        except (TypeError, ValueError):
            return 0
        return seconds if 0 < seconds <= 20 else 0
    return _queue_default(environ, queue_url)


def _queue_default(environ: dict, queue_url) -> float:
    """The queue's ReceiveMessageWaitTimeSeconds, which applies when the request names no wait."""
    if not isinstance(queue_url, str):
        return 0
    parts = [part for part in urlparse(queue_url).path.split("/") if part]
    if len(parts) < 2:
        return 0
    account, name = parts[-2], parts[-1]
    match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    region = match.group("region") if match else "us-east-1"
    try:
        queue = sqs_backends[account][region].get_queue(name)
        seconds = int(queue.receive_message_wait_time_seconds or 0)
    except Exception:  # noqa: BLE001 - no such queue: moto answers the request with its own error
        return 0
    return seconds if 0 < seconds <= 20 else 0
