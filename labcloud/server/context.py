"""What every labcloud service shares while a server runs: where it lives, its settings, its store,
clients that talk to the server itself, and the processes it has started."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from labcloud.core.arns import arn
from labcloud.core.constants import ACCOUNT_ID, REGION
from labcloud.core.credentials import Credentials, user_credentials
from labcloud.core.settings import Settings
from labcloud.persistence.damage import DamageReport
from labcloud.persistence.store import Store
from labcloud.platform.events import EventPublisher
from labcloud.runtime.job_logs import LogShipper


@dataclass
class LabContext:
    endpoint_url: str
    state_dir: Path | None
    work_dir: Path  # job and endpoint working folders (inside state_dir when there is one)
    settings: Settings = field(default_factory=Settings.from_environ)
    region: str = REGION
    account_id: str = ACCOUNT_ID
    owner_pid: int | None = None  # the process a private labcloud lives for (labcloud.start()); None if shared
    credentials: Credentials = field(default_factory=user_credentials)  # what its own clients sign with

    def __post_init__(self):
        self._stores: dict[str, Store] = {}
        self.damage = DamageReport()  # damaged state found at start-up, for /_labcloud/status
        self._clients: dict[str, object] = {}
        self._lock = threading.RLock()  # log_shipper makes a client while holding it
        self._log_shipper = None
        self._events = None
        self.shutting_down = threading.Event()
        self.ready = threading.Event()  # set once every service has started
        self.services = None  # the server's Registry: how one service finds another

    @property
    def log_shipper(self):
        """The one LogShipper of this server (labcloud.runtime.job_logs), made on first use."""
        with self._lock:
            if self._log_shipper is None:
                self._log_shipper = LogShipper(self.client("logs"))
            return self._log_shipper

    @property
    def events(self) -> EventPublisher:
        """The one EventPublisher of this server (labcloud.platform.events), made on first use."""
        with self._lock:
            if self._events is None:
                self._events = EventPublisher(lambda: self.client("events"), self.region, self.account_id)
            return self._events

    def close(self) -> None:
        """Send the last log lines; called once every service has stopped."""
        if self._events is not None:
            self._events.drain()  # the state-change events still queued reach the bus while it answers
        if self._log_shipper is not None:
            self._log_shipper.close()

    def store_for(self, root: str | None) -> Store | None:
        """The record store of the service whose records live in `root` (None: a service without records)."""
        if root is None:
            return None
        with self._lock:
            if root not in self._stores:
                self._stores[root] = Store(self.state_dir, root, self.damage)
            return self._stores[root]

    def client(self, service: str):
        """A boto3 client for this server itself: labcloud's own S3 and Logs writes go over the wire like a
        learner's, so whatever makes them durable sees them too."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    **self.credentials.boto3_arguments(),
                    config=Config(retries={"max_attempts": 2}, max_pool_connections=32,
                                  s3={"addressing_style": "path"}),
                )
            return self._clients[service]

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this server's region and account."""
        return arn(service, resource, self.region, self.account_id)
