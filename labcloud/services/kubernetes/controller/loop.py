"""The controller's loop: a queue of objects to reconcile, each when it is due, one at a time.

What puts an object on the queue:
    a write to it (the API's listeners), at once
    a SageMaker state change of its resource (the event bus, in process), at once
    its last reconcile asking to look again (a running job, every RUNNING_POLL seconds)
    a recoverable error: again after 0.5 s, 1 s, 2 s, ... up to BACKOFF_MAX
    the start of the server: every object, so what changed while labcloud was down is seen (resync)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from labcloud.services.kubernetes.controller.books import Books
from labcloud.services.kubernetes.controller.reconcile import Controller
from labcloud.services.kubernetes.resources import ACK

log = logging.getLogger("labcloud.kubernetes")

BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0


class Reconciler:
    def __init__(self, ctx, objects, store):
        self.ctx = ctx
        self.objects = objects
        self.books = Books(store)
        self.controller = Controller(ctx, objects, self.books)
        self._due: list = []  # heap of (when, n, key)
        self._when: dict[tuple, float] = {}  # key -> the earliest time it is due
        self._backoff: dict[tuple, float] = {}
        self._count = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._unsubscribe = None

    def start(self) -> None:
        self.books.load()
        self.objects.listeners.append(self._heard)
        self._unsubscribe = self.ctx.events.subscribe(self._event)
        for resource in ACK.values():
            for obj in self.objects.list(resource)[0]:
                self.enqueue((resource.plural, obj["metadata"].get("namespace"), obj["metadata"]["name"]))
        self._thread = threading.Thread(target=self._run, name="labcloud-kubernetes-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def status(self) -> dict:
        with self._wake:
            waiting = sorted(f"{plural}/{ns}/{name}" for plural, ns, name in self._when)
        return {"kubernetes_objects_reconciling": waiting} if waiting else {}

    def enqueue(self, key: tuple, delay: float = 0.0) -> None:
        when = time.monotonic() + delay
        with self._wake:
            if key in self._when and self._when[key] <= when:
                return
            self._when[key] = when
            heapq.heappush(self._due, (when, next(self._count), key))
            self._wake.notify()

    def _heard(self, resource, change: str, obj: dict) -> None:
        self.enqueue((resource.plural, obj["metadata"].get("namespace"), obj["metadata"]["name"]))

    def _event(self, event: dict) -> None:
        for arn in event.get("resources") or ():
            key = self.controller.arns.get(arn)
            if key is not None:
                self.enqueue(key)

    def _next(self) -> tuple | None:
        with self._wake:
            while not self._stopping:
                if self._due:
                    when, _, key = self._due[0]
                    wait = when - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._due)
                        if self._when.get(key) == when:
                            del self._when[key]
                            return key
                        continue  # (a stale entry: the key was moved sooner)
                    self._wake.wait(wait)
                else:
                    self._wake.wait()
            return None

    def _run(self) -> None:
        while True:
            key = self._next()
            if key is None:
                return
            plural, namespace, name = key
            try:
                delay = self.controller.reconcile(ACK[plural], namespace, name)
            except Exception:  # noqa: BLE001 - one object's fault must not stop the controller
                log.exception("reconciling %s/%s/%s failed", plural, namespace, name)
                delay = -1.0
            if delay is None:
                self._backoff.pop(key, None)
            elif delay < 0:
                wait = self._backoff.get(key, BACKOFF_FIRST / 2) * 2
                self._backoff[key] = min(wait, BACKOFF_MAX)
                self.enqueue(key, self._backoff[key])
            else:
                self._backoff.pop(key, None)
                self.enqueue(key, delay)
