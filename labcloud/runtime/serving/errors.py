"""What can go wrong with a model-server container, as the serving code and the services see it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: containers.py imports this module
    from labcloud.runtime.serving.containers import ContainerProcess


class ContainerError(Exception):
    """A container answered with a non-2xx status."""

    def __init__(self, container: ContainerProcess, status: int, message: str):
        super().__init__(f"{container.hostname} answered {status}: {message}")
        self.container = container
        self.status = status
        self.message = message


class ContainerUnavailable(Exception):
    """A container is not running, refused the connection or did not answer in time."""

    def __init__(self, container: ContainerProcess, reason: str):
        super().__init__(f"container {container.hostname}: {reason}")
        self.container = container
        self.reason = reason


class StartupFailed(Exception):
    """A container exited or did not answer /ping in time; the message carries its last log lines."""


class StartupCancelled(StartupFailed):
    """The start was called off (the endpoint deleted, the job stopped, the server stopping)."""
