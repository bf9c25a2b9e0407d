"""What the families of jobs that run as local processes (training, processing) share: the record of a job
(its Describe answer, labcloud's bookkeeping of its runs, its tags), and the family's handling of those
records and of the workers that run them."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from labcloud.platform import processes
from labcloud.platform.background import Workers
from labcloud.services.sagemaker.family import ResourceFamily

SHUTDOWN_GRACE_SECONDS = 2.0  # the server is stopping: a job gets this long after SIGTERM, at most


class RunStateBase:
    """labcloud's bookkeeping of a job's runs: a dataclass of declared fields (each family its own)."""

    @classmethod
    def from_store(cls, saved: dict):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})


@dataclass
class JobRecord:
    """A job's Describe answer and its run state, saved together as {"job": ..., "run": ..., "tags": ...}."""
    RUN_TYPE: ClassVar[type]
    description: dict
    run: RunStateBase = None
    tags: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if self.run is None:
            self.run = self.RUN_TYPE()

    def to_store(self) -> dict:
        return copy.deepcopy({"job": self.description, "run": asdict(self.run), "tags": self.tags})

    @classmethod
    def from_store(cls, saved: dict):
        return cls(saved["job"], cls.RUN_TYPE.from_store(saved.get("run", {})), saved.get("tags", []))


class JobFamily(ResourceFamily):
    """Jobs by name, saved at every change under `KIND`, each run by a worker with a `process`."""
    KIND: ClassVar[str]  # the store's kind and the work folder's name, e.g. "training-jobs"
    RECORD: ClassVar[type]

    def __init__(self, ctx, store):
        super().__init__(ctx, store)
        self.jobs: dict[str, JobRecord] = {}
        self.workers = Workers()

    def load(self) -> None:
        self.jobs = {n: self.RECORD.from_store(r) for n, r in self.store.load_all(self.KIND).items()}

    def shutdown(self) -> None:
        grace = min(self.ctx.settings.stop_grace_seconds, SHUTDOWN_GRACE_SECONDS)
        self.workers.shutdown(grace + 15)
        for worker in self.workers.all():  # what did not end within the grace ends now
            if worker.process is not None and worker.process.poll() is None:
                processes.terminate_group(worker.process, 0)

    def save(self, name: str) -> None:
        with self.lock:
            record = self.jobs[name].to_store()
        self.store.save(self.KIND, name, record)

    def job_folder(self, name: str) -> Path:
        return Path(self.ctx.work_dir) / self.KIND / name

    def snapshot(self, name: str):
        with self.lock:
            return copy.deepcopy(self.jobs[name])

    def update_run(self, name: str, **changes) -> None:
        """Change labcloud's bookkeeping of the job (run state fields) and save it."""
        with self.lock:
            run = self.jobs[name].run
            for key, value in changes.items():
                if not hasattr(run, key):
                    raise AttributeError(f"{type(run).__name__} has no field {key}")
                setattr(run, key, value)
        self.save(name)
