"""The live status panel: is big segment data fresh right now, everywhere?

One row per target (integration, or configured store with none). Polling follows the usual
rules: one poll at a time, the next scheduled only when the last finished, failing targets
backed off exponentially, nothing polled while a dialog covers the panel."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Static

from ldtui.core.health import Health
from ldtui.core.text import literal, literal_lines, relative_age, truncate
from ldtui.ui.cells import Cell, cell, status_style_for
from ldtui.ui.screens.base import LdModal, LdScreen
from ldtui.ui.widgets.table import FastDataTable

if TYPE_CHECKING:
    from ldtui.services.status import Target, TargetStatus
    from ldtui.ui.app import LdtuiApp

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
    ("reason", "Reason"),
]
MAX_BACKOFF_S = 120.0
WIDTH_CAPS = {"verdict": 14, "where": 30, "kind": 8, "name": 36, "api": 48, "store": 30, "reason": 90}
# Worst first: what needs a person comes to the top.
SEVERITY = [
    Health.DISAGREE,
    Health.UNAVAILABLE,
    Health.STALE,
    Health.NOT_CONFIGURED,
    Health.HEALTHY,
    Health.OFF,
]


@dataclass
class TargetTrack:
    """What the panel remembers of one target over the session."""

    last: TargetStatus | None = None
    failures: int = 0
    next_due: float = 0.0
    events: deque[tuple[int, str, str, str]] = field(default_factory=lambda: deque(maxlen=200))
    ages: deque[float] = field(default_factory=lambda: deque(maxlen=120))
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=120))


def api_text(s: TargetStatus, now_ms: int) -> str:
    a = s.api
    if a is None:
        return "no integration"
    if not a.on:
        return "off"
    word = "available" if a.available else "unavailable" if a.available is False else "no status"
    if a.potentially_stale:
        word += ", potentially stale"
    parts = [word, f"last sync {relative_age(a.last_sync, now_ms)}"]
    if a.error_count:
        parts.append(f"{a.error_count} error{'s' if a.error_count > 1 else ''}")
    return "; ".join(parts)


def store_text(s: TargetStatus, now_ms: int) -> str:
    st = s.store
    if not st.configured:
        return "not configured"
    if not st.reachable:
        return "unreachable"
    if st.status is None or not st.status.available:
        return "unreadable"
    synced = relative_age(st.status.synchronized_on, now_ms) if st.status.synchronized_on else "never"
    latency = f"{st.latency_ms:.1f} ms" if st.latency_ms is not None else "-"
    return f"synced {synced}; {latency}"


def status_cells(s: TargetStatus, now_ms: int, variables: dict[str, str]) -> tuple[Cell, ...]:
    t = s.target
    where = f"{t.project}/{t.environment}" if t.project else "-"
    return (
        cell(
            s.health.value,
            sort_key=SEVERITY.index(s.health),
            style=status_style_for(HEALTH_VARIABLE[s.health], s.health is not Health.HEALTHY, variables),
        ),
        cell(where),
        cell(t.kind),
        cell(t.name),
        cell(api_text(s, now_ms)),
        cell(store_text(s, now_ms)),
        cell(truncate(s.reason, 90)),
    )


class StatusScreen(LdScreen):
    BINDINGS = [
        Binding("escape,h", "back", "Integrations", id="status_back", tooltip="Back to the list"),
        Binding("r", "poll_now", "Check now", id="status_poll", tooltip="Check every target now"),
        Binding("enter", "open", "Details", id="status_open", tooltip="Metadata, errors, events"),
        Binding("i", "inspect", "Inspect", id="status_inspect", tooltip="Inspect the selected store"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tracks: dict[str, TargetTrack] = {}
        self.targets: list[Target] = []
        self.statuses: dict[str, TargetStatus] = {}
        self.updated_at: float | None = None
        self.polling = False
        self.service: Any = None
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []

    @property
    def ldtui(self) -> LdtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> Any:
        yield Header()
        yield Static("checking stores…", id="statusline")
        yield FastDataTable(id="targets", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(FastDataTable)
        table.add_fixed_columns(COLUMNS)
        table.focus()
        self.call_after_refresh(self.poll)
        self.set_interval(1, self._update_statusline)

    # --- polling -----------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        cfg = self.ldtui.backend.config if self.ldtui.connected else None
        return cfg.settings.status.poll_interval if cfg is not None else 5.0

    @work(exclusive=True, group="status-poll", exit_on_error=False, description="Checking stores")
    async def poll(self, force: bool = False) -> None:
        self.polling = True
        self._update_statusline()
        try:
            await self._poll_once(force)
        finally:
            self.polling = False
            self.updated_at = self.ldtui.clock()
            self._update_statusline()
            self.call_later(self.set_timer, self.interval, self._poll_tick)

    def _poll_tick(self) -> None:
        if self.app.screen is self and self.is_attached:
            self.poll()
        elif self.is_attached:
            # Behind a dialog (or another screen): look again later, do not pile up.
            self.call_later(self.set_timer, self.interval, self._poll_tick)

    async def _poll_once(self, force: bool) -> None:
        from ldtui.api.errors import ApiError

        if self.service is None:
            self.service = await self.ldtui.status_service()
        try:
            self.targets = await self.service.targets()
        except ApiError as exc:
            if not self.targets:
                raise
            self.notify(
                f"LaunchDarkly API: {exc}; showing the stores only",
                severity="warning",
                markup=False,
                timeout=8,
            )
        now = time.monotonic()
        due = [t for t in self.targets if force or self.tracks.get(t.id, TargetTrack()).next_due <= now]
        for status in await self.service.check_all(due):
            self._record(status, now)
        self._render_rows()

    def _record(self, status: TargetStatus, now: float) -> None:
        track = self.tracks.setdefault(status.target.id, TargetTrack())
        before = track.last.health if track.last else None
        if status.health is Health.UNAVAILABLE:
            track.failures += 1
            track.next_due = now + min(MAX_BACKOFF_S, self.interval * 2 ** (track.failures - 1))
        else:
            track.failures = 0
            track.next_due = 0.0
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
        self.notify(
            f"{t.name} ({t.project}/{t.environment}) is {status.health.value}: {status.reason}",
            title="Store alert",
            severity="error",
            timeout=15,
            markup=False,
        )
        cfg = self.ldtui.backend.config
        if cfg is not None and cfg.settings.status.bell:
            self.app.bell()

    # --- rendering ---------------------------------------------------------------------------

    def _render_rows(self) -> None:
        """Rows by key; changed cells written in one batch; the order only when it changed.
        (Every poll changes the ages of every row: this keeps a poll of 200 targets cheap.)"""
        table: FastDataTable = self.query_one(FastDataTable)
        now = self.ldtui.backend.clock() if self.ldtui.connected else time.time()
        now_ms = int(now * 1000)
        variables = self.app.get_css_variables()
        wanted = {key: status_cells(s, now_ms, variables) for key, s in self.statuses.items()}
        table.remove_rows([k for k in self._cells if k not in wanted])
        for key in [k for k in self._cells if k not in wanted]:
            del self._cells[key]
        added = [(k, cells) for k, cells in wanted.items() if k not in self._cells]
        updates = []
        for key, cells in wanted.items():
            old = self._cells.get(key)
            if old is not None and old != cells:
                updates.extend(
                    (key, column, new)
                    for (column, _), new, before in zip(COLUMNS, cells, old, strict=True)
                    if new != before
                )
        table.add_rows_keyed(added)
        table.set_cells(updates)
        self._cells = wanted
        order = sorted(wanted, key=lambda k: tuple(wanted[k][i].sort_key for i in (0, 1, 3)))
        if order != self._order:
            table.set_order(order)
            self._order = order
        widths = {
            key: min(
                WIDTH_CAPS[key],
                max(len(label), max((cell_len(c[i].plain) for c in wanted.values()), default=0)),
            )
            for i, (key, label) in enumerate(COLUMNS)
        }
        table.set_widths(widths)
        self._update_statusline()

    def _update_statusline(self) -> None:
        counts: dict[Health, int] = {}
        for s in self.statuses.values():
            counts[s.health] = counts.get(s.health, 0) + 1
        summary = " ".join(f"{h.value} {counts[h]}" for h in SEVERITY if counts.get(h)) or "no targets yet"
        if self.app.screen is self:
            self.app.sub_title = summary  # the counts in the header, while the panel is shown
        parts = [summary]
        if self.updated_at is not None:
            parts.append(f"updated {max(0, int(self.ldtui.clock() - self.updated_at))}s ago")
        if self.polling:
            parts.append("checking…")
        backed_off = sum(1 for t in self.tracks.values() if t.failures)
        if backed_off:
            parts.append(f"{backed_off} failing target{'s' if backed_off > 1 else ''} backed off")
        for line in self.query("#statusline").results(Static):
            line.update(" · ".join(parts))

    # --- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.sub_title = type(self.app).SUB_TITLE
        self.app.pop_screen()

    def action_poll_now(self) -> None:
        self.poll(force=True)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self._cells or table.cursor_row < 0:
            return
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        status = self.statuses.get(key or "")
        if status is not None:
            self.app.push_screen(
                TargetDetailScreen(status, self.tracks.get(status.target.id), self.ldtui.clock)
            )


    def action_inspect(self) -> None:
        from ldtui.ui.screens.inspector import InspectorScreen

        table = self.query_one(DataTable)
        want = None
        if self._cells and table.cursor_row >= 0:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            status = self.statuses.get(key or "")
            if status is not None:
                t = status.target
                want = (t.project, t.environment, t.kind)
        self.app.push_screen(InspectorScreen(want))


def sparkline(values: list[float], width: int = 40) -> str:
    if not values:
        return "—"
    values = values[-width:]
    lo, hi = min(values), max(values)
    blocks = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1
    return "".join(blocks[min(7, int((v - lo) / span * 7))] for v in values)


class TargetDetailScreen(LdModal):
    BINDINGS = [
        Binding("escape", "close", "Close", id="target_close", tooltip="Back to the panel"),
        Binding("c", "copy_events", "Copy events", id="copy_events", tooltip="Copy the event log (OSC 52)"),
    ]

    def __init__(self, status: TargetStatus, track: TargetTrack | None, clock: Any) -> None:
        super().__init__()
        self.status = status
        self.track = track or TargetTrack()
        self.clock = clock

    def _events_text(self) -> str:
        lines = []
        for when, before, after, reason in self.track.events:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when / 1000))
            lines.append(f"{stamp} UTC  {before} -> {after}  {reason}")
        return "\n".join(lines) or "(no change yet)"

    def compose(self) -> Any:
        s = self.status
        now = int(self.clock() * 1000)
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold", no_wrap=True)
        t.add_column(overflow="fold")

        def row(label: str, value: str) -> None:
            t.add_row(label, Text(literal(value)))

        row("Verdict", f"{s.health.value}: {s.reason}")
        row("Target", f"{s.target.name} ({s.target.kind})")
        row("Prefix", s.target.prefix or "(none)")
        row("Config", f"stores.{s.target.store_key}" if s.target.store_key else "(not configured)")
        row("LaunchDarkly", api_text(s, now))
        if s.api is not None and s.api.last_error_message:
            row("  last error", f"{relative_age(s.api.last_error, now)}: {s.api.last_error_message}")
        errors = sorted(
            (s.target.integration.status.errors or []) if s.target.integration else [],
            key=lambda e: e.timestamp or 0,
            reverse=True,
        )
        for e in errors[:10]:
            row(f"  {relative_age(e.timestamp, now)}", f"HTTP {e.statusCode}: {e.message or ''}")
        row("Store", store_text(s, now))
        if s.metadata is not None:
            row("  synchronizedOn (raw)", s.metadata.raw if s.metadata.raw is not None else "(missing)")
            row("  cursor", s.metadata.cursor if s.metadata.cursor is not None else "(missing)")
        if s.store.error:
            row("  error", s.store.error)
        for d in s.diagnostics:
            row("Diagnosis", d)
        row("synchronizedOn age (s)", sparkline(list(self.track.ages)))
        row("Probe latency (ms)", sparkline(list(self.track.latencies)))
        with Vertical(classes="dialog"):
            yield Static(Text(literal(s.target.name)), classes="dialog-title")
            with VerticalScroll(classes="detail-body"):
                yield Static(t, id="target-detail")
                yield Static("Events", classes="field-label")
                yield Static(Text(literal_lines(self._events_text())), id="events")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy events", compact=True, id="copy")
                yield Button("Close", compact=True, id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy_events()
        else:
            self.dismiss(None)

    def action_copy_events(self) -> None:
        self.app.copy_to_clipboard(self._events_text())
        self.notify("Event log copied", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
