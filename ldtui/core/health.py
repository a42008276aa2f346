"""One verdict per target from two sides: what LaunchDarkly's ``_status`` says, and what the
store itself says (the SDKs' view). Pure: no I/O; the clock is a parameter.

Verdicts (store-schema.md §5, §6, §8):
- OFF: the integration is turned off.
- NOT CONFIGURED: ldtui has no connection for the store, and LaunchDarkly reports nothing
  wrong either; the reason names the config key. When ldtui cannot probe the store but
  LaunchDarkly reports the sync failing or potentially stale, the verdict is LaunchDarkly's
  alone (UNAVAILABLE / STALE, marked "(LaunchDarkly)"): monitoring must not say "unknown"
  while LaunchDarkly already says "failing".
- UNAVAILABLE: the store cannot be read (what SDKs report as unavailable).
- DISAGREE: LaunchDarkly and the store tell different stories (e.g. the API says available while
  the store is stale, or the API reports failures while the store is fresh).
- STALE: the store is stale by the SDK rule, and LaunchDarkly does not claim otherwise.
- HEALTHY: the store is fresh, and LaunchDarkly does not report a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ldtui.core.bigsegments import StoreStatus
from ldtui.core.integration_status import since_text
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
    # False when earlier errors of the run may not be listed: "since at least ...".
    failing_since_exact: bool = False

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
    # Where the probe went (no password): with a Sentinel, the master it was sent to.
    endpoint: str | None = None


class Judgement(NamedTuple):
    """A verdict, why, and whether it rests on LaunchDarkly's word alone (the store could not
    be probed: no connection is configured for it)."""

    health: Health
    reason: str
    api_only: bool = False

    @property
    def label(self) -> str:
        """The verdict as shown: ``UNAVAILABLE (LaunchDarkly)`` when it is LaunchDarkly's."""
        return f"{self.health.value} (LaunchDarkly)" if self.api_only else self.health.value


def _api_only(api: ApiSide, hint: str, now_ms: int) -> Judgement:
    """No probe: LaunchDarkly's ``_status`` decides, and the reason quotes it."""
    cannot = f"ldtui cannot probe the store ({hint})"
    if api.failing:
        since = since_text(api.failing_since or api.last_error, api.failing_since_exact, now_ms)
        quoted = f": {api.last_error_message}" if api.last_error_message else ""
        return Judgement(
            Health.UNAVAILABLE, f"LaunchDarkly reports the sync failing since {since}{quoted}; {cannot}", True
        )
    if api.potentially_stale or api.available is False:
        synced = f"last sync {relative_age(api.last_sync, now_ms)}" if api.last_sync else "no sync yet"
        word = "potentially stale" if api.potentially_stale else "unavailable"
        return Judgement(Health.STALE, f"LaunchDarkly reports it {word} ({synced}); {cannot}", True)
    synced = f"; LaunchDarkly reports a sync {relative_age(api.last_sync, now_ms)}" if api.last_sync else ""
    return Judgement(Health.NOT_CONFIGURED, f"{hint}{synced}")


def verdict(api: ApiSide | None, store: StoreSide, now_ms: int) -> Judgement:
    """The one word, and why."""
    if api is not None and not api.on:
        return Judgement(Health.OFF, "the integration is turned off; LaunchDarkly does not sync this store")
    if not store.configured:
        hint = store.config_hint or "no store connection configured"
        if api is not None:
            return _api_only(api, hint, now_ms)
        return Judgement(Health.NOT_CONFIGURED, hint)
    if not store.reachable or store.status is None or not store.status.available:
        detail = store.error or (store.status.error if store.status else None) or "no answer"
        return Judgement(Health.UNAVAILABLE, f"SDKs cannot read the store: {detail}")
    s = store.status
    age = relative_age(s.synchronized_on, now_ms) if s.synchronized_on else "never"
    if s.stale:
        if api is not None and api.claims_fresh:
            return Judgement(
                Health.DISAGREE,
                f"LaunchDarkly says available (last sync {relative_age(api.last_sync, now_ms)}) "
                f"but the store's synchronizedOn is {age}: SDKs see it stale",
            )
        if s.synchronized_on is None:
            return Judgement(
                Health.STALE, "the store has no synchronizedOn: never synced, or wrong prefix/table"
            )
        return Judgement(Health.STALE, f"synchronizedOn {age}: SDKs treat the data as stale")
    if api is not None and api.reports_problem:
        problem = (
            f"reports sync errors ({api.last_error_message})"
            if api.failing and api.last_error_message
            else "reports the integration unavailable or potentially stale"
        )
        return Judgement(
            Health.DISAGREE, f"the store is fresh (synchronizedOn {age}) but LaunchDarkly {problem}"
        )
    return Judgement(Health.HEALTHY, f"synchronizedOn {age}; SDKs see fresh data")


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


