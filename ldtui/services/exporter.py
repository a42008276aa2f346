"""``ldtui exporter``: the checks of ``ldtui status``, run in the background and kept as
Prometheus metrics, for fleets that want one scrape target and an alert.

- The targets, verdicts and reader thresholds are the status service's own
  (``StatusService.targets``, ``targets_offline`` when the API fails, ``check_each``,
  ``readers``); nothing here judges a store.
- One collection loop, in a thread with its own event loop, at ``status.poll_interval``: one
  API list per interval (the client waits out 429s), then every due store at once, each with
  its own deadline; a store that keeps failing is backed off as the status panel does, the
  API list too.
- A list that has had no answer from the API for longer than the client's deadline for one
  request (the profile's ``timeout``) is the API collector down at once, while it goes on:
  the collector is never up while the API hangs; its last success keeps its true time.
- A scrape never waits on a store or the API: it is answered with the last collection,
  rendered by prometheus_client ahead of time, after every collection, for each format
  scrapers have asked for (Prometheus text, OpenMetrics).
- The metric families are built afresh from each collection (a custom collector), so a
  target that leaves (an integration deleted, a store unconfigured) leaves no series behind.

Label values come from the API (names, keys) and are untrusted: control characters are
spelled out (``literal``: someone reads /metrics with curl in a terminal) and each value is
bounded. No secret, context key or hash is ever a label or a value."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ldtui.core.health import Health
from ldtui.core.schedule import API_MAX_BACKOFF_S, after_reading, backoff
from ldtui.core.text import literal, truncate

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

    from ldtui.config import Config
    from ldtui.services.status import StatusService, Target, TargetStatus

STORE_KINDS = ("redis", "dynamodb")
# As the status panel: a store that keeps failing is tried less often, but at least every
# 30 s, so that its recovery shows within half a minute; the API list at least every minute.
# While a round waits on a slow store, what has come in is published this often.
PUBLISH_EVERY_S = 1.0
# How long a round waits for the API list before it probes the stores it knows without it
# (the list goes on; what it brings is taken up when it comes).
LIST_GRACE_S = 2.0
# The API client's deadline for one request when none is given (the profile's default timeout).
API_DEADLINE_S = 10.0
# A format no scraper asked for in this long is no longer rendered ahead of time.
FORMAT_KEPT_S = 600.0
MAX_FORMATS = 4

TARGET_LABELS = ("id", "project", "environment", "store", "name")
LABEL_LIMITS = (80, 128, 128, 16, 128)
Note = Callable[[str], None]


def label_value(text: object, limit: int) -> str:
    """An untrusted label value: control characters spelled out, at most ``limit`` characters."""
    return truncate(literal("" if text is None else text), limit)


def target_labels(target: Target) -> tuple[str, ...]:
    values = (target.id, target.project, target.environment, target.kind, target.name)
    return tuple(label_value(v, n) for v, n in zip(values, LABEL_LIMITS, strict=True))


def _flag(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


@dataclass(frozen=True, slots=True)
class Reading:
    """One target's last check, as metrics (``None``: the series is absent)."""

    labels: tuple[str, ...]
    health: Health
    api_only: bool
    store_up: float | None
    probe_duration: float | None
    synchronized: float | None
    integration_on: float | None
    api_available: float | None
    api_potentially_stale: float | None
    api_failing: float | None
    api_last_sync: float | None
    api_last_error: float | None
    api_errors: float | None
    readers: tuple[tuple[str, bool], ...]


def reading(status: TargetStatus) -> Reading:
    store, api = status.store, status.api
    read = store.status
    store_up = None
    if store.configured:  # probed: a reader was made and asked
        store_up = float(bool(store.reachable and read is not None and read.available))
    synchronized = None
    if read is not None and read.available and read.synchronized_on is not None:
        synchronized = read.synchronized_on / 1000
    return Reading(
        labels=target_labels(status.target),
        health=status.health,
        api_only=status.api_only,
        store_up=store_up,
        probe_duration=_seconds(store.latency_ms),
        synchronized=synchronized,
        integration_on=None if api is None else float(api.on),
        api_available=None if api is None else _flag(api.available),
        api_potentially_stale=None if api is None else _flag(api.potentially_stale),
        api_failing=None if api is None else float(api.failing),
        api_last_sync=None if api is None else _seconds(api.last_sync),
        api_last_error=None if api is None else _seconds(api.last_error),
        api_errors=None if api is None else float(api.error_count),
        readers=tuple((label_value(r.reader.name, 64), r.stale) for r in status.readers),
    )


