"""The one pattern for work that runs in the background: a training job's attempts, an endpoint's
deployment, a transform job, and the pipeline executions, builds and reconcilers to come.

    Worker       one piece of work of one resource, on its own thread
      start()      begin: for a new resource, or for one resumed after labcloud restarted
      stop()       ask it to end early (StopTrainingJob, DeleteEndpoint, ...): `stop_requested` is set
      run()        the work itself (a subclass's); returns a typed outcome (an Enum), never a string
      outcome      what run() returned, once it has
    Workers      the workers of one resource family, by resource name
      launch(w)    start a worker and keep it
      stop(key)    stop every worker of a resource
      shutdown()   the server stops: wait for every worker (they see ctx.shutting_down and leave their
                   resource as it is, so that the next start resumes it)
      running()    the resources with live workers, for `labcloud status`

A worker must end soon after `stop_requested` or the server's `shutting_down` is set; it never raises
out of run(): an unexpected error is logged and handed to `failed()`, which records it on the resource.
"""

from __future__ import annotations

import enum
import logging
import threading

log = logging.getLogger("labcloud.background")


class Worker:
    def __init__(self, ctx, key: str, kind: str):
        self.ctx = ctx
        self.key = key  # the resource's name
        self.stop_requested = threading.Event()
        self.outcome: enum.Enum | None = None
        self.thread = threading.Thread(target=self._main, name=f"{kind}-{key}", daemon=True)

    def run(self) -> enum.Enum:
        raise NotImplementedError

    def failed(self, err: Exception) -> None:
        """run() raised: record it on the resource (the default only logs it)."""

    def finished(self) -> None:
        """Always called last, on the worker's thread, however run() ended."""

    def start(self) -> "Worker":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_requested.set()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _main(self) -> None:
        try:
            self.outcome = self.run()
        except Exception as err:  # a labcloud fault: say so on the resource rather than hang it
            log.exception("%s failed", self.thread.name)
            if not self.ctx.shutting_down.is_set():
                self.failed(err)
        finally:
            self.finished()


class Workers:
    def __init__(self):
        self._lock = threading.Lock()
        self._workers: list[Worker] = []

    def launch(self, worker: Worker) -> Worker:
        with self._lock:
            self._workers = [w for w in self._workers if w.alive] + [worker]
        return worker.start()

    def of(self, key: str) -> list[Worker]:
        with self._lock:
            return [w for w in self._workers if w.key == key]

    def all(self) -> list[Worker]:
        with self._lock:
            return list(self._workers)

    def get(self, key: str) -> Worker | None:
        """The newest worker of a resource, live or not."""
        found = self.of(key)
        return found[-1] if found else None

    def stop(self, key: str) -> None:
        for worker in self.of(key):
            worker.stop()

    def running(self) -> list[str]:
        with self._lock:
            return sorted({w.key for w in self._workers if w.alive})

    def shutdown(self, timeout: float) -> None:
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout)
