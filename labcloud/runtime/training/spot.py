"""When a managed spot training job loses its capacity (simulated, openly).

Real spot capacity cannot be had offline, so labcloud interrupts spot jobs on purpose, in two ways:

- by tags on CreateTrainingJob, which only a managed spot job heeds (checked there for every job: a
  value that is not what the tag expects is a ValidationException, never read as "no interruption"):
  - `labcloud:spot-interruptions` = N (a whole number, 0 or more): the job is interrupted N times, each
    time only once it has written a new checkpoint since it last started, so every interruption is one
    the job can recover from and the course's labs are repeatable;
  - `labcloud:spot-interrupt-after-seconds` = T (a positive number, fractions allowed): the tagged
    interruptions come by time instead: each attempt's training process is interrupted T seconds after
    it started, whether or not it has checkpointed, until N interruptions have happened (N is 1 when
    only this tag is given). An attempt that ends before T seconds is not interrupted. So a job that
    never checkpoints is interrupted too, and starts each attempt from scratch;
- a server-wide policy: each checkpoint a spot job writes is followed by an interruption with
  probability `settings.spot_interruption_rate`, drawn from a generator seeded with
  `settings.spot_seed` and the job's name (the same job name sees the same interruptions every run).
  It applies with or without the tags.

SpotPolicy decides; the training worker asks it after each checkpoint and while the process runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

INTERRUPTIONS_TAG = "labcloud:spot-interruptions"
AFTER_SECONDS_TAG = "labcloud:spot-interrupt-after-seconds"


class InvalidSpotTag(ValueError):
    """A labcloud spot tag whose value is not what the tag expects; the message says what is."""


@dataclass(frozen=True)
class TaggedInterruptions:
    """What a job's tags ask for: `count` interruptions, after a checkpoint or, with `after_seconds`,
    that many seconds into an attempt."""
    count: int = 0
    after_seconds: float | None = None


def _value(tags: list[dict] | None, key: str) -> str | None:
    for tag in tags or []:
        if tag.get("Key") == key:
            return tag.get("Value", "")
    return None


def tagged_interruptions(tags: list[dict] | None) -> TaggedInterruptions:
    """The interruptions a job's Tags ask for. Raises InvalidSpotTag for a value the tag cannot mean."""
    count, after = _value(tags, INTERRUPTIONS_TAG), _value(tags, AFTER_SECONDS_TAG)
    seconds = None
    if after is not None:
        try:
            seconds = float(after)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise InvalidSpotTag(f"The value of tag {AFTER_SECONDS_TAG} must be a positive number of seconds "
                                 f"(for example 1 or 2.5), not {after!r}.")
    if count is None:
        return TaggedInterruptions(1 if seconds is not None else 0, seconds)
    try:
        number = int(count)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidSpotTag(f"The value of tag {INTERRUPTIONS_TAG} must be a whole number of interruptions, "
                             f"0 or more (for example 2), not {count!r}.")
    return TaggedInterruptions(number, seconds)


class SpotPolicy:
    def __init__(self, job_name: str, tagged: TaggedInterruptions, done: int, rate: float, seed: int | None):
        self.remaining_tagged = max(0, tagged.count - done)
        self.after_seconds = tagged.after_seconds
        self.rate = rate
        self.random = random.Random(f"{seed}:{job_name}") if seed is not None else random.Random()

    def interrupt_after_checkpoint(self) -> bool:
        """Called once per checkpoint written in the current attempt: should capacity be lost now?"""
        if self.remaining_tagged > 0 and self.after_seconds is None:
            self.remaining_tagged -= 1
            return True
        return self.rate > 0 and self.random.random() < self.rate

    def interrupt_while_running(self, seconds: float) -> bool:
        """Called while the current attempt's process runs, `seconds` after it started, and no interruption
        is under way: should capacity be lost now?"""
        if self.after_seconds is not None and self.remaining_tagged > 0 and seconds >= self.after_seconds:
            self.remaining_tagged -= 1
            return True
        return False