@dataclass(frozen=True)
class CollectorState:
    up: bool
    last_success: float | None  # epoch seconds


@dataclass(frozen=True)
class Snapshot:
    """What a scrape reads: immutable, replaced whole."""

    version: int
    readings: tuple[Reading, ...]
    collectors: dict[str, CollectorState]
    rounds: int
    last_round_end: float | None  # epoch seconds
    last_round_duration: float | None
    readers: tuple[tuple[str, float], ...]  # name, stale-after seconds


@dataclass
class _Track:
    failures: int = 0
    next_due: float = 0.0  # monotonic


def _describe(exc: BaseException) -> str:
    summary = getattr(exc, "summary", None)
    if isinstance(summary, str):
        return summary
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"


class Collection:
    """The collection loop over a ``StatusService``: rounds at ``interval``, each publishing a
    ``Snapshot`` (and, during a long round, what has come in so far)."""

    def __init__(
        self,
        service: StatusService,
        interval: float,
        *,
        publish: Callable[[Snapshot], None] = lambda snapshot: None,
        note: Note = lambda text: None,
        monotonic: Callable[[], float] = time.monotonic,
        api_deadline: float = API_DEADLINE_S,
    ) -> None:
        self.service = service
        self.interval = interval
        # A list with no answer from the API for this long has the API collector down.
        self.api_deadline = api_deadline
        self.publish_to = publish
        self.note = note
        self.monotonic = monotonic
        self.targets: list[Target] = []
        self._target_ids: set[str] = set()
        self.readings: dict[str, Reading] = {}
        self.tracks: dict[str, _Track] = {}
        self.collectors: dict[str, CollectorState] = {}
        self.api_failures = 0
        self.api_next_due = 0.0
        # The API list in flight, beside the rounds: a hanging API never holds the stores up.
        self.listing_task: asyncio.Future[None] | None = None
        self.list_grace = min(LIST_GRACE_S, interval)
        self.api_answered: float | None = None  # monotonic: the list's start, then each answer
        self.api_down_said = False  # the log said the API is down (said again when it answers)
        self.rounds = 0
        self.version = 0
        self.last_round_end: float | None = None
        self.last_round_mono: float | None = None
        self.last_round_duration: float | None = None
        self.round_started: float | None = None  # monotonic, while a round runs
        self._dirty = False

    @property
    def round_deadline(self) -> float:
        """No round lasts longer (each store has its own, shorter deadline already)."""
        return max(30.0, 3 * self.interval)

    async def run(self) -> None:
        """Rounds until cancelled; a round that fails unexpectedly is said and retried."""
        failures = 0
        try:
            while True:
                started = self.monotonic()
                try:
                    await self.collect()
                    failures = 0
                except Exception as exc:  # a bug must not end the exporter's collection silently
                    failures += 1
                    self.note(f"collection failed: {_describe(exc)}")
                elapsed = self.monotonic() - started
                wait = backoff(self.interval, failures, API_MAX_BACKOFF_S) if failures else self.interval
                await asyncio.sleep(max(wait - elapsed, self.interval / 10))
        finally:
            listing, self.listing_task = self.listing_task, None
            if listing is not None:  # before the service (its client) is closed
                listing.cancel()
                await asyncio.gather(listing, return_exceptions=True)

    async def collect(self) -> None:
        """One round: the API list when due (given ``list_grace``, then left to run beside the
        rounds when targets are known), then every due store; then publish."""
        start = self.monotonic()
        self.round_started = start
        try:
            if self.listing_task is None and (self.api_next_due <= start or not self.targets):
                self.listing_task = asyncio.ensure_future(self._list(start))
            if self.listing_task is not None:
                if self.targets:
                    await asyncio.wait({self.listing_task}, timeout=self.list_grace)
                else:  # nothing known to probe without it
                    await asyncio.wait({self.listing_task})
                if self.listing_task.done():
                    listing, self.listing_task = self.listing_task, None
                    listing.result()  # what _list does not expect is this round's failure
            due = [t for t in self.targets if self.tracks.get(t.id, _Track()).next_due <= start]
            checked = await self._probe(due)
            self._judge_collectors(checked)
        finally:
            self.round_started = None
        end = self.monotonic()
        self.rounds += 1
        self.last_round_mono = end
        self.last_round_end = self.service.clock()
        self.last_round_duration = end - start
        self.publish()

    async def _list(self, start: float) -> None:
        from ldtui.api.client import observe_responses
        from ldtui.api.errors import ApiError

        self.api_answered = self.monotonic()
        watch = asyncio.ensure_future(self._watch_list())
        try:
            # Every HTTP answer (a page, an environment, a 429 or a 5xx) is the API answering.
            with observe_responses(self._api_answer):
                async with asyncio.timeout(self.round_deadline):
                    targets = await self.service.targets()
        except (ApiError, OSError, TimeoutError) as exc:
            self.api_failures += 1
            self.api_next_due = start + backoff(self.interval, self.api_failures, API_MAX_BACKOFF_S)
            self._api_down()
            self._say_api_down(f"{_describe(exc)}; the stores are still probed")
            if not self.targets:
                # Nothing known yet: the roster remembered from the last run and every
                # configured store, each probed only if its prefix is known.
                self._set_targets(await self.service.targets_offline())
            self._publish_unless_a_round_will()
            return
        finally:
            self.api_answered = None
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        if self.api_down_said:
            self.note("LaunchDarkly API answers again")
        self.api_down_said = False
        self.api_failures = 0
        self.api_next_due = start + self.interval
        self.collectors["api"] = CollectorState(True, self.service.clock())
        self._set_targets(targets)
        self._publish_unless_a_round_will()

    def _api_answer(self, status: int, request_id: str | None) -> None:
        if self.api_answered is not None:
            self.api_answered = self.monotonic()

    async def _watch_list(self) -> None:
        """Beside a list: once the API has not answered it for ``api_deadline``, the API
        collector is down (published at once), while the list goes on to its own end."""
        while self.api_answered is not None:
            left = self.api_answered + self.api_deadline - self.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(left)
        if self.api_answered is None:
            return
        self._api_down()
        self._say_api_down(
            f"no answer for {self.api_deadline:g} s (its timeout); the stores are still probed"
        )
        self.publish()

    def _api_down(self) -> None:
        before = self.collectors.get("api")
        if before is None or before.up:
            self.collectors["api"] = CollectorState(False, before.last_success if before else None)
            self._dirty = True

    def _say_api_down(self, why: str) -> None:
        if not self.api_down_said:
            self.api_down_said = True
            self.note(f"LaunchDarkly API: {why}")

    def _publish_unless_a_round_will(self) -> None:
        """What a list brought or how it failed, published now when no round is running to
        publish it (a list that ended beside the rounds, between two of them)."""
        if self.round_started is None:
            self.publish()

    def _set_targets(self, targets: list[Target]) -> None:
        self.targets = targets
        self._target_ids = ids = {t.id for t in targets}
        for table in (self.readings, self.tracks):
            for gone in [k for k in table if k not in ids]:
                del table[gone]
        self._dirty = True

    async def _probe(self, due: list[Target]) -> list[TargetStatus]:
        checked: list[TargetStatus] = []
        if not due:
            return checked
        flusher = asyncio.ensure_future(self._publish_while_waiting())
        try:
            async with asyncio.timeout(self.round_deadline):
                async for status in self.service.check_each(due):
                    self._record(status, self.monotonic())
                    checked.append(status)
        except TimeoutError:
            pass  # the targets that did not answer keep their last reading
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        return checked

    async def _publish_while_waiting(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_EVERY_S)
            if self._dirty:
                self.publish()

    def _record(self, status: TargetStatus, now: float) -> None:
        key = status.target.id
        if key not in self._target_ids:
            return  # its target left while it was being checked
        track = self.tracks.setdefault(key, _Track())
        unreadable = status.health is Health.UNAVAILABLE and not status.api_only
        track.failures, track.next_due = after_reading(track.failures, unreadable, now, self.interval)
        self.readings[key] = reading(status)
        self._dirty = True

    def _judge_collectors(self, checked: list[TargetStatus]) -> None:
        """A kind's collector is up when, of its stores probed in this round, at least one
        answered (even with unreadable data): all of them failing at once is most often the
        exporter's side (its network, its credentials). A kind not probed this round keeps
        its state; a kind with no store left to probe has no collector."""
        now = self.service.clock()
        for kind in STORE_KINDS:
            probed = [s for s in checked if s.target.kind == kind and s.store.configured]
            if probed:
                answered = any(s.store.reachable for s in probed)
                before = self.collectors.get(kind)
                last = now if answered else (before.last_success if before else None)
                self.collectors[kind] = CollectorState(answered, last)
            elif not any(t.kind == kind and t.store is not None for t in self.targets):
                self.collectors.pop(kind, None)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            version=self.version,
            readings=tuple(self.readings[t.id] for t in self.targets if t.id in self.readings),
            collectors=dict(self.collectors),
            rounds=self.rounds,
            last_round_end=self.last_round_end,
            last_round_duration=self.last_round_duration,
            readers=tuple((label_value(r.name, 64), r.stale_after_ms / 1000) for r in self.service.readers),
        )

    def publish(self) -> None:
        self.version += 1
        self._dirty = False
        self.publish_to(self.snapshot())


