"""Step caching and retry policies, as SageMaker Pipelines applies them.

Caching: a step with CacheConfig {Enabled: true, ExpireAfter} reuses the result of a Succeeded step of the
same name and type in an earlier execution of the same pipeline whose arguments were the same, if that
step ended within ExpireAfter (an ISO 8601 duration; no ExpireAfter: no expiry). labcloud compares the
arguments with every parameter and step property evaluated and the execution variables left as they are
written (an output path that names the execution id is the same in every execution), which is what lets a
second identical execution hit the cache.

Retries: a step's RetryPolicies list exception types (Step.SERVICE_FAULT, Step.THROTTLING,
SageMaker.JOB_INTERNAL_ERROR, SageMaker.CAPACITY_ERROR, SageMaker.RESOURCE_LIMIT) with IntervalSeconds
(default 1), BackoffRate (default 2) and MaxAttempts (default 5); a failure of a listed type is tried again.
"""

from __future__ import annotations

import datetime as dt
import json
import re

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def duration(text: str | None) -> dt.timedelta | None:
    """An ISO 8601 duration (P30D, PT1H, P1Y2M...); a year is 365 days and a month 30. None: no bound."""
    if not text:
        return None
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT"):
        raise ValueError(f"ExpireAfter {text!r} is not an ISO 8601 duration such as PT1H or P30D")
    years, months, weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return dt.timedelta(days=years * 365 + months * 30 + weeks * 7 + days, hours=hours, minutes=minutes,
                        seconds=seconds)


def cache_key(step_type: str, arguments) -> str:
    return json.dumps({"Type": step_type, "Arguments": arguments}, sort_keys=True, default=str)


def retry_delay(policies: list[dict], error_type: str | None, attempt: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when no policy retries this failure."""
    if error_type is None:
        return None
    for policy in policies:
        if error_type in (policy.get("ExceptionType") or []):
            if attempt >= int(policy.get("MaxAttempts", 5)):
                return None
            interval = float(policy.get("IntervalSeconds", 1))
            return interval * float(policy.get("BackoffRate", 2.0)) ** (attempt - 1)
    return None
