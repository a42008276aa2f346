"""One verdict per target from two sides: what LaunchDarkly's ``_status`` says, and what the
store itself says (the SDKs' view). Pure: no I/O; the clock is a parameter.

Verdicts (store-schema.md §5, §6, §8):
- OFF: the integration is turned off.
- NOT CONFIGURED: ldtui has no connection for the store; the reason names the config key.
- UNAVAILABLE: the store cannot be read (what SDKs report as unavailable).
- DISAGREE: LaunchDarkly and the store tell different stories (e.g. the API says available while
  the store is stale, or the API reports failures while the store is fresh).
- STALE: the store is stale by the SDK rule, and LaunchDarkly does not claim otherwise.
- HEALTHY: the store is fresh, and LaunchDarkly does not report a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ldtui.core.bigsegments import StoreStatus
from ldtui.core.text import relative_age


class Health(StrEnum):
    HEALTHY = "HEALTHY"
    STALE = "STALE"
    UNAVAILABLE = "UNAVAILABLE"
    OFF = "OFF"
    NOT_CONFIGURED = "NOT CONFIGURED"
    DISAGREE = "DISAGREE"


# Exit codes of `ldtui status`, Nagios-style: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
EXIT_CODES = {
    Health.HEALTHY: 0,
    Health.OFF: 0,
    Health.STALE: 1,
    Health.UNAVAILABLE: 2,
    Health.DISAGREE: 2,
    Health.NOT_CONFIGURED: 3,
}


@dataclass(frozen=True)
class ApiSide:
    """The integration's ``_status`` (absent for a Relay Proxy store with no integration)."""

    on: bool
    available: bool | None
    potentially_stale: bool | None
    last_sync: int | None
    last_error: int | None
    error_count: int
    last_error_message: str | None = None
    # The first error of the current run (after the last successful sync).
    failing_since: int | None = None

    @property
    def failing(self) -> bool:
        return self.last_error is not None and (self.last_sync is None or self.last_error >= self.last_sync)

    @property
    def claims_fresh(self) -> bool:
        return bool(self.available) and not self.potentially_stale and not self.failing

    @property
    def reports_problem(self) -> bool:
        return self.failing or bool(self.potentially_stale) or self.available is False


@dataclass(frozen=True)
class StoreSide:
    configured: bool
    reachable: bool | None = None
    latency_ms: float | None = None
    status: StoreStatus | None = None  # None when not read (not configured, unreachable)
    error: str | None = None
    config_hint: str | None = None


def verdict(api: ApiSide | None, store: StoreSide, now_ms: int) -> tuple[Health, str]:
    """The one word, and why."""
    if api is not None and not api.on:
        return Health.OFF, "the integration is turned off; LaunchDarkly does not sync this store"
    if not store.configured:
        return Health.NOT_CONFIGURED, store.config_hint or "no store connection configured"
    if not store.reachable or store.status is None or not store.status.available:
        detail = store.error or (store.status.error if store.status else None) or "no answer"
        return Health.UNAVAILABLE, f"SDKs cannot read the store: {detail}"
    s = store.status
    age = relative_age(s.synchronized_on, now_ms) if s.synchronized_on else "never"
    if s.stale:
        if api is not None and api.claims_fresh:
            return (
                Health.DISAGREE,
                f"LaunchDarkly says available (last sync {relative_age(api.last_sync, now_ms)}) "
                f"but the store's synchronizedOn is {age}: SDKs see it stale",
            )
        if s.synchronized_on is None:
            return Health.STALE, "the store has no synchronizedOn: never synced, or wrong prefix/table"
        return Health.STALE, f"synchronizedOn {age}: SDKs treat the data as stale"
    if api is not None and api.reports_problem:
        problem = (
            f"reports sync errors ({api.last_error_message})"
            if api.failing and api.last_error_message
            else "reports the integration unavailable or potentially stale"
        )
        return Health.DISAGREE, f"the store is fresh (synchronizedOn {age}) but LaunchDarkly {problem}"
    return Health.HEALTHY, f"synchronizedOn {age}; SDKs see fresh data"


def exit_code(verdicts: list[Health]) -> int:
    """The worst: 2 beats 1; 3 (unknown) only when nothing is worse than OK."""
    codes = [EXIT_CODES[v] for v in verdicts]
    if 2 in codes:
        return 2
    if 1 in codes:
        return 1
    if 3 in codes:
        return 3
    return 0