# --- readers: everyone who judges a store's staleness, each by its own threshold ----------------

SDK_READER = "sdk"
RELAY_READER = "relay"
DEFAULT_RELAY_STALE_AFTER_S = 300.0  # the Relay Proxy's BIG_SEGMENTS_STALE_THRESHOLD default


@dataclass(frozen=True)
class Reader:
    """A consumer of the store. SDKs call it stale when ``now - synchronizedOn >= staleAfter``
    (store-schema.md §6); the Relay Proxy's ``/status`` says potentially stale when
    ``now > synchronizedOn + threshold`` (a strict comparison); both when it is missing."""

    name: str  # "sdk", "relay", or an application's name from [status.readers]
    label: str
    stale_after_ms: float
    strict: bool = False

    def stale(self, synchronized_on: int | None, now_ms: int) -> bool:
        if synchronized_on is None:
            return True
        age = now_ms - synchronized_on
        return age > self.stale_after_ms if self.strict else age >= self.stale_after_ms

    def stale_in_ms(self, synchronized_on: int | None, now_ms: int) -> float | None:
        """How long until this reader calls the data stale (<= 0: it does already)."""
        if synchronized_on is None:
            return None
        return synchronized_on + self.stale_after_ms - now_ms


@dataclass(frozen=True)
class ReaderVerdict:
    reader: Reader
    stale: bool
    stale_in_ms: float | None

    def text(self) -> str:
        """``SDKs: fresh, stale in 37 s`` / ``Relay Proxy: stale`` (a countdown while fresh)."""
        if self.stale:
            return f"{self.reader.label}: stale"
        if self.stale_in_ms is None:
            return f"{self.reader.label}: fresh"
        return f"{self.reader.label}: fresh, stale in {_seconds(self.stale_in_ms)}"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.reader.name,
            "staleAfterSeconds": self.reader.stale_after_ms / 1000,
            "stale": self.stale,
            "staleInSeconds": None if self.stale_in_ms is None else round(self.stale_in_ms / 1000, 3),
        }


def _seconds(ms: float) -> str:
    s = max(0, int(ms // 1000) + (1 if ms % 1000 else 0))
    return f"{s} s" if s < 120 else f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"


def readers(
    sdk_stale_after_s: float,
    relay_stale_after_s: float = DEFAULT_RELAY_STALE_AFTER_S,
    applications: Mapping[str, float] | None = None,
) -> list[Reader]:
    """Every reader ldtui judges for: the SDKs (``status.stale_after``), each application with a
    ``staleAfter`` of its own (``[status.readers]``), the Relay Proxy."""
    out = [Reader(SDK_READER, "SDKs", sdk_stale_after_s * 1000)]
    for name, seconds in sorted((applications or {}).items()):
        out.append(Reader(name, name, seconds * 1000))
    out.append(Reader(RELAY_READER, "Relay Proxy", relay_stale_after_s * 1000, strict=True))
    return out


def reader_verdicts(
    synchronized_on: int | None, now_ms: int, all_readers: Iterable[Reader]
) -> list[ReaderVerdict]:
    return [
        ReaderVerdict(r, r.stale(synchronized_on, now_ms), r.stale_in_ms(synchronized_on, now_ms))
        for r in all_readers
    ]