# --- the metrics -----------------------------------------------------------------------------

# Per target: (name, Reading attribute, unit, help).
TARGET_GAUGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "ldtui_big_segments_synchronized_timestamp_seconds",
        "synchronized",
        "seconds",
        "The store's synchronizedOn (when LaunchDarkly last finished a sync or heartbeat into it); "
        "absent when the store has none or could not be read.",
    ),
    (
        "ldtui_big_segments_store_up",
        "store_up",
        "",
        "1 when the store could be read (what SDKs call available), 0 when not; absent when ldtui "
        "does not probe it (no [stores] connection, or its prefix is not known).",
    ),
    (
        "ldtui_big_segments_store_probe_duration_seconds",
        "probe_duration",
        "seconds",
        "How long the last read of the store's metadata took.",
    ),
    (
        "ldtui_big_segments_integration_on",
        "integration_on",
        "",
        "1 when the integration is on, 0 when it is turned off; absent for a store with no integration.",
    ),
    (
        "ldtui_big_segments_api_available",
        "api_available",
        "",
        "LaunchDarkly's _status.available (1/0); absent when LaunchDarkly does not say.",
    ),
    (
        "ldtui_big_segments_api_potentially_stale",
        "api_potentially_stale",
        "",
        "LaunchDarkly's _status.potentiallyStale (1/0); absent when LaunchDarkly does not say.",
    ),
    (
        "ldtui_big_segments_api_failing",
        "api_failing",
        "",
        "1 when LaunchDarkly reports the sync failing (its last error is not older than its last sync).",
    ),
    (
        "ldtui_big_segments_api_last_sync_timestamp_seconds",
        "api_last_sync",
        "seconds",
        "LaunchDarkly's _status.lastSync.",
    ),
    (
        "ldtui_big_segments_api_last_error_timestamp_seconds",
        "api_last_error",
        "seconds",
        "LaunchDarkly's _status.lastError.",
    ),
    (
        "ldtui_big_segments_api_errors",
        "api_errors",
        "",
        "How many errors LaunchDarkly's _status lists (its recent errors, not only the current run).",
    ),
)


