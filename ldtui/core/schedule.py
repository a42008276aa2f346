"""When to read a target again: the status panel's and the exporter's one rule.

A store that cannot be read is tried less often (the interval, doubled per failure in a row,
capped); one LaunchDarkly alone speaks for (not probed) has nothing to back off; the API list
backs off on its own, with a longer cap."""

from __future__ import annotations

TARGET_MAX_BACKOFF_S = 30.0
API_MAX_BACKOFF_S = 60.0


def backoff(interval: float, failures: int, cap: float) -> float:
    """The wait after ``failures`` failures in a row: the interval, doubled per failure, capped."""
    if failures <= 0:
        return interval
    return min(cap, interval * 2.0 ** (failures - 1))


def after_reading(failures: int, unreadable: bool, now: float, interval: float) -> tuple[int, float]:
    """A target's (failures in a row, next due) after a reading at ``now`` (monotonic seconds);
    next due ``0.0`` means with the next round."""
    if unreadable:
        failures += 1
        return failures, now + backoff(interval, failures, TARGET_MAX_BACKOFF_S)
    return 0, 0.0
