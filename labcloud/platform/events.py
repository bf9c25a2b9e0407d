"""The events labcloud's own services emit, as AWS services emit theirs to EventBridge.

A service publishes an event (source "aws.sagemaker", a detail type such as "SageMaker Model Package
State Change", the detail, the resources it is about). It goes to the default event bus with PutEvents
through the server's own endpoint, where a learner's rules match it and deliver it to their targets (moto
holds the bus, the rules, the SQS queues and the log groups). Services of labcloud's can subscribe in this
process too (a project's deployment starts on an approval): they receive the event as EventBridge delivers
it, with version, id, time, account and region.

Publishing never raises into the work that emitted the event: a failed delivery is logged. A service
that changes state under its own lock hands the event to publish_later(), which delivers events one at a
time, in the order they were handed over, from a thread of its own (never under the caller's lock).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
import uuid
from typing import Callable

log = logging.getLogger("labcloud.events")

Subscriber = Callable[[dict], None]


class EventPublisher:
    def __init__(self, events_client_factory: Callable[[], object], region: str, account_id: str):
        self._client_factory = events_client_factory
        self.region, self.account_id = region, account_id
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._later: queue.Queue = queue.Queue()
        self._sender: threading.Thread | None = None

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber(event)` for every event published from now on; returns the unsubscribe call."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish_later(self, source: str, detail_type: str, detail: dict, resources: list[str]) -> None:
        """publish() from the publisher's own thread, in order: for callers that hold a lock."""
        self._later.put((source, detail_type, _copy(detail), list(resources)))
        with self._lock:
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_later, name="event-publisher", daemon=True)
                self._sender.start()

    def _send_later(self) -> None:
        while True:  # (a daemon thread: it ends with the process)
            self.publish(*self._later.get())
            self._later.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every event handed to publish_later() went out (a server stopping calls it)."""
        deadline = time.monotonic() + timeout
        while self._later.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def publish(self, source: str, detail_type: str, detail: dict, resources: list[str]) -> dict:
        """Put the event on the default bus and hand it to the subscribers; returns it as delivered."""
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
                 "account": self.account_id, "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "region": self.region, "resources": list(resources), "detail": detail}
        try:
            answer = self._client_factory().put_events(Entries=[{
                "Source": source, "DetailType": detail_type, "Resources": list(resources),
                "Detail": json.dumps(detail, default=_json_default), "EventBusName": "default"}])
            if answer.get("FailedEntryCount"):
                log.warning("EventBridge refused the event %s: %s", detail_type, answer.get("Entries"))
        except Exception as err:  # noqa: BLE001 - the bus may be going down with the server
            log.warning("could not put the event %s on the default bus: %s", detail_type, err)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(json.loads(json.dumps(event, default=_json_default)))
            except Exception:  # noqa: BLE001 - one subscriber's fault is its own
                log.exception("an event subscriber failed on %s", detail_type)
        return event


def _copy(value):
    """A copy of the detail as it is now, so that later changes to the record do not reach the event."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"cannot put {type(value).__name__} in an event")
