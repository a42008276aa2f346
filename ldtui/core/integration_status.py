"""What an integration's ``_status`` says, as one word with its reason (never colour alone)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ldtui.core.text import literal, relative_age

if TYPE_CHECKING:
    from ldtui.core.models import BigSegmentStoreIntegration


class ApiStatus(StrEnum):
    OK = "OK"
    STALE = "STALE"
    ERROR = "ERROR"
    OFF = "OFF"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class StatusSummary:
    word: ApiStatus
    reason: str
    last_sync: int | None
    last_error: int | None
    last_error_message: str | None
    error_count: int
    # The first error of the current run of errors (after the last successful sync): how long
    # the sync has been failing, which the latest error's time does not say.
    failing_since: int | None = None
    # Whether ``failing_since`` is the run's first error, or only the earliest one listed: the
    # API's ``errors`` need not hold them all. It is exact only when the list reaches back past
    # the last successful sync (an error before it is listed), so nothing of the run is missing.
    failing_since_exact: bool = False

    def failing_since_text(self, now_ms: int) -> str:
        """``10m ago``, or ``at least 10m ago`` when earlier errors may not be listed."""
        return since_text(self.failing_since, self.failing_since_exact, now_ms)


def since_text(since: int | None, exact: bool, now_ms: int) -> str:
    if since is None:
        return "-"
    age = relative_age(since, now_ms)
    return age if exact else f"at least {age}"


def failing_since(last_sync: int | None, last_error: int | None, error_times: list[int]) -> int | None:
    """When the current run of sync errors began, as far as the errors listed say: the
    earliest error after the last successful sync (``lastError`` when the errors carry no
    timestamps); ``None`` when not failing."""
    if last_error is None or (last_sync is not None and last_error < last_sync):
        return None
    run = [t for t in error_times if last_sync is None or t >= last_sync]
    return min([*run, last_error])


def failing_since_is_exact(last_sync: int | None, error_times: list[int]) -> bool:
    """The first error of the run is known only if an error from before the last successful
    sync is listed too (the list is then complete back past the run's start)."""
    return last_sync is not None and any(t < last_sync for t in error_times)


def summarize(integration: BigSegmentStoreIntegration, now_ms: int) -> StatusSummary:
    s = integration.status
    errors = s.errors or []
    last_message = None
    if errors:
        latest = max(errors, key=lambda e: e.timestamp or 0)
        last_message = literal(latest.message or f"HTTP {latest.statusCode}")
    times = [e.timestamp for e in errors if e.timestamp is not None]
    since = failing_since(s.lastSync, s.lastError, times)
    exact = failing_since_is_exact(s.lastSync, times)
    common: dict[str, Any] = dict(
        last_sync=s.lastSync,
        last_error=s.lastError,
        last_error_message=last_message,
        error_count=len(errors),
        failing_since=since,
        failing_since_exact=exact,
    )
    if not integration.on:
        return StatusSummary(ApiStatus.OFF, "the integration is turned off; nothing syncs", **common)
    if s.available is None and s.lastSync is None and s.lastError is None:
        return StatusSummary(ApiStatus.UNKNOWN, "LaunchDarkly reports no sync yet", **common)
    if since is not None:
        reason = f"sync failing since {since_text(since, exact, now_ms)}"
        if s.lastSync is None:
            reason += ", never synchronized"
        if since != s.lastError:
            reason += f" (latest {relative_age(s.lastError, now_ms)})"
        if last_message:
            reason += f": {last_message}"
        return StatusSummary(ApiStatus.ERROR, reason, **common)
    if s.available and not s.potentiallyStale:
        return StatusSummary(ApiStatus.OK, f"synchronized {relative_age(s.lastSync, now_ms)}", **common)
    return StatusSummary(
        ApiStatus.STALE,
        f"potentially stale: last sync {relative_age(s.lastSync, now_ms)}",
        **common,
    )
