"""Every LABCLOUD_* environment variable, read in this one module.

Each setting has a name, a default and a meaning; the README lists them (`python -m labcloud.core.settings`
prints the same table). Values are read when a `Settings` is made, never at import time, so a test or a
notebook can set a variable and make new settings without reloading anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping


def _float(value: str) -> float:
    return float(value)


def _int(value: str) -> int:
    return int(value)


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def _path(value: str) -> Path:
    return Path(value).expanduser()


@dataclass(frozen=True)
class Variable:
    name: str
    default: object
    parse: object
    meaning: str


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    Variable("LABCLOUD_PORT", 4566, _int,
             "the port labcloud listens on and `labcloud.start()` looks for (LocalStack's port)"),
    Variable("LABCLOUD_STATE_DIR", None, _path,
             "where `labcloud up` and `labcloud.start()` keep state (default ~/.labcloud for `labcloud up`; "
             "`labcloud.start()` keeps nothing unless this is set)"),
    Variable("LABCLOUD_STOP_GRACE_SECONDS", 120.0, _float,
             "seconds between SIGTERM and SIGKILL when a job is stopped or interrupted (AWS allows 120 s)"),
    Variable("LABCLOUD_SPOT_CAPACITY_WAIT_SECONDS", 2.0, _float,
             "simulated wait for spot capacity after an interruption"),
    Variable("LABCLOUD_SPOT_PRICE_RATIO", 0.3, _float,
             "spot price as a fraction of on-demand: BillableTimeInSeconds = ceil(TrainingTimeInSeconds x ratio)"),
    Variable("LABCLOUD_SPOT_INTERRUPTION_RATE", 0.0, _float,
             "server-wide chance that a spot job is interrupted after each checkpoint it writes"),
    Variable("LABCLOUD_SPOT_SEED", 0, _int,
             "seed of the random interruptions (with the job name), so runs repeat"),
    Variable("LABCLOUD_INVOCATION_TIMEOUT_SECONDS", 60.0, _float,
             "how long a model server may take to answer one request (AWS's invocation timeout is 60 s)"),
    Variable("LABCLOUD_IMAGES", None, _path,
             "a JSON file mapping custom image URIs to local commands (default: images.json in the state dir)"),
    Variable("LABCLOUD_LAUNCHER", True, _flag,
             "0 starts each model server as a fresh interpreter instead of forking it from the warm launcher"),
    Variable("LABCLOUD_AUTHENTICATE", True, _flag,
             "0 serves every request, signed or not, as a workshop's shared server may choose (`labcloud up "
             "--no-auth`); by default only requests signed with your labcloud credentials (`labcloud env`)"),
    Variable("LABCLOUD_LOG_REQUESTS", False, _flag,
             "1 makes model servers log every request, not only failed ones"),
    Variable("LABCLOUD_PROMPT_WAITERS", True, _flag,
             "0 leaves SDK v2 sessions other than `labcloud.session()` waiting as the SDK does (5-30 s between "
             "looks) after `labcloud.start()`, instead of every 0.1 s"),
    Variable("LABCLOUD_FRAMEWORK", "sklearn", str,
             "set by labcloud for each model server it starts (sklearn or xgboost): whose default handlers "
             "fill in the ones a model's inference script leaves out; not a setting for users"),
)}


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the variable is set (non-empty), rather than left to its default."""
    VARIABLES[name]  # a name that is not a setting is an error here too
    return bool((os.environ if environ is None else environ).get(name))


def read(name: str, environ: Mapping[str, str] | None = None):
    """The value of one LABCLOUD_* variable, parsed, or its default when unset or empty."""
    variable = VARIABLES[name]
    value = (os.environ if environ is None else environ).get(name)
    if value in (None, ""):
        return variable.default
    try:
        return variable.parse(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not valid: {variable.meaning}") from None


@dataclass(frozen=True)
class Settings:
    """The server's tunable behaviour, read from the environment when made."""

    stop_grace_seconds: float
    spot_capacity_wait_seconds: float
    spot_price_ratio: float
    spot_interruption_rate: float
    spot_seed: int | None
    invocation_timeout_seconds: float
    images_file: Path | None
    launcher: bool
    authenticate: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        names = {f.name: "LABCLOUD_" + f.name.upper() for f in fields(cls)}
        names["images_file"] = "LABCLOUD_IMAGES"
        return cls(**{attr: read(var, environ) for attr, var in names.items()})


def port(environ: Mapping[str, str] | None = None) -> int:
    return read("LABCLOUD_PORT", environ)


def state_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    return read("LABCLOUD_STATE_DIR", environ)


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`labcloud up`'s state directory: LABCLOUD_STATE_DIR, else ~/.labcloud."""
    return state_dir(environ) or Path.home() / ".labcloud"


def table() -> str:
    """The settings as a Markdown table (the README's)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for v in VARIABLES.values():
        default = {True: "1", False: "0", None: "unset"}.get(v.default, v.default) if not isinstance(
            v.default, (int, float)) or isinstance(v.default, bool) else v.default
        rows.append(f"| `{v.name}` | {default} | {v.meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
