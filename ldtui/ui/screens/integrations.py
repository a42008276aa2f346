"""The first screen: every integration across projects and environments."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from ldtui.core.integration_status import ApiStatus
from ldtui.core.text import literal
from ldtui.ui.cells import COLUMN_CAPS, COLUMNS, Cell, age_cells, haystack, row_cells
from ldtui.ui.screens.base import LdScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.table import FastDataTable

if TYPE_CHECKING:
    from ldtui.core.models import BigSegmentStoreIntegration
    from ldtui.ui.app import LdtuiApp

ALL = "*"


class IntegrationsScreen(LdScreen):
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="refresh", tooltip="Reload every integration"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter rows as you type"),
        Binding("f", "scope", "Scope", id="scope", tooltip="Show one project or environment"),
        Binding("n", "create", "New", id="create", tooltip="Create a Redis or DynamoDB integration"),
        Binding("e", "edit", "Edit", id="edit", tooltip="Edit the selected integration"),
        Binding("o", "switch", "On/Off", id="switch", tooltip="Turn the selected integration on or off"),
        Binding("d", "delete", "Delete", id="delete", tooltip="Delete the selected integration"),
        Binding("s", "sort", "Sort", id="sort", tooltip="Sort by the next column (or click a header)"),
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
        Binding("enter", "open", "Details", id="open", tooltip="Config, status and errors of the row"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.integrations: dict[str, BigSegmentStoreIntegration] = {}
        self.status_words: dict[str, ApiStatus] = {}
        self._cells: dict[str, tuple[Cell, ...]] = {}  # the rows on screen
        # Per integration: (its object) -> cells, status word, search text, status summary.
        # New data means a new object; the age cells are refreshed in place as time passes.
        self._rows: dict[str, tuple[int, tuple[Cell, ...], ApiStatus, str, Any]] = {}
        self._render_now = 0
        self._last_view: tuple[list[str], str] | None = None
        self.filter_words: list[str] = []
        self.scope: str = ALL
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.loaded = False
        self._progress = "loading integrations…"
        # Edits that did not go through (rejected, conflict, network): kept for the next try.
        self.kept_drafts: dict[str, Any] = {}

    @property
    def ldtui(self) -> LdtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> Any:
        yield Header()
        yield Static(id="statusline")
        with Horizontal(id="toolbar"):
            yield LdInput(placeholder="filter: words in any column", id="filter")
            yield Select[str]([], prompt="All projects", id="scope", allow_blank=True, compact=True)
        table = FastDataTable(id="integrations", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(FastDataTable)
        table.add_fixed_columns(COLUMNS)  # 5,000 rows x 9 columns are never measured
        # The loading state is in the status line: the table and its header are there at once.
        table.focus()
        self._update_statusline()
        # After the first frame is on the terminal: then connect and load.
        self.call_after_refresh(self.load)
        self.set_interval(5, self.refresh_ages)

    # --- loading -----------------------------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False, description="Loading integrations")
    async def load(self) -> None:
        def progress(text: str) -> None:
            self._progress = text
            self._update_statusline()

        service = await self.ldtui.service_ready(progress)
        self._progress = "loading integrations…"
        self._update_statusline()
        try:
            items = await service.list()
        finally:
            self._progress = ""
        self.apply(items)
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        # The next poll is scheduled only when the last one finished (never two at once). The
        # timer is made on the screen's own message loop: one made inside the worker's task
        # would not outlive it.
        if self.ldtui.refresh_interval > 0:
            self.call_later(self.set_timer, self.ldtui.refresh_interval, self._poll_tick)

    def _poll_tick(self) -> None:
        # Behind a dialog: wait, do not pile up requests.
        if self.app.screen is self:
            self.load()
        else:
            self._schedule_refresh()

    def apply(self, items: list[BigSegmentStoreIntegration]) -> None:
        """Take a fresh listing: update rows by key, never clear and refill."""
        self.integrations = {i.id: i for i in items}
        self.loaded = True
        self.ldtui.last_refresh = self.ldtui.clock()
        self._update_scope_options()
        self.render_rows(new_time=True)
        # Thousands of rows of long-lived cells make every full garbage collection scan them:
        # pauses of 0.2-0.4 s at 5,000 integrations. Freezing moves what exists now out of the
        # collector's way (refcounting still frees it when a later listing replaces it).
        gc.freeze()

    def upsert(self, integration: BigSegmentStoreIntegration, *, select: bool = False) -> None:
        self.integrations[integration.id] = integration
        self._update_scope_options()
        self._last_view = None  # new data: not a narrowing of what is shown
        self.render_rows()
        if select:
            self.select_row(integration.id)

    def forget(self, integration_id: str) -> None:
        self.integrations.pop(integration_id, None)
        self._update_scope_options()
        self._last_view = None
        self.render_rows()

    # --- rendering ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.ldtui.clock() * 1000)

    def _in_scope(self, i: BigSegmentStoreIntegration) -> bool:
        if self.scope == ALL:
            return True
        if "/" in self.scope:
            return f"{i.projectKey}/{i.environmentKey}" == self.scope
        return i.projectKey == self.scope

    def _row(
        self, integ: BigSegmentStoreIntegration, variables: dict[str, str]
    ) -> tuple[tuple[Cell, ...], ApiStatus, str]:
        cached = self._rows.get(integ.id)
        if cached is None or cached[0] != id(integ):
            cells, summary = row_cells(integ, self._render_now, variables)
            cached = (id(integ), cells, summary.word, haystack(integ, summary.word.value), summary)
            self._rows[integ.id] = cached
        return cached[1], cached[2], cached[3]

    def render_rows(self, *, new_time: bool = False) -> None:
        """Show the rows that pass the scope and the filter, updating the table by row key.

        Cells are cached per integration and render time, so a filter keystroke only filters;
        ages are recomputed when the data or the clock moves (``new_time``)."""
        if new_time or not self._render_now:
            self._render_now = self._now_ms()
        variables = self.app.get_css_variables()
        words = self.filter_words
        wanted: dict[str, tuple[Cell, ...]] = {}
        # Typing narrows the filter: only the rows already shown can still match.
        view = (words, self.scope)
        narrowing = (
            not new_time
            and self._last_view is not None
            and self._last_view[1] == self.scope
            and all(any(old in new for new in words) for old in self._last_view[0])
            and len(words) >= len(self._last_view[0])
        )
        self._last_view = view
        candidates = (
            [self.integrations[k] for k in self._cells if k in self.integrations]
            if narrowing
            else self.integrations.values()
        )
        for integ in candidates:
            cells, word, hay = self._row(integ, variables)
            self.status_words[integ.id] = word
            if self._in_scope(integ) and all(w in hay for w in words):
                wanted[integ.id] = cells
        table: FastDataTable = self.query_one(FastDataTable)
        removed = [k for k in self._cells if k not in wanted]
        added = [k for k in wanted if k not in self._cells]
        table.remove_rows(removed)
        for key in removed:
            del self._cells[key]
        for key, cells in wanted.items():
            old = self._cells.get(key)
            if old is not None and old is not cells and old != cells:
                for (column, _), new, before in zip(COLUMNS, cells, old, strict=True):
                    if new != before:
                        table.update_cell(key, column, new)
                self._cells[key] = cells
        if added:
            table.add_rows_keyed([(k, wanted[k]) for k in added])
            self._cells.update((k, wanted[k]) for k in added)
            # One order computed here, not a DataTable sort over every cell.
            table.set_order(self._ordered(self._cells))
        for gone in [k for k in self._rows if k not in self.integrations]:
            del self._rows[gone]
        if new_time:
            # Widths follow the data (all rows), not the filter: columns stay put as you type.
            self._fit_columns({k: self._rows[k][1] for k in self.integrations})
        self._update_statusline()

    def _fit_columns(self, rows: dict[str, tuple[Cell, ...]]) -> None:
        """Each column as wide as its widest text (capped), computed from our own strings
        instead of by measuring every renderable."""
        widths = {}
        for index, (key, label) in enumerate(COLUMNS):
            widest = max((cell_len(cells[index].plain) for cells in rows.values()), default=0)
            widths[key] = min(COLUMN_CAPS[key], max(len(label), widest))
        self.query_one(FastDataTable).set_widths(widths)

    def _sort_key(self) -> Any:
        if self.sort_column is None:
            return lambda cells: (cells[0].sort_key, cells[1].sort_key, cells[2].sort_key, cells[3].sort_key)
        index = [k for k, _ in COLUMNS].index(self.sort_column)
        return lambda cells: cells[index].sort_key

    def _ordered(self, rows: dict[str, tuple[Cell, ...]]) -> list[str]:
        key = self._sort_key()
        return sorted(
            rows, key=lambda k: key(rows[k]), reverse=self.sort_reverse and self.sort_column is not None
        )

    def refresh_ages(self) -> None:
        """Time passed: rewrite only the age cells whose text changed, in one batch."""
        if not self.loaded:
            return
        self._render_now = now = self._now_ms()
        updates: list[tuple[str, str, Any]] = []
        for key, (ident, cells, word, hay, summary) in list(self._rows.items()):
            sync_cell, error_cell = age_cells(summary, now)
            if sync_cell.plain == cells[6].plain and error_cell.plain == cells[7].plain:
                continue
            new = (*cells[:6], sync_cell, error_cell, *cells[8:])
            self._rows[key] = (ident, new, word, hay, summary)
            if key in self._cells:
                self._cells[key] = new
                updates.append((key, "last_sync", sync_cell))
                updates.append((key, "last_error", error_cell))
        self.query_one(FastDataTable).set_cells(updates)

    def _sort(self) -> None:
        """Default order: project, environment, store, name; else the chosen column."""
        self.query_one(FastDataTable).set_order(self._ordered(self._cells))

    def _update_statusline(self) -> None:
        counts: dict[ApiStatus, int] = {}
        for word in self.status_words.values():
            counts[word] = counts.get(word, 0) + 1
        parts = (
            [self.ldtui.backend.label, literal(self.ldtui.backend.base_url)] if self.ldtui.connected else []
        )
        if self._progress:
            parts.append(self._progress)
        if self.loaded:
            shown = len(self._cells)
            total = len(self.integrations)
            parts.append(f"{shown} of {total} shown" if shown != total else f"{total} integrations")
            parts.append(" ".join(f"{w.value} {counts[w]}" for w in ApiStatus if counts.get(w)))
            if self.ldtui.last_refresh is not None:
                stamp = time.strftime("%H:%M:%S", time.gmtime(self.ldtui.last_refresh))
                parts.append(f"refreshed {stamp} UTC")
            if self.sort_column:
                label = dict(COLUMNS)[self.sort_column]
                parts.append(f"sorted by {label} {'↓' if self.sort_reverse else '↑'}")
        for line in self.query("#statusline").results(Static):
            line.update(" · ".join(p for p in parts if p))

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
        table = self.query_one(DataTable)
        if not self._cells or table.cursor_row < 0:
            return None
        try:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:
            return None
        return self.integrations.get(key or "")

    def select_row(self, integration_id: str) -> None:
        table = self.query_one(DataTable)
        if integration_id in self._cells:
            table.move_cursor(row=table.get_row_index(integration_id))
            table.focus()

    def _need_selection(self) -> BigSegmentStoreIntegration | None:
        integ = self.selected
        if integ is None:
            self.notify("Select an integration first.", severity="warning")
        return integ

    # --- actions -----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.has_class("-visible"):
            box.value = ""
            box.remove_class("-visible")
            self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_words = event.value.lower().split()
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def action_scope(self) -> None:
        self.query_one("#scope", Select).focus()

    @on(Select.Changed, "#scope")
    def _scope_changed(self, event: Select.Changed) -> None:
        self.scope = ALL if event.value is Select.NULL else str(event.value)
        self.render_rows()

    def action_sort(self) -> None:
        keys = [k for k, _ in COLUMNS]
        if self.sort_column is None:
            self.sort_column = keys[0]
        else:
            i = keys.index(self.sort_column)
            self.sort_column = keys[(i + 1) % len(keys)]
        self.sort_reverse = False
        self._sort()
        self._update_statusline()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._sort()
        self._update_statusline()

    @on(DataTable.RowSelected)
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
        from ldtui.ui.screens.status import StatusScreen

        self.app.push_screen(StatusScreen())

    def action_inspect(self) -> None:
        from ldtui.ui.screens.inspector import InspectorScreen

        integ = self.selected
        want = (integ.projectKey, integ.environmentKey, integ.integrationKey) if integ else None
        self.app.push_screen(InspectorScreen(want))

    def action_create(self) -> None:
        from ldtui.ui.flows import create_flow

        create_flow(self)

    def action_edit(self) -> None:
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import edit_flow

            edit_flow(self, integ)

    def action_switch(self) -> None:
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import toggle_flow

            toggle_flow(self, integ)

    def action_delete(self) -> None:
        integ = self._need_selection()
        if integ is not None:
            from ldtui.ui.flows import delete_flow

            delete_flow(self, integ)
