"""The live status panel: is big segment data fresh right now, everywhere?

One row per target (integration, or configured store with none). What it shows stays true:
- one poll loop owns the rounds (``PollLoop``): at most one round in flight, one scheduled; a
  manual check moves the next round, never adds one; nothing is polled behind a dialog;
- a round probes every due store at once, each with its own deadline, and shows each result as
  it arrives, so one hung store delays nobody;
- a failing store is backed off (its row says when it was read and when it will be tried
  next); a failing API list keeps the last targets, marks what LaunchDarkly said as old, and
  is retried with its own backoff while the stores are still probed;
- every age ticks once a second from the data's timestamps and the app's clock;
- the counts are counted from the rows on screen; a target that disappears leaves the table."""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Header, Static

from ldtui.core.health import Health, Reader, reader_verdicts, verdict
from ldtui.core.integration_status import since_text
from ldtui.core.schedule import API_MAX_BACKOFF_S, after_reading, backoff
from ldtui.core.text import literal, literal_lines, relative_age, truncate
from ldtui.ui.cells import Cell, cell, status_style_for
from ldtui.ui.poller import PollLoop
from ldtui.ui.screens.base import LdModal, LdScreen
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.statusline import StatusLine
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.services.status import Target, TargetStatus

HEALTH_VARIABLE = {
    Health.HEALTHY: "status-ok",
    Health.STALE: "status-stale",
    Health.UNAVAILABLE: "status-down",
    Health.DISAGREE: "status-down",
    Health.OFF: "status-off",
    Health.NOT_CONFIGURED: "status-unknown",
}
ALERTING = {Health.STALE, Health.UNAVAILABLE, Health.DISAGREE}
COLUMNS = [
    ("verdict", "Verdict"),
    ("where", "Project/environment"),
    ("kind", "Store"),
    ("name", "Name"),
    ("api", "LaunchDarkly says"),
    ("store", "The store says"),
    ("checked", "Read"),
    ("reason", "Reason"),
]
# A store that keeps failing is tried less often, but never less than every 30 s: when it
# comes back, the panel sees it within half a minute (and `r` tries it at once).
WIDTH_CAPS = {
    "verdict": 26,
    "where": 30,
    "kind": 8,
    "name": 36,
    "api": 52,
    "store": 44,
    "checked": 22,
    "reason": 90,
}
# At 80 columns the verdict, the name, what the store says (with its countdown) and when it
# was read stay; at 120 the reason too. The rest gives way: the highest number first.
PRIORITIES = {"kind": 5, "where": 4, "api": 3, "reason": 1}
# The store's 35: "synced 12s ago; SDKs stale in 108s" (34, the widest countdown) and the
# ellipsis of the latency cut after it; the name gives up the column it takes, so that at 80
# columns the verdict still reads "STALE (LaunchDarkly)" whole.
MIN_WIDTHS = {"verdict": 14, "name": 11, "store": 35, "api": 20, "reason": 20}
# Worst first: what needs a person comes to the top.
SEVERITY = [
    Health.DISAGREE,
    Health.UNAVAILABLE,
    Health.STALE,
    Health.NOT_CONFIGURED,
    Health.HEALTHY,
    Health.OFF,
]
OLD = "old"


@dataclass
class TargetTrack:
    """What the panel remembers of one target over the session."""

    last: TargetStatus | None = None
    failures: int = 0
    next_due: float = 0.0  # monotonic
    events: deque[tuple[int, str, str, str]] = field(default_factory=lambda: deque(maxlen=200))
    ages: deque[float] = field(default_factory=lambda: deque(maxlen=120))
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=120))


@dataclass
class ApiTrack:
    """The API list's own health: its failures do not stop the store probes."""

    failures: int = 0
    last_ok: float | None = None  # the app's clock (wall)
    last_failure: float | None = None
    reason: str | None = None
    short: str | None = None  # the reason in a few words, for the status line
    next_due: float = 0.0  # monotonic


