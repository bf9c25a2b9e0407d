"""What labcloud found damaged in its state directory: reported, kept aside, never silently dropped.

A record file that will not parse, or a journal record whose checksum does not match, must not stop the
server from starting, and must not vanish without a word either. Whoever finds one adds it here; the
finding goes to the log at once and stays in `/_labcloud/status` (so `labcloud status`) while the server
runs, with the place its bytes were kept for a person to look at.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass

log = logging.getLogger("labcloud.persistence")


@dataclass(frozen=True)
class Finding:
    where: str  # what was damaged: a record ("sagemaker/endpoints/x") or the journal and an offset
    problem: str  # what was wrong, in a sentence
    kept_at: str | None = None  # where the damaged bytes were moved, if anywhere


class DamageReport:
    def __init__(self):
        self._findings: list[Finding] = []
        self._lock = threading.Lock()

    def add(self, where: str, problem: str, kept_at: str | None = None) -> None:
        finding = Finding(where, problem, kept_at)
        log.warning("damaged state: %s: %s%s", where, problem, f" (kept at {kept_at})" if kept_at else "")
        with self._lock:
            self._findings.append(finding)

    def findings(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._findings]
