"""labcloud's tunable behaviour, in one place; each value can be set by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass
class Settings:
    # Seconds between SIGTERM and SIGKILL when a job is stopped or interrupted (AWS allows 120 s).
    stop_grace_seconds: float = field(default_factory=lambda: _env_float("LABCLOUD_STOP_GRACE_SECONDS", 120.0))
    # Simulated wait for spot capacity after an interruption.
    spot_capacity_wait_seconds: float = field(
        default_factory=lambda: _env_float("LABCLOUD_SPOT_CAPACITY_WAIT_SECONDS", 2.0))
    # Spot price as a fraction of on-demand: BillableTimeInSeconds = ceil(TrainingTimeInSeconds * ratio).
    spot_price_ratio: float = field(default_factory=lambda: _env_float("LABCLOUD_SPOT_PRICE_RATIO", 0.3))
    # Server-wide random interruptions: probability per checkpoint written, and the seed that makes runs repeatable.
    spot_interruption_rate: float = field(default_factory=lambda: _env_float("LABCLOUD_SPOT_INTERRUPTION_RATE", 0.0))
    spot_seed: int | None = field(default_factory=lambda: _env_int("LABCLOUD_SPOT_SEED", 0))