def api_text(s: TargetStatus, now_ms: int, *, old: bool = False) -> str:
    a = s.api
    if a is None:
        return "no integration"
    if not a.on:
        text = "off"
    else:
        word = "available" if a.available else "unavailable" if a.available is False else "no status"
        if a.potentially_stale:
            word += ", potentially stale"
        parts = [word, f"last sync {relative_age(a.last_sync, now_ms)}"]
        if a.failing and a.failing_since is not None:
            parts.append(f"failing since {since_text(a.failing_since, a.failing_since_exact, now_ms)}")
        if a.error_count:
            parts.append(f"{a.error_count} error{'s' if a.error_count > 1 else ''}")
        text = "; ".join(parts)
    return f"{OLD}: {text}" if old else text


def store_text(s: TargetStatus, now_ms: int, reader: Reader | None = None) -> str:
    """What the store said at the check, with its age now and, while fresh, the countdown to
    the moment ``reader`` (the SDKs unless --reader says otherwise) calls it stale."""
    st = s.store
    if not st.configured:
        return "not configured"
    if not st.reachable:
        return "unreachable"
    if st.status is None or not st.status.available:
        return "unreadable"
    synced = relative_age(st.status.synchronized_on, now_ms) if st.status.synchronized_on else "never"
    latency = f"{st.latency_ms:.1f} ms" if st.latency_ms is not None else "-"
    text = f"synced {synced}"
    if reader is not None and st.status.synchronized_on is not None:
        view = reader_verdicts(st.status.synchronized_on, now_ms, [reader])[0]
        if not view.stale and view.stale_in_ms is not None:
            # Before the latency: on a narrow terminal the countdown is what stays.
            text += f"; {reader.label} stale in {_short(view.stale_in_ms)}"
    return f"{text}; {latency}"


