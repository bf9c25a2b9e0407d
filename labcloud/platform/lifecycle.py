"""Status life cycles as explicit transition tables.

Every labcloud resource with a life cycle (training jobs, endpoints, transform jobs, and the resources of
the services to come) declares which status may follow which. Its family moves a resource only through
`Lifecycle.check`, so a status the table does not allow is labcloud's own fault, reported as an
InternalFailure rather than shown to a learner as if AWS had done it.
"""

from __future__ import annotations

from labcloud.core.errors import InternalFailure


class Lifecycle:
    def __init__(self, resource: str, transitions: dict[str, set[str]]):
        unknown = {new for targets in transitions.values() for new in targets} - set(transitions)
        if unknown:
            raise ValueError(f"{resource}: statuses {sorted(unknown)} are reached but not declared")
        self.resource = resource
        self.transitions = transitions

    @property
    def terminal(self) -> set[str]:
        """Statuses nothing follows."""
        return {status for status, targets in self.transitions.items() if not targets}

    def allows(self, current: str, new: str) -> bool:
        return new in self.transitions.get(current, set())

    def check(self, current: str, new: str) -> None:
        if not self.allows(current, new):
            raise InternalFailure(f"{self.resource} cannot go from {current} to {new}")
