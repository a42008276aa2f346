"""The audit trail (``a`` on the list, or the palette): every change ldtui sent, newest first,
with what came back; Enter shows one entry in full (the exact patch or body, secrets masked).
The same file ``ldtui audit`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Header, Static

from ldtui.core.text import literal, literal_lines
from ldtui.ui.cells import cell, status_style_for
from ldtui.ui.screens.base import LdModal, LdScreen, set_line
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.services.audit import AuditEntry, AuditRead

COLUMNS = [
    ("time", "Time (UTC)"),
    ("action", "Action"),
    ("status", "Status"),
    ("name", "Integration"),
    ("where", "Where"),
    ("profile", "Profile"),
    ("request", "Request id"),
]
PRIORITIES = {"request": 4, "profile": 3, "where": 2}
MIN_WIDTHS = {"name": 12, "where": 12}


def status_word(entry: AuditEntry) -> str:
    if entry.status is None:
        return "no answer" if not entry.ok else "sent"
    return f"HTTP {entry.status}"


class AuditScreen(LdScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "back", "Back", id="audit_back", tooltip="Back to the previous screen"),
        Binding("r", "reload", "Reload", id="audit_reload", tooltip="Read the file again"),
        Binding("enter", "open", "Details", id="audit_open", tooltip="The entry in full"),
    ]
    KEY_PRIORITY = ("audit_back", "audit_open", "audit_reload", "quit")

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.entries: list[AuditEntry] = []

    @property
    def table(self) -> LdTable:
        return self.query_one("#audit", LdTable)

    def compose(self) -> Any:
        yield Header()
        yield Static("reading the audit trail…", id="statusline")
        yield LdTable(id="audit", empty_text="No change sent yet.")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.table
        table.set_columns(COLUMNS)
        table.set_priorities(PRIORITIES)
        table.set_min_widths(MIN_WIDTHS)
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        if self.path is None:
            set_line(
                self.query_one("#statusline", Static), "No audit trail in this session (no state directory)."
            )
            return
        self.load(self.path)

    @work(
        exclusive=True,
        group="audit-read",
        thread=True,
        exit_on_error=False,
        description="Reading the audit trail",
    )
    def load(self, path: Path) -> None:
        from ldtui.services.audit import read_entries

        read = read_entries(path)
        self.app.call_from_thread(self._show, path, read)

    def _show(self, path: Path, read: AuditRead) -> None:
        self.entries = list(reversed(read.entries))
        variables = self.ldtui.css_variables_cached()
        rows = []
        for n, e in enumerate(self.entries):
            variable = "status-ok" if e.ok else "status-down"
            rows.append(
                (
                    str(n),
                    (
                        cell(e.time.replace("T", " ").removesuffix("Z"), sort_key=e.time),
                        cell(e.action),
                        cell(status_word(e), style=status_style_for(variable, not e.ok, variables)),
                        cell(e.name or e.integration_id or "-"),
                        cell(f"{e.project}/{e.environment} {e.kind}"),
                        cell(e.profile),
                        cell(e.request_id or "-"),
                    ),
                )
            )
        table = self.table
        with table.batch():
            table.replace_rows(rows)
            table.fit_widths({"name": 36, "where": 40})
        parts = [f"{len(self.entries)} change{'s' if len(self.entries) != 1 else ''} in {literal(path)}"]
        if read.truncated:
            parts.append("older entries not read (the file is large)")
        if read.skipped:
            parts.append(f"{read.skipped} line{'s' if read.skipped > 1 else ''} not understood")
        if read.error:
            parts = [literal(read.error)]
        set_line(self.query_one("#statusline", Static), " · ".join(parts))  # safe-text: parts are literal()
        if rows:
            table.move_cursor(row=0)

    def action_open(self) -> None:
        key = self.table.cursor_key
        if key is not None and key.isdigit() and int(key) < len(self.entries):
            self.app.push_screen(AuditEntryScreen(self.entries[int(key)]))

    def on_ld_table_row_selected(self, event: LdTable.RowSelected) -> None:
        self.action_open()

    def action_back(self) -> None:
        self.app.pop_screen()


class AuditEntryScreen(LdModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="audit_entry_close", tooltip="Back to the trail"),
        Binding("c", "copy", "Copy", id="audit_entry_copy", tooltip="Copy the entry as JSON (OSC 52)"),
    ]

    def __init__(self, entry: AuditEntry) -> None:
        super().__init__()
        self.entry = entry

    def _json(self) -> str:
        return json.dumps(self.entry.to_json(), indent=2, ensure_ascii=False)

    def compose_dialog(self) -> Any:
        e = self.entry
        with Vertical(classes="dialog"):
            yield Static(
                Text(literal(f"{e.action} {e.name or e.integration_id or ''}".strip())),
                classes="dialog-title",
            )
            with VerticalScroll(classes="detail-body"):
                yield Static(Text(literal_lines(self._json())), id="audit-entry")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy", compact=True, id="copy")
                yield Button("Close", compact=True, id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._json())
        self.query_one("#copy", Button).label = "Copied"

    def action_close(self) -> None:
        self.dismiss(None)