def _short(ms: float, *, spaced: bool = False) -> str:
    """A duration as compact as the ages beside it (``110s``, ``4m``): at 80 columns the store
    cell is 35 characters, and "synced 10s ago; SDKs stale in 110s" (34) must fit whole
    before the ellipsis of the latency cut after it. ``spaced``: as the detail's lines spell
    durations (``120 s``, ``5 min``)."""
    seconds = max(0, int(-(-ms // 1000)))
    if seconds < 120:
        return f"{seconds} s" if spaced else f"{seconds}s"
    return f"{seconds // 60} min" if spaced else f"{seconds // 60}m"


def checked_text(s: TargetStatus, now_ms: int, retry_in: float | None) -> str:
    """When the store was last read, and while it is backed off, when it is tried next ("-"
    when nothing is read: no store connection)."""
    if not s.store.configured:
        return "-"
    text = relative_age(s.checked_ms, now_ms)
    if retry_in is not None:
        text += f", retry in {retry_in:.0f} s" if retry_in >= 0.5 else ", checking now"
    return text


def _fast(text: str, sort_key: object = None) -> Cell:
    """A cell of text composed from safe parts (numbers, ages, our words): no escaping pass,
    which ticking every row every second would pay for."""
    c = Cell(text, no_wrap=True, overflow="ellipsis")
    c.sort_key = text.lower() if sort_key is None else sort_key
    return c


def static_cells(s: TargetStatus, variables: dict[str, str]) -> tuple[Cell, Cell, Cell, Cell]:
    """The cells that change only with a new reading: verdict, where, store kind, name."""
    t = s.target
    where = f"{t.project}/{t.environment}" if t.project else "-"
    return (
        cell(
            s.label,
            sort_key=SEVERITY.index(s.health),
            style=status_style_for(HEALTH_VARIABLE[s.health], s.health is not Health.HEALTHY, variables),
        ),
        cell(where),
        cell(t.kind),
        cell(t.name),
    )


def live_cells(
    s: TargetStatus,
    now_ms: int,
    *,
    retry_in: float | None = None,
    api_old: bool = False,
    reader: Reader | None = None,
) -> tuple[Cell, Cell, Cell, Cell]:
    """The cells that change as time passes: what each side says (with its age), when it was
    read, and the reason (whose text has ages and outside messages: escaped)."""
    reason = verdict(s.api, s.store, now_ms).reason
    return (
        _fast(api_text(s, now_ms, old=api_old and s.api is not None)),
        _fast(store_text(s, now_ms, reader)),
        _fast(checked_text(s, now_ms, retry_in), sort_key=-s.checked_ms),
        cell(truncate(reason, 90)),
    )


def status_cells(
    s: TargetStatus,
    now_ms: int,
    variables: dict[str, str],
    *,
    retry_in: float | None = None,
    api_old: bool = False,
    reader: Reader | None = None,
) -> tuple[Cell, ...]:
    """A row, as of ``now_ms``: the verdict is the one judged at the check, the ages are now's."""
    return (
        *static_cells(s, variables),
        *live_cells(s, now_ms, retry_in=retry_in, api_old=api_old, reader=reader),
    )


class StatusScreen(LdScreen):
    BINDINGS = [
        Binding("escape,h", "back", "Integrations", id="status_back", tooltip="Back to the list"),
        Binding("r", "poll_now", "Check now", id="status_poll", tooltip="Check every target now"),
        Binding("enter", "open", "Details", id="status_open", tooltip="Metadata, errors, events"),
        Binding("i", "inspect", "Inspect", id="status_inspect", tooltip="Inspect the selected store"),
        Binding("k", "doctor", "Doctor", id="status_doctor", tooltip="Check the selected store's setup"),
    ]
    KEY_PRIORITY = ("status_back", "status_poll", "status_open", "status_inspect", "quit")

    def __init__(self) -> None:
        super().__init__()
        self.tracks: dict[str, TargetTrack] = {}
        self.targets: list[Target] = []
        self.statuses: dict[str, TargetStatus] = {}
        self.api = ApiTrack()
        self.updated_at: float | None = None  # the app's clock, when the last round ended
        self.service: Any = None
        self.loop: PollLoop | None = None
        self._force = False
        self._settled = False  # the first round done (see `_round`)
        self._pending = 0  # stores of the round in flight still to answer
        # Per target: its last reading and the cells that change only with a new one.
        self._static: dict[str, tuple[TargetStatus, tuple[Cell, ...]]] = {}
        self._statusline_due = False
        self._targets_changed = True

    @property
    def table(self) -> LdTable:
        return self.query_one("#targets", LdTable)

    def compose(self) -> Any:
        yield Header()
        yield StatusLine("checking stores…", id="statusline")
        yield LdTable(id="targets", empty_text="no target yet")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.table
        table.set_columns(COLUMNS)
        table.set_priorities(PRIORITIES)
        table.set_min_widths(MIN_WIDTHS)
        table.set_sort(("verdict", "where", "name"))  # worst first
        table.focus()
        self.loop = PollLoop(
            self._round,
            interval=lambda: self.interval,
            active=self._polling_wanted,
            describe=_short_reason,
            on_change=self._update_statusline,
            wall_clock=self.ldtui.clock,
        )
        self.call_after_refresh(self._start_loop)
        self.set_interval(1, self.tick)

    def _start_loop(self) -> None:
        assert self.loop is not None
        self.run_worker(
            self.loop.run(), group="status-poll", exit_on_error=False, description="Checking stores"
        )

    def _polling_wanted(self) -> bool:
        """Shown, or under its own target detail (which shows the live reading). Behind other
        dialogs and screens the polls wait."""
        if not self.is_attached:
            return False
        top = self.app.screen
        return top is self or (isinstance(top, TargetDetailScreen) and self.on_view)

    def on_screen_resume(self) -> None:
        if self.loop is not None:
            self.loop.resume()
        self.tick()

    # --- polling -----------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        cfg = self.ldtui.backend.config if self.ldtui.connected else None
        return cfg.settings.status.poll_interval if cfg is not None else 5.0

    async def _round(self) -> None:
        """One round: the target list when the API is due, then every due store."""
        force, self._force = self._force, False
        if self.service is None:
            self.service = await self.ldtui.status_service()
        now = time.monotonic()
        if force or self.api.next_due <= now or not self.targets:
            await self._refresh_targets(now)
        due = [t for t in self.targets if force or self.tracks.get(t.id, TargetTrack()).next_due <= now]
        self._pending = len(due)
        try:
            async for status in self.service.check_each(due):
                self._pending -= 1
                self._record(status, time.monotonic())
                self._render_row(status.target.id)  # this answer at once; the rest as they come
        finally:
            self._pending = 0
        self.updated_at = self.ldtui.clock()
        self._render_rows()
        if not self._settled:
            # The first round's targets, rows and caches live as long as the panel: frozen out
            # of the cyclic collector, its full collections (0.1 s each at 200 targets) scan
            # only what later rounds make.
            self._settled = True
            gc.freeze()

    async def _refresh_targets(self, now: float) -> None:
        from ldtui.api.errors import ApiError

        try:
            targets = await self.service.targets()
        except (ApiError, OSError) as exc:
            first = self.api.failures == 0
            self.api.failures += 1
            self.api.last_failure = self.ldtui.clock()
            self.api.reason = _describe(exc)
            self.api.short = _short_reason(exc)
            self.api.next_due = now + backoff(self.interval, self.api.failures, API_MAX_BACKOFF_S)
            if first:
                self.notify(
                    f"LaunchDarkly API: {self.api.reason}; the stores are still checked",
                    title="Status",
                    severity="warning",
                    timeout=8,
                )
            if not self.targets:
                # Nothing known yet: the list's last integrations (else those remembered from
                # the last run), and every configured store, each probed only if its prefix is
                # known: a guessed one reads as "no data, STALE".
                self.targets = await self.service.targets_offline(self.ldtui.last_integrations)
                self._targets_changed = True
            self._render_rows()
            return
        self.api = ApiTrack(last_ok=self.ldtui.clock(), next_due=now + self.interval)
        if [t.id for t in targets] != [t.id for t in self.targets]:
            self._targets_changed = True
        self.targets = targets
        # A target that is gone (integration deleted, store unconfigured) leaves the panel.
        ids = {t.id for t in targets}
        for gone in [k for k in self.statuses if k not in ids]:
            del self.statuses[gone]
        for gone in [k for k in self.tracks if k not in ids]:
            del self.tracks[gone]
        for gone in [k for k in self._static if k not in ids]:
            del self._static[gone]

    def _record(self, status: TargetStatus, now: float) -> None:
        if status.target.id not in {t.id for t in self.targets}:
            return  # its target left while it was being checked
        track = self.tracks.setdefault(status.target.id, TargetTrack())
        before = track.last.health if track.last else None
        unreadable = status.health is Health.UNAVAILABLE and not status.api_only
        track.failures, track.next_due = after_reading(track.failures, unreadable, now, self.interval)
        if status.store.status and status.store.status.age_ms is not None:
            track.ages.append(status.store.status.age_ms / 1000)
        if status.store.latency_ms is not None:
            track.latencies.append(status.store.latency_ms)
        if before is not status.health:
            track.events.append(
                (status.checked_ms, before.value if before else "-", status.health.value, status.reason)
            )
            if before is not None and status.health in ALERTING:
                self._alert(status)
        track.last = status
        self.statuses[status.target.id] = status

    def _alert(self, status: TargetStatus) -> None:
        t = status.target
        # notify() spells out control characters: a name cannot drive the terminal.
        self.notify(
            f"{t.name} ({t.where}): {status.label} — {status.reason}",
            title="Store alert",
            severity="error",
            timeout=15,
        )
        cfg = self.ldtui.backend.config
        if cfg is not None and cfg.settings.status.bell:
            self.app.bell()

    # --- rendering ---------------------------------------------------------------------------

    def _retry_in(self, key: str, now: float) -> float | None:
        track = self.tracks.get(key)
        if track is None or not track.failures:
            return None
        return max(0.0, track.next_due - now)

    def _cells(
        self, key: str, s: TargetStatus, now_ms: int, mono: float, variables: dict[str, str]
    ) -> tuple[Cell, ...]:
        reader = self.service.reader if self.service is not None else None
        cached = self._static.get(key)
        if cached is None or cached[0] is not s:
            cached = (s, static_cells(s, variables))
            self._static[key] = cached
        live = live_cells(
            s, now_ms, retry_in=self._retry_in(key, mono), api_old=self.api.failures > 0, reader=reader
        )
        return (*cached[1], *live)

    def _render_row(self, key: str) -> None:
        """One target's new answer: only its row (a round of 200 answers must not redraw 200
        rows 200 times; the once-a-second tick redraws them all)."""
        status = self.statuses.get(key)
        if not self.is_attached or status is None:
            return
        now_ms = int(self.ldtui.clock() * 1000)
        cells = self._cells(key, status, now_ms, time.monotonic(), self.ldtui.css_variables_cached())
        self.table.set_row(key, cells, dim=self.api.failures > 0 and status.api is not None)
        self._statusline_soon()

    def _statusline_soon(self) -> None:
        """Once after a burst of answers, not once per answer."""
        if not self._statusline_due:
            self._statusline_due = True

            def update() -> None:
                self._statusline_due = False
                self._update_statusline()

            self.call_after_refresh(update)

    def _render_rows(self) -> None:
        """Exactly the targets known, each row computed from its last status and the clock;
        the table redraws only the cells whose text changed."""
        if not self.is_attached:
            return
        table = self.table
        now_ms = int(self.ldtui.clock() * 1000)
        mono = time.monotonic()
        variables = self.ldtui.css_variables_cached()
        api_old = self.api.failures > 0
        known = {t.id for t in self.targets}
        rows = [
            (key, self._cells(key, s, now_ms, mono, variables))
            for key, s in self.statuses.items()
            if key in known
        ]
        with table.batch():
            table.replace_rows(rows)
            table.set_dim([k for k, s in self.statuses.items() if s.api is not None], api_old)
            # Columns grow as text needs; they shrink only when the targets change.
            table.fit_widths(WIDTH_CAPS, shrink=self._targets_changed)
            self._targets_changed = False
        self._update_statusline()

    def tick(self) -> None:
        """Time passed: the rows on screen get their ages of now (every row is redrawn with
        each round's answers; rows scrolled into view are brought up to date at once)."""
        if self.is_attached and self.on_view:
            self._render_visible()
        self._update_statusline()

    def _render_visible(self) -> None:
        table = self.table
        now_ms = int(self.ldtui.clock() * 1000)
        mono = time.monotonic()
        variables = self.ldtui.css_variables_cached()
        api_old = self.api.failures > 0
        visible = table.visible_keys()
        with table.batch():
            for key in visible:
                status = self.statuses.get(key)
                if status is not None:
                    cells = self._cells(key, status, now_ms, mono, variables)
                    table.set_row(key, cells, dim=api_old and status.api is not None)
            # Only these rows changed; columns only grow here (every row is measured each round).
            table.fit_widths(WIDTH_CAPS, rows=visible, shrink=False)

    @on(LdTable.ViewChanged, "#targets")
    def _scrolled(self) -> None:
        if self.is_attached and self.on_view:
            self._render_visible()

    def _counts(self) -> dict[Health, int]:
        """Counted from the rows on screen, each time."""
        counts: dict[Health, int] = {}
        for key in self.table.shown_keys:
            s = self.statuses.get(key)
            if s is not None:
                counts[s.health] = counts.get(s.health, 0) + 1
        return counts

    def _update_statusline(self) -> None:
        if not self.is_attached:
            return
        counts = self._counts()
        summary = " ".join(f"{h.value} {counts[h]}" for h in SEVERITY if counts.get(h)) or "no targets yet"
        if self.app.screen is self:
            # safe-text: health words and counts
            self.app.sub_title = summary  # the counts in the header, while the panel is shown
        # (rank, text): what a short line keeps first: failures (short), the counts, the rest.
        parts: list[tuple[int, str]] = []
        if self.api.failures and self.api.last_failure is not None:
            retry = max(0.0, self.api.next_due - time.monotonic())
            parts.append(
                (
                    0,
                    f"LaunchDarkly API: last refresh failed {_hms(self.api.last_failure)} UTC "
                    f"({self.api.short}) · retrying in {retry:.0f} s",
                )
            )
        state = self.loop.state if self.loop is not None else None
        if state is not None and state.failing and not (state.in_flight):
            retry_round = state.retry_in(time.monotonic())
            when = f" · retrying in {retry_round:.0f} s" if retry_round is not None else ""
            parts.append(
                (0, f"last round failed {_hms(state.last_failure)} UTC ({state.failure_reason}){when}")
            )
        parts.append((1, summary))
        if self.updated_at is not None:
            ago = relative_age(int(self.updated_at * 1000), int(self.ldtui.clock() * 1000))
            parts.append((2, f"updated {ago}"))
        if state is not None and state.in_flight:
            waited = state.waited(time.monotonic())
            if self._pending and waited is not None and waited >= 2:
                some = f"{self._pending} store{'s' if self._pending > 1 else ''}"
                parts.append((3, f"checking… waiting {waited:.0f} s for {some}"))
            else:
                parts.append((3, "checking…"))
        if self.api.failures:
            parts.append((5, "what LaunchDarkly said is marked old"))
        backed_off = sum(1 for t in self.tracks.values() if t.failures)
        if backed_off:
            parts.append((4, f"{backed_off} failing target{'s' if backed_off > 1 else ''} backed off"))
        for line in self.query("#statusline").results(StatusLine):
            line.set_parts(parts)

    # --- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.sub_title = self.ldtui.default_sub_title  # safe-text: it escapes
        self.app.pop_screen()

    def action_poll_now(self) -> None:
        """Every target now, backed-off ones included: moves the next round, adds none."""
        if self.loop is not None:
            self._force = True
            self.loop.poll_now()

    def _selected(self) -> TargetStatus | None:
        key = self.table.cursor_key
        return self.statuses.get(key) if key is not None else None

    @on(LdTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        status = self._selected()
        if status is not None:
            target_id = status.target.id
            self.app.push_screen(
                TargetDetailScreen(
                    lambda: self.statuses.get(target_id, status),
                    lambda: self.tracks.get(target_id),
                    self.ldtui.clock,
                    self.service.readers if self.service is not None else None,
                )
            )

    def action_inspect(self) -> None:
        from ldtui.ui.screens.inspector import InspectorScreen

        status = self._selected()
        want = None
        if status is not None:
            t = status.target
            want = (t.project, t.environment, t.kind)
        self.app.push_screen(InspectorScreen(want))

    def action_doctor(self) -> None:
        from ldtui.ui.screens.doctor import open_doctor

        status = self._selected()
        t = status.target if status is not None else None
        if t is None:
            open_doctor(self, None, None, None)
        elif t.integration is None:
            open_doctor(self, t.project, t.environment, t.kind, store_key=t.store_key)
        else:
            open_doctor(self, t.project, t.environment, t.kind)


def sparkline(values: list[float], width: int = 40) -> str:
    if not values:
        return "—"
    values = values[-width:]
    lo, hi = min(values), max(values)
    blocks = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1
    return "".join(blocks[min(7, int((v - lo) / span * 7))] for v in values)


class TargetDetailScreen(LdModal):
    """One target in full; it follows the panel's latest reading of it and its ages tick."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="target_close", tooltip="Back to the panel"),
        Binding("c", "copy_events", "Copy events", id="copy_events", tooltip="Copy the event log (OSC 52)"),
    ]

    def __init__(
        self,
        status: Callable[[], TargetStatus],
        track: Callable[[], TargetTrack | None],
        clock: Callable[[], float],
        readers: list[Reader] | None = None,
    ) -> None:
        super().__init__()
        self._readers = readers or []
        self._status = status
        self._track = track
        self.clock = clock

    @property
    def status(self) -> TargetStatus:
        return self._status()

    @property
    def track(self) -> TargetTrack:
        return self._track() or TargetTrack()

    def _events_text(self) -> str:
        lines = []
        for when, before, after, reason in self.track.events:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when / 1000))
            lines.append(f"{stamp} UTC  {before} -> {after}  {reason}")
        return "\n".join(lines) or "(no change yet)"

    def _detail(self) -> Table:
        s = self.status
        now = int(self.clock() * 1000)
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold", no_wrap=True)
        t.add_column(overflow="fold")

        def row(label: str, value: str) -> None:
            t.add_row(label, Text(literal(value)))

        row("Verdict", f"{s.label}: {verdict(s.api, s.store, now).reason}")
        row("Target", f"{s.target.name} ({s.target.kind})")
        row("Prefix", s.target.prefix or "(none)")
        row("Config", f"stores.{s.target.store_key}" if s.target.store_key else "(not configured)")
        if s.store.endpoint:  # what was read: after a Sentinel failover, the new master
            row("Endpoint", s.store.endpoint)
        row("Read", f"{relative_age(s.checked_ms, now)} (probe latency in the sparkline below)")
        row("LaunchDarkly", api_text(s, now))
        if s.api is not None and s.api.failing_since is not None:
            row("  failing since", since_text(s.api.failing_since, s.api.failing_since_exact, now))
        if s.api is not None and s.api.last_error_message:
            row("  latest error", f"{relative_age(s.api.last_error, now)}: {s.api.last_error_message}")
        errors = sorted(
            (s.target.integration.status.errors or []) if s.target.integration else [],
            key=lambda e: e.timestamp or 0,
            reverse=True,
        )
        for e in errors[:10]:
            row(f"  {relative_age(e.timestamp, now)}", f"HTTP {e.statusCode}: {e.message or ''}")
        row("Store", store_text(s, now))
        sync_on = s.synchronized_on
        if s.store.status is not None and s.store.status.available and self._readers:
            for view in reader_verdicts(sync_on, now, self._readers):
                label = f"  {view.reader.label} ({_short(view.reader.stale_after_ms, spaced=True)})"
                row(label, view.text().split(": ", 1)[1])
            if s.api is not None:
                stale = s.api.potentially_stale
                said = "potentially stale" if stale else "not stale" if stale is False else "—"
                row("  LaunchDarkly (_status)", said)
        if s.metadata is not None:
            row("  synchronizedOn (raw)", s.metadata.raw if s.metadata.raw is not None else "(missing)")
            row("  cursor", s.metadata.cursor if s.metadata.cursor is not None else "(missing)")
        if s.store.error:
            row("  error", s.store.error)
        for d in s.diagnostics:
            row("Diagnosis", d)
        row("synchronizedOn age (s)", sparkline(list(self.track.ages)))
        row("Probe latency (ms)", sparkline(list(self.track.latencies)))
        return t

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.status.target.name)), classes="dialog-title")
            with VerticalScroll(classes="detail-body"):
                yield Static(self._detail(), id="target-detail")  # safe-text: rows are literal()
                yield Static("Events", classes="field-label")
                yield Static(Text(literal_lines(self._events_text())), id="events")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy events", compact=True, id="copy")
                yield Button("Close", compact=True, id="close")

    def on_mount(self) -> None:
        self.set_interval(1, self.tick)

    def tick(self) -> None:
        self.query_one("#target-detail", Static).update(self._detail())  # safe-text: rows are literal()
        self.query_one("#events", Static).update(Text(literal_lines(self._events_text())))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy_events()
        else:
            self.dismiss(None)

    def action_copy_events(self) -> None:
        self.app.copy_to_clipboard(self._events_text())
        self.notify("Event log copied")

    def action_close(self) -> None:
        self.dismiss(None)


def _hms(wall: float | None) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(wall or 0))


def _describe(error: BaseException) -> str:
    from ldtui.ui.app import describe_error

    return describe_error(error)


def _short_reason(error: BaseException) -> str:
    from ldtui.ui.app import short_reason

    return short_reason(error)
