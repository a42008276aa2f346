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


def summarize(integration: BigSegmentStoreIntegration, now_ms: int) -> StatusSummary:
    s = integration.status
    errors = s.errors or []
    last_message = None
    if errors:
        latest = max(errors, key=lambda e: e.timestamp or 0)
        last_message = literal(latest.message or f"HTTP {latest.statusCode}")
    common: dict[str, Any] = dict(
        last_sync=s.lastSync,
        last_error=s.lastError,
        last_error_message=last_message,
        error_count=len(errors),
    )
    if not integration.on:
        return StatusSummary(ApiStatus.OFF, "the integration is turned off; nothing syncs", **common)
    if s.available is None and s.lastSync is None and s.lastError is None:
        return StatusSummary(ApiStatus.UNKNOWN, "LaunchDarkly reports no sync yet", **common)
    failing = s.lastError is not None and (s.lastSync is None or s.lastError >= s.lastSync)
    if failing:
        reason = f"sync failing since {relative_age(s.lastError, now_ms)}"
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
