"""The resources the API serves: the ACK SageMaker kinds (namespaced, with a status subresource) and the
core/v1 resources kubectl needs beside them (Namespaces, Events)."""

from __future__ import annotations

from dataclasses import dataclass

from labcloud.services.kubernetes.kinds import GROUP, KINDS, VERSION, Kind


@dataclass(frozen=True)
class Resource:
    group: str  # "" for core
    version: str
    plural: str
    kind: str
    namespaced: bool
    ack: Kind | None = None  # the SageMaker kind it reconciles into

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def verbs(self) -> list[str]:
        return ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
EVENTS = Resource("", "v1", "events", "Event", True)
ACK_RESOURCES = [Resource(GROUP, VERSION, k.plural, k.kind, True, k) for k in KINDS]
CORE = {r.plural: r for r in (NAMESPACES, EVENTS)}
ACK = {r.plural: r for r in ACK_RESOURCES}
SHORT_NAMES = {"namespaces": ["ns"], "events": ["ev"]}