class ExporterMetrics:
    """prometheus_client's custom collector: the families built afresh from the last snapshot
    at every collect, so nothing outlives its target."""

    def __init__(self, snapshot: Callable[[], Snapshot | None], version: str) -> None:
        self.snapshot = snapshot
        self.version = version

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

        yield InfoMetricFamily(
            "ldtui_build", "The ldtui exporter's version.", value={"version": self.version}
        )
        snap = self.snapshot()
        if snap is None:
            return
        for name, attr, unit, help_text in TARGET_GAUGES:
            gauge = GaugeMetricFamily(name, help_text, labels=TARGET_LABELS, unit=unit)
            for r in snap.readings:
                value = getattr(r, attr)
                if value is not None:
                    gauge.add_metric(r.labels, value)
            yield gauge
        verdicts = GaugeMetricFamily(
            "ldtui_big_segments_verdict",
            "1 for the target's current verdict (as ldtui status gives it), 0 for every other.",
            labels=(*TARGET_LABELS, "verdict"),
        )
        only = GaugeMetricFamily(
            "ldtui_big_segments_verdict_api_only",
            "1 when the verdict rests on LaunchDarkly's _status alone (ldtui cannot probe the store).",
            labels=TARGET_LABELS,
        )
        stale = GaugeMetricFamily(
            "ldtui_big_segments_reader_stale",
            "1 when this reader (sdk, relay, or an application of [status.readers]) would call the "
            "store's data stale at the last check; absent when the store could not be read.",
            labels=(*TARGET_LABELS, "reader"),
        )
        for r in snap.readings:
            for health in Health:
                verdicts.add_metric((*r.labels, health.value), float(r.health is health))
            only.add_metric(r.labels, float(r.api_only))
            for reader, is_stale in r.readers:
                stale.add_metric((*r.labels, reader), float(is_stale))
        yield verdicts
        yield only
        yield stale
        thresholds = GaugeMetricFamily(
            "ldtui_reader_stale_after_seconds",
            "Each reader's staleness threshold, from the configuration.",
            labels=("reader",),
            unit="seconds",
        )
        for reader, seconds in snap.readers:
            thresholds.add_metric((reader,), seconds)
        yield thresholds
        up = GaugeMetricFamily(
            "ldtui_collector_up",
            "1 when the exporter's collector worked in its last attempt: api, the list of "
            "integrations (0 while a list has had no answer for the API timeout, as when it "
            "fails); redis and dynamodb, at least one store of the kind answered.",
            labels=("collector",),
        )
        success = GaugeMetricFamily(
            "ldtui_collector_last_success_timestamp_seconds",
            "When each collector last worked (its age is how old what it collects is).",
            labels=("collector",),
            unit="seconds",
        )
        for collector, state in snap.collectors.items():
            up.add_metric((collector,), float(state.up))
            if state.last_success is not None:
                success.add_metric((collector,), state.last_success)
        yield up
        yield success
        yield CounterMetricFamily("ldtui_collections", "Collection rounds completed.", value=snap.rounds)
        if snap.last_round_duration is not None:
            yield GaugeMetricFamily(
                "ldtui_collection_duration_seconds",
                "How long the last collection round took (the API list and every store probe).",
                value=snap.last_round_duration,
                unit="seconds",
            )
        if snap.last_round_end is not None:
            yield GaugeMetricFamily(
                "ldtui_last_collection_timestamp_seconds",
                "When the last collection round ended.",
                value=snap.last_round_end,
                unit="seconds",
            )


