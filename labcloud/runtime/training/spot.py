"""When a managed spot training job loses its capacity (simulated, openly).

Real spot capacity cannot be had offline, so labcloud interrupts spot jobs on purpose, in two ways:

- the tag `labcloud:spot-interruptions` = N on CreateTrainingJob: the job is interrupted N times, each
  time only once it has written a new checkpoint since it last started, so every interruption is one
  the job can recover from and the course's labs are repeatable;
- a server-wide policy: each checkpoint a spot job writes is followed by an interruption with
  probability `settings.spot_interruption_rate`, drawn from a generator seeded with
  `settings.spot_seed` and the job's name (the same job name sees the same interruptions every run).
"""

from __future__ import annotations

import random

INTERRUPTIONS_TAG = "labcloud:spot-interruptions"


def tagged_interruptions(tags: list[dict] | None) -> int:
    for tag in tags or []:
        if tag.get("Key") == INTERRUPTIONS_TAG:
            try:
                return max(0, int(tag.get("Value", "0")))
            except ValueError:
                return 0
    return 0


class SpotPolicy:
    def __init__(self, job_name: str, tagged: int, done: int, rate: float, seed: int | None):
        self.remaining_tagged = max(0, tagged - done)
        self.rate = rate
        self.random = random.Random(f"{seed}:{job_name}") if seed is not None else random.Random()

    def interrupt_after_checkpoint(self) -> bool:
        """Called once per checkpoint written in the current attempt: should capacity be lost now?"""
        if self.remaining_tagged > 0:
            self.remaining_tagged -= 1
            return True
        return self.rate > 0 and self.random.random() < self.rate
