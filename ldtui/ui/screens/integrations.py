"""The first screen: every integration across projects and environments.

What it shows stays true as time passes: ages tick every second from the data's own
timestamps; one poll loop (``PollLoop``) owns the refreshes, survives failures (backing off,
then retrying without a key press) and says so in the status line; rows older than a failed
refresh are dimmed and marked "old"; the counts are counted from the rows on screen."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Input, Select

from ldtui.core.integration_status import ApiStatus, StatusSummary, summarize
from ldtui.core.text import literal, next_change_ms, truncate
from ldtui.ui.cells import (
    COLUMN_CAPS,
    COLUMN_MIN_WIDTHS,
    COLUMN_PRIORITIES,
    COLUMNS,
    Cell,
    age_cells,
    haystack,
    row_cells,
)
from ldtui.ui.poller import PollLoop
from ldtui.ui.screens.base import LdScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.statusline import StatusLine
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.core.models import BigSegmentStoreIntegration

ALL = "*"
COLUMN_KEYS = [k for k, _ in COLUMNS]
SYNC, ERROR = COLUMN_KEYS.index("last_sync"), COLUMN_KEYS.index("last_error")


@dataclass
class RowView:
    """One integration as the table shows it: derived from the object the API returned."""

    integration: BigSegmentStoreIntegration
    summary: StatusSummary
    hay: str
    cells: tuple[Cell, ...]
    old: bool = False
    next_tick_ms: float = 0.0  # when an age cell's words next change


class IntegrationsScreen(LdScreen):
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="refresh", tooltip="Reload every integration now"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter rows as you type"),
        Binding("f", "scope", "Scope", id="scope", tooltip="Show one project or environment"),
        Binding("n", "create", "New", id="create", tooltip="Create a Redis or DynamoDB integration"),
        Binding("e", "edit", "Edit", id="edit", tooltip="Edit the selected integration"),
        Binding("o", "switch", "On/Off", id="switch", tooltip="Turn the selected integration on or off"),
        Binding("d", "delete", "Delete", id="delete", tooltip="Delete the selected integration"),
        Binding(
            "s", "sort", "Sort", id="sort", tooltip="Sort by the next column (S reverses; or click a header)"
        ),
        Binding(
            "S",
            "reverse_sort",
            "Worst first",
            id="reverse_sort",
            tooltip="The worst status first; on a sorted column, reverse the sort",
        ),
        Binding(
            "h",
            "health",
            "Health",
            id="health",
            tooltip="Live store health: the API and the stores",
        ),
        Binding(
            "i",
            "inspect",
            "Inspect",
            id="inspect",
            tooltip="Explain a context's big segment membership from the selected store",
        ),
        Binding("k", "doctor", "Doctor", id="doctor", tooltip="Check the selected store's setup"),
        Binding("enter", "open", "Details", id="open", tooltip="Config, status and errors of the row"),
        Binding("a", "app.audit", "Audit", id="audit", tooltip="Every change ldtui sent, and the answer"),
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            id="clear_filter",
            tooltip="Clear the filter (or leave the scope menu)",
        ),
    ]
    # What the key bar keeps on a short line (F1 lists every key).
    KEY_PRIORITY = (
        "clear_filter",
        "create",
        "edit",
        "delete",
        "health",
        "inspect",
        "quit",
        "reverse_sort",
        "switch",
        "sort",
        "refresh",
        "filter",
        "scope",
        "audit",
        "open",
    )

    def __init__(self) -> None:
        super().__init__()
        self.integrations: dict[str, BigSegmentStoreIntegration] = {}
        self._views: dict[str, RowView] = {}
        self.filter_words: list[str] = []
        self.scope: str = ALL
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.loaded = False
        # Wall-clock time (the app's clock) of the listing on screen.
        self.data_time: float | None = None
        self._progress = "loading integrations…"
        self.start_error: str | None = None  # a configuration problem: nothing to retry
        self.loop: PollLoop | None = None
        # The rows passing scope and filter (the table's filter looks them up); narrowed from
        # the previous set while typing extends the filter.
        self._matches: set[str] = set()
        self._matched_by: tuple[tuple[str, ...], str] | None = None
        self._counted: tuple[tuple[int, int], tuple[int, dict[ApiStatus, int]]] | None = None
        # Edits that did not go through (rejected, conflict, network): kept for the next try.
        self.kept_drafts: dict[str, Any] = {}

    @property
    def table(self) -> LdTable:
        return self.query_one("#integrations", LdTable)

    def compose(self) -> Any:
        yield Header()
        yield StatusLine(id="statusline")
        with Horizontal(id="toolbar"):
            yield LdInput(placeholder="filter: words in any column", id="filter")
            yield Select[str]([], prompt="All projects", id="scope", allow_blank=True, compact=True)
        yield LdTable(id="integrations")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.table
        table.set_columns(COLUMNS)
        # At 80 columns: where, name, status word and age stay; the rest gives way.
        table.set_priorities(COLUMN_PRIORITIES)
        table.set_min_widths(COLUMN_MIN_WIDTHS)
        table.set_filter(self._matches.__contains__)
        self._apply_sort()
        # The loading state is in the status line: the table and its header are there at once.
        table.focus()
        self._update_statusline()
        self.loop = PollLoop(
            self._poll,
            interval=lambda: self.ldtui.refresh_interval,
            active=lambda: self.app.screen is self,
            describe=_short,
            on_change=self._update_statusline,
            wall_clock=self.ldtui.clock,
        )
        self._release_scope = False  # the scope menu just closed: the rows take the focus
        self.watch(self.query_one("#scope", Select), "expanded", self._scope_menu)
        # After the first frame is on the terminal: then connect and load.
        self.call_after_refresh(self._start_loop)
        self.set_interval(1, self.tick)

    def _start_loop(self) -> None:
        assert self.loop is not None
        self.run_worker(
            self.loop.run(), group="list-poll", exit_on_error=False, description="Refreshing integrations"
        )

    def on_screen_resume(self) -> None:
        if self.loop is not None:
            self.loop.resume()
        self.tick()

    # --- loading -----------------------------------------------------------------------------

    async def _poll(self) -> None:
        from ldtui.config import ConfigError

        def progress(text: str) -> None:
            self._progress = text
            self._update_statusline()

        try:
            service = await self.ldtui.service_ready(progress)
        except ConfigError as exc:
            # Not a passing fault: retrying cannot help. Say it and stop polling.
            self.start_error = str(exc)
            self._progress = ""
            if self.loop is not None:
                self.loop.stop()
            self.notify(str(exc), title="Cannot start", severity="error", timeout=20)
            self._update_statusline()
            return
        except Exception:
            self._progress = ""
            raise
        self._progress = "loading integrations…" if not self.loaded else ""
        self.ldtui.show_connection()
        self._update_statusline()
        try:
            items = await service.list()
        except Exception as exc:
            self._progress = ""
            self._refresh_failed(exc)
            raise
        self._progress = ""
        self.apply(items)

    def _refresh_failed(self, exc: Exception) -> None:
        """The rows on screen are now older than what LaunchDarkly may say: mark them (once),
        and tell the person on the first failure of a run (the status line says the rest)."""
        assert self.loop is not None
        if self.loop.state.failures == 0:
            self.notify(_describe(exc), title="Refresh failed", severity="error", timeout=12)
        self._mark_old(True)

    def apply(self, items: list[BigSegmentStoreIntegration]) -> None:
        """Take a fresh listing: update rows by key, never clear and refill."""
        self.integrations = {i.id: i for i in items}
        self.ldtui.last_integrations = list(items)
        self.loaded = True
        self.data_time = self.ldtui.clock()
        self.ldtui.last_refresh = self.data_time
        self._update_scope_options()
        self._sync_rows(old=False)
        # Thousands of rows of long-lived cells make every full garbage collection scan them:
        # pauses of 0.2-0.4 s at 5,000 integrations. Freezing moves what exists now out of the
        # collector's way (refcounting still frees it when a later listing replaces it).
        gc.freeze()

    def upsert(self, integration: BigSegmentStoreIntegration, *, select: bool = False) -> None:
        self.integrations[integration.id] = integration
        self._update_scope_options()
        self._sync_rows()
        if select:
            self.select_row(integration.id)

    def forget(self, integration_id: str) -> None:
        self.integrations.pop(integration_id, None)
        self._update_scope_options()
        self._sync_rows()

    # --- rendering ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.ldtui.clock() * 1000)

    def _in_scope(self, i: BigSegmentStoreIntegration) -> bool:
        if self.scope == ALL:
            return True
        if "/" in self.scope:
            return f"{i.projectKey}/{i.environmentKey}" == self.scope
        return i.projectKey == self.scope

    def _match(self, *, all_rows: bool = False) -> None:
        """Which rows pass scope and filter, into ``_matches`` (the set the table's filter looks
        in). Typing more of a word only narrows: then only the rows shown are tested again."""
        words = tuple(self.filter_words)
        previous = self._matched_by
        narrowing = (
            not all_rows
            and previous is not None
            and previous[1] == self.scope
            and len(words) >= len(previous[0])
            and all(any(old in new for new in words) for old in previous[0])
        )
        candidates = list(self._matches) if narrowing else list(self._views)
        views = self._views
        scope = self.scope
        matched = set()
        for key in candidates:
            view = views.get(key)
            if view is None:
                continue
            if scope != ALL and not self._in_scope(view.integration):
                continue
            hay = view.hay
            if all(w in hay for w in words):
                matched.add(key)
        self._matches.clear()
        self._matches.update(matched)  # the same set object: the table holds its __contains__
        self._matched_by = (words, scope)

    def _view(
        self, integ: BigSegmentStoreIntegration, now_ms: int, variables: dict[str, str], old: bool
    ) -> RowView:
        view = self._views.get(integ.id)
        if view is None or view.integration is not integ or view.old != old:
            summary = summarize(integ, now_ms)
            view = RowView(
                integ,
                summary,
                haystack(integ, summary.word.value),
                row_cells(integ, summary, now_ms, variables, old=old),
                old,
            )
            self._views[integ.id] = view
        return view

    def _sync_rows(self, *, old: bool | None = None) -> None:
        """The table holds exactly the integrations we know, each row derived from its object
        (new object, new cells); widths follow all the data, not the filter."""
        now = self._now_ms()
        variables = self.ldtui.css_variables_cached()
        table = self.table
        rows = []
        for integ in self.integrations.values():
            was = self._views.get(integ.id)
            is_old = (was.old if was else False) if old is None else old
            view = self._view(integ, now, variables, is_old)
            rows.append((integ.id, view.cells, view.old))
        for gone in [k for k in self._views if k not in self.integrations]:
            del self._views[gone]
        self._match(all_rows=True)
        with table.batch():
            table.remove_rows([k for k in table.row_keys if k not in self.integrations])
            for key, cells, is_old in rows:
                table.set_row(key, cells, dim=is_old)
            table.refilter()
            table.fit_widths(COLUMN_CAPS)
        self._update_empty_text()
        self.tick()

    def _mark_old(self, old: bool) -> None:
        if any(v.old != old for v in self._views.values()):
            self._sync_rows(old=old)

    def tick(self) -> None:
        """Time passed: rewrite the age cells whose text changed, and the status line."""
        if not self.is_attached:
            return
        if self.loaded and self.on_view:
            now = self._now_ms()
            updates: list[tuple[str, str, Any]] = []
            for key, view in self._views.items():
                if now < view.next_tick_ms:
                    continue  # its ages read the same until then
                summary = view.summary
                view.next_tick_ms = min(
                    next_change_ms(summary.last_sync, now), next_change_ms(summary.last_error, now)
                )
                sync_cell, error_cell = age_cells(summary, now)
                cells = view.cells
                if sync_cell.plain == cells[SYNC].plain and error_cell.plain == cells[ERROR].plain:
                    continue
                view.cells = (*cells[:SYNC], sync_cell, error_cell, *cells[ERROR + 1 :])
                updates.append((key, "last_sync", sync_cell))
                updates.append((key, "last_error", error_cell))
            self.table.update_cells(updates)
        self._update_statusline()

    def _apply_sort(self) -> None:
        """Default order: project, environment, store, name; else the chosen column."""
        if self.sort_column is None:
            self.table.set_sort(COLUMN_KEYS[:4], reverse=self.sort_reverse)
        else:
            self.table.set_sort(self.sort_column, reverse=self.sort_reverse)

    def _counts(self) -> tuple[int, dict[ApiStatus, int]]:
        """Counted from the rows on screen: recounted whenever they change (the table's
        version), never kept beside them."""
        table = self.table
        if self._counted is not None and self._counted[0] == table.version:
            return self._counted[1]
        counts: dict[ApiStatus, int] = {}
        views = self._views
        shown = table.shown_keys
        for key in shown:
            view = views.get(key)
            if view is not None:
                counts[view.summary.word] = counts.get(view.summary.word, 0) + 1
        self._counted = (table.version, (len(shown), counts))
        return len(shown), counts

    def _update_empty_text(self) -> None:
        if not self.loaded:
            text = ""
        elif not self.integrations:
            text = "No big segment store integration in this account yet: n creates one."
        else:
            what = []
            if self.scope != ALL:
                what.append(f"in {literal(self.scope)}")
            if self.filter_words:
                what.append(f"matching {truncate(literal(' '.join(self.filter_words)), 40)!r}")
            text = f"No integration {' '.join(what)} (Esc clears the filter, f changes the scope)."
        self.table.set_empty_text(text)

    def _update_statusline(self) -> None:
        """What the list is and how fresh, in order of importance when the line is short: a
        failing refresh first (short: the notification and Ctrl+N have the whole message), the
        counts, the refresh time, then the profile and its URL (the header has them too)."""
        if not self.is_attached:
            return
        parts: list[tuple[int, str]] = []
        state = self.loop.state if self.loop is not None else None
        waited = state.waited(time.monotonic()) if state is not None else None
        if state is not None and state.failing and state.last_failure is not None:
            failed = f"last refresh failed {_hms(state.last_failure)} UTC ({state.failure_reason})"
            retry = state.retry_in(time.monotonic())
            if state.in_flight:
                failed += " · retrying now"
            elif retry is not None:
                failed += f" · retrying in {retry:.0f} s"
            parts.append((0, failed))
        if self.start_error:
            parts.append((0, f"cannot start: {self.start_error}"))
        if self._progress:
            # What it waits for, and since when (a slow API is not a frozen screen).
            since = f" ({waited:.0f} s)" if waited is not None and waited >= 2 else ""
            parts.append((1, self._progress + since))
        if self.loaded:
            shown, counts = self._counts()
            total = len(self.integrations)
            parts.append((1, f"{shown} of {total} shown" if shown != total else f"{total} integrations"))
            parts.append((1, " ".join(f"{w.value} {counts[w]}" for w in ApiStatus if counts.get(w))))
            if self.data_time is not None:
                parts.append((2, f"refreshed {_hms(self.data_time)} UTC"))
        if state is not None and state.failing and self.loaded:
            parts.append((5, "rows marked old are from the last good refresh"))
        elif state is not None and state.in_flight and self.loaded:
            parts.append(
                (
                    3,
                    f"refreshing… waiting for LaunchDarkly for {waited:.0f} s"
                    if waited is not None and waited >= 2
                    else "refreshing…",
                )
            )
        if self.ldtui.connected:
            parts.append((4, self.ldtui.backend.label))
            parts.append((6, literal(self.ldtui.backend.base_url)))
        for line in self.query("#statusline").results(StatusLine):
            line.set_parts(parts)

    def _update_scope_options(self) -> None:
        select: Select[str] = self.query_one("#scope", Select)
        projects = sorted({i.projectKey for i in self.integrations.values()})
        envs = sorted({f"{i.projectKey}/{i.environmentKey}" for i in self.integrations.values()})
        options: list[tuple[str, str]] = []
        for p in projects:
            options.append((literal(p), p))
            options.extend((f"  {literal(e)}", e) for e in envs if e.startswith(p + "/"))
        current = self.scope
        if getattr(self, "_scope_options", None) != options:
            self._scope_options = options
            with select.prevent(Select.Changed):
                select.set_options(options)
                if current != ALL and current in {v for _, v in options}:
                    select.value = current

    # --- selection helpers -------------------------------------------------------------------

    @property
    def selected(self) -> BigSegmentStoreIntegration | None:
        key = self.table.cursor_key
        return self.integrations.get(key) if key is not None else None

    def select_row(self, integration_id: str) -> None:
        self.table.move_cursor(key=integration_id)
        self.table.focus()

    def _need_selection(self) -> BigSegmentStoreIntegration | None:
        integ = self.selected
        if integ is None:
            self.notify("Select an integration first.", severity="warning")
        return integ

    # --- actions -----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Now: moves the next refresh, never adds a second loop."""
        if self.loop is not None and self.start_error is None:
            self.loop.poll_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc clears the filter: on the key bar only while there is one to clear (or the scope
        menu to leave)."""
        if action == "clear_filter" and self.is_mounted:
            box = self.query_one("#filter", Input)
            scope = self.query_one("#scope", Select)
            return bool(box.value or box.has_class("-visible") or self.focused is scope)
        return True

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.has_class("-visible"):
            box.value = ""
            box.remove_class("-visible")
            self.table.focus()
            self.refresh_bindings()
        elif self.focused is self.query_one("#scope", Select):
            self.table.focus()  # Esc leaves the scope menu for the rows

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_words = event.value.lower().split()
        self._match()
        self.table.refilter()
        self._update_empty_text()
        self._update_statusline()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def action_scope(self) -> None:
        select = self.query_one("#scope", Select)
        select.focus()
        select.expanded = True  # the menu at once: Up/Down choose, Enter or Esc go back

    def _scope_menu(self, expanded: bool) -> None:
        """The menu closed (a choice made with Enter, or Esc): back to the rows, so Down and
        Enter move in the table instead of opening the menu again. (The select takes the focus
        back itself once its menu closes: the table takes it when that has happened.)"""
        select = self.query_one("#scope", Select)
        if expanded:
            self._release_scope = False
            return
        focused = self.focused
        if focused is not None and (focused is select or select in focused.ancestors):
            self._release_scope = True
            self.table.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self._release_scope and event.widget is self.query_one("#scope", Select):
            self._release_scope = False
            self.table.focus()

    @on(Select.Changed, "#scope")
    def _scope_changed(self, event: Select.Changed) -> None:
        self.scope = ALL if event.value is Select.NULL else str(event.value)
        self._match()
        self.table.refilter()
        self._update_empty_text()
        self._update_statusline()
        # Chosen: back to the rows (Down and Enter move in the table, not the menu).
        self.table.focus()

    def action_sort(self) -> None:
        if self.sort_column is None:
            self.sort_column = COLUMN_KEYS[0]
        else:
            i = COLUMN_KEYS.index(self.sort_column)
            self.sort_column = COLUMN_KEYS[(i + 1) % len(COLUMN_KEYS)]
        self.sort_reverse = False
        self._apply_sort()

    def action_reverse_sort(self) -> None:
        """One key from the default order to the worst first (status, reversed); on a chosen
        column, the other way round."""
        if self.sort_column is None:
            self.sort_column, self.sort_reverse = "status", True
        else:
            self.sort_reverse = not self.sort_reverse
        self._apply_sort()

    @on(LdTable.HeaderSelected)
    def _header(self, event: LdTable.HeaderSelected) -> None:
        if self.sort_column == event.column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = event.column, False
        self._apply_sort()

    @on(LdTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        integ = self._need_selection()
        if integ is None:
            return
        from ldtui.ui.screens.detail import DetailScreen

        def after(action: str | None) -> None:
            if action == "edit":
                self.action_edit()
            elif action == "toggle":
                self.action_switch()
            elif action == "delete":
                self.action_delete()

        self.app.push_screen(DetailScreen(integ, self.ldtui.clock), after)

    def action_health(self) -> None:
        """The panel is one for the session: it keeps its event log, readings and back-off
        while it is not shown (its polls wait meanwhile)."""
        from ldtui.ui.screens.status import StatusScreen

        if not self.app.is_screen_installed("status"):
            self.app.install_screen(StatusScreen(), "status")
        self.app.push_screen("status")

    def action_inspect(self) -> None:
        from ldtui.ui.screens.inspector import InspectorScreen

        integ = self.selected
        want = (integ.projectKey, integ.environmentKey, integ.integrationKey) if integ else None
        self.app.push_screen(InspectorScreen(want))

    def action_doctor(self) -> None:
        from ldtui.ui.screens.doctor import open_doctor

        integ = self.selected
        if integ is None:
            open_doctor(self, None, None, None)
        else:
            open_doctor(self, integ.projectKey, integ.environmentKey, integ.integrationKey)

    def action_create(self) -> None:
        if self.ldtui.refuse_write("created"):
            return
        from ldtui.ui.flows import create_flow

        create_flow(self)

    def action_edit(self) -> None:
        if self.ldtui.refuse_write("edited"):
            return
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import edit_flow

            edit_flow(self, integ)

    def action_switch(self) -> None:
        if self.ldtui.refuse_write("turned on or off"):
            return
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import toggle_flow

            toggle_flow(self, integ)

    def action_delete(self) -> None:
        if self.ldtui.refuse_write("deleted"):
            return
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import delete_flow

            delete_flow(self, integ)


def _hms(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(wall))


def _describe(error: BaseException) -> str:
    from ldtui.ui.app import describe_error

    return describe_error(error)


def _short(error: BaseException) -> str:
    from ldtui.ui.app import short_reason

    return short_reason(error)