# --- the exposition --------------------------------------------------------------------------


@dataclass
class _Format:
    """One format a scraper asked for: its prometheus_client encoder, and each family's
    rendering from the last time (a family whose samples did not change is not rendered again:
    most of them, between two collections)."""

    encoder: Callable[[Any], bytes]
    asked: float  # monotonic
    gzip: bool = False
    trailer: bytes | None = None  # what the encoder writes after the families ("# EOF")
    families: dict[str, tuple[Metric, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rendered:
    version: int
    body: bytes
    gzipped: bytes | None = None


class _Families:
    """A collector of given families, to render one family at a time."""

    def __init__(self, *families: Metric) -> None:
        self.families = families

    def collect(self) -> tuple[Metric, ...]:
        return self.families


class Exposition:
    """What /metrics answers: the registry as prometheus_client renders it for the format the
    scraper's ``Accept`` asks for (``choose_encoder``: Prometheus text, or OpenMetrics). Each
    format a scraper asked for recently is rendered after every collection, so a scrape only
    picks up bytes; a format asked for the first time is rendered at once.

    The encoders write the families one after the other (and OpenMetrics ``# EOF`` after
    them), so the body is each family as the encoder renders it alone, joined: the same bytes
    as the whole registry rendered at once, without rendering again a family that has not
    changed."""

    def __init__(
        self, registry: CollectorRegistry, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.registry = registry
        self.monotonic = monotonic
        self.version = 0
        self._lock = threading.Lock()  # the formats and their renderings (held briefly)
        self._render_lock = threading.Lock()  # one rendering at a time (they share caches)
        self._formats: dict[str, _Format] = {}
        self._rendered: dict[str, _Rendered] = {}

    def refresh(self, version: int) -> None:
        """After a collection (in the collector's thread): render every format still wanted."""
        self.version = version
        now = self.monotonic()
        with self._lock:
            for content_type in [c for c, f in self._formats.items() if now - f.asked > FORMAT_KEPT_S]:
                del self._formats[content_type]
                self._rendered.pop(content_type, None)
            formats = list(self._formats.items())
        for content_type, fmt in formats:
            self._render(content_type, fmt, version)

    def _render(self, content_type: str, fmt: _Format, version: int) -> _Rendered:
        with self._render_lock:
            if fmt.trailer is None:
                fmt.trailer = fmt.encoder(_Families())
            parts: list[bytes] = []
            seen: dict[str, tuple[Metric, bytes]] = {}
            for family in self.registry.collect():
                cached = fmt.families.get(family.name)
                if cached is None or cached[0] != family:
                    text = fmt.encoder(_Families(family))
                    cached = (family, text[: len(text) - len(fmt.trailer)])
                seen[family.name] = cached
                parts.append(cached[1])
            fmt.families = seen  # the families of targets gone are forgotten with them
            body = b"".join([*parts, fmt.trailer])
        rendered = _Rendered(version, body, gzip.compress(body, compresslevel=1) if fmt.gzip else None)
        with self._lock:
            before = self._rendered.get(content_type)
            if content_type in self._formats and (before is None or before.version <= version):
                self._rendered[content_type] = rendered
        return rendered

    def answer(self, accept: str, accept_encoding: str) -> tuple[bytes, list[tuple[str, str]]]:
        """The body and headers for one scrape."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept)
        wants_gzip = "gzip" in accept_encoding.lower()
        with self._lock:
            fmt = self._formats.get(content_type)
            if fmt is None:
                if len(self._formats) >= MAX_FORMATS:  # the least recently asked makes room
                    oldest = min(self._formats, key=lambda c: self._formats[c].asked)
                    del self._formats[oldest]
                    self._rendered.pop(oldest, None)
                fmt = self._formats[content_type] = _Format(encoder, self.monotonic())
            fmt.asked = self.monotonic()
            fmt.gzip = fmt.gzip or wants_gzip
            rendered = self._rendered.get(content_type)
        if rendered is None:
            rendered = self._render(content_type, fmt, self.version)
        headers = [("content-type", content_type), ("cache-control", "no-store")]
        if wants_gzip:
            body = rendered.gzipped if rendered.gzipped is not None else gzip.compress(rendered.body, 1)
            return body, [*headers, ("content-encoding", "gzip")]
        return rendered.body, headers


# --- the exporter: the collection in its thread, and the HTTP side ------------------------------


@contextlib.asynccontextmanager
async def open_status_service(
    config: Config, profile: str | None, note: Note
) -> AsyncIterator[StatusService]:
    """The status service ``ldtui status`` uses, on this configuration and profile, with the
    client-side IDs and the roster remembered in the state directory."""
    from ldtui.api.client import RetryNotice
    from ldtui.services.connect import connect
    from ldtui.services.state import EnvironmentCache
    from ldtui.services.status import StatusService

    def rate_limited(notice: RetryNotice) -> None:
        if notice.status == 429:
            note(f"rate limited by LaunchDarkly, retrying in {notice.wait:.0f} s")

    async with connect(config, profile) as client:
        client.on_retry = rate_limited
        service = StatusService(client, config, memory=EnvironmentCache.default(client.base_url))
        try:
            yield service
        finally:
            await service.aclose()


ServiceFactory = Callable[[], contextlib.AbstractAsyncContextManager["StatusService"]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Exporter:
    """The collection loop in a thread of its own (so that neither a store nor a round's work
    can hold up a scrape), and what the HTTP side serves from it."""

    def __init__(
        self, open_service: ServiceFactory, interval: float, *, version: str, note: Note = lambda text: None
    ) -> None:
        from prometheus_client import CollectorRegistry

        self.open_service = open_service
        self.interval = interval
        self.version = version
        self.note = note
        self.snapshot: Snapshot | None = None
        self.collection: Collection | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ExporterMetrics(lambda: self.snapshot, version))
        self.exposition = Exposition(self.registry)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()

    # --- the collection thread -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="ldtui-exporter-collect", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop collecting (the stores' and the API's connections are closed) and wait for it."""
        self._stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._collect())
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the configuration or a bug: said, and /healthz says stalled
            self.note(f"collection stopped: {_describe(exc)}")

    async def _collect(self) -> None:
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        if self._stopping.is_set():
            return
        async with self.open_service() as service:
            self.collection = Collection(
                service,
                self.interval,
                publish=self._publish,
                note=self.note,
                api_deadline=service.client.deadline,
            )
            await self.collection.run()

    def _publish(self, snapshot: Snapshot) -> None:
        first = self.snapshot is None or self.snapshot.rounds == 0
        self.snapshot = snapshot
        self.exposition.refresh(snapshot.version)
        if first and snapshot.rounds:
            # What start-up made (modules, models, connections) lives as long as the process:
            # out of the cyclic collector's way, a full collection no longer walks it each time.
            gc.freeze()

    # --- the HTTP side -----------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz: 200 while the collection keeps completing rounds, 503 before the first
        one and when it has stalled. The API or a store being down is not the exporter's ill
        health (the metrics say it); nothing here quotes an error message."""
        snap, collection = self.snapshot, self.collection
        doc: dict[str, Any] = {"status": "starting", "version": self.version}
        if collection is None or snap is None or collection.last_round_mono is None:
            return 503, doc
        age = time.monotonic() - collection.last_round_mono
        ok = age <= collection.round_deadline + 2 * self.interval
        doc.update(
            status="ok" if ok else "stalled",
            targets=len(snap.readings),
            collections=snap.rounds,
            lastCollection=snap.last_round_end,
            secondsSinceLastCollection=round(age, 3),
            intervalSeconds=self.interval,
            collectors={k: {"up": s.up, "lastSuccess": s.last_success} for k, s in snap.collectors.items()},
        )
        return (200 if ok else 503), doc

    def asgi_app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """/metrics, /healthz and a short index; GET and HEAD only."""
        index = b"ldtui exporter\n/metrics  Prometheus text or OpenMetrics\n/healthz  the exporter's health\n"

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            headers: dict[str, str] = {}
            for raw_name, raw_value in scope.get("headers", []):
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                headers[name] = f"{headers[name]},{value}" if name in headers else value
            status, body, extra = 200, b"", [("content-type", "text/plain; charset=utf-8")]
            path = scope.get("path", "")
            try:
                if scope.get("method") not in ("GET", "HEAD"):
                    status, body = 405, b"method not allowed\n"
                    extra.append(("allow", "GET, HEAD"))
                elif path == "/metrics":
                    body, extra = self.exposition.answer(
                        headers.get("accept", ""), headers.get("accept-encoding", "")
                    )
                elif path == "/healthz":
                    status, doc = self.health()
                    body = (json.dumps(doc) + "\n").encode()
                    extra = [("content-type", "application/json"), ("cache-control", "no-store")]
                elif path == "/":
                    body = index
                else:
                    status, body = 404, b"not found: see /metrics and /healthz\n"
            except Exception as exc:  # never a traceback in the server's log, never a hang
                self.note(f"{literal(path)[:100]}: {_describe(exc)}")
                status, body = 500, b"internal error\n"
                extra = [("content-type", "text/plain; charset=utf-8")]
            response = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra]
            response.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": response})
            await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

        return app
