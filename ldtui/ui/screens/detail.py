"""One integration in full: config (secrets masked), _status with its errors, links, version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from ldtui.core.integration_status import summarize
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.patch import mask_config
from ldtui.core.text import literal, relative_age
from ldtui.ui.cells import KIND_LABEL
from ldtui.ui.keys import read_only
from ldtui.ui.screens.base import LdModal


def when(ms: int | None, now_ms: int) -> str:
    if ms is None:
        return "never"
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({relative_age(ms, now_ms)})"


def detail_table(integ: BigSegmentStoreIntegration, now_ms: int) -> Table:
    s = summarize(integ, now_ms)
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")

    def row(label: str, value: str) -> None:
        t.add_row(label, Text(literal(value)))

    row("Name", integ.name)
    row("Integration ID", integ.id)
    row("Project / environment", f"{integ.projectKey} / {integ.environmentKey}")
    row("Store", KIND_LABEL.get(integ.integrationKey, integ.integrationKey))
    row("On", "on" if integ.on else "off")
    row("Version", str(integ.version))
    row("Tags", ", ".join(integ.tags) or "—")
    t.add_row("", "")
    t.add_row("Config", "")
    for key, value in mask_config(integ.config, integ.integrationKey).items():
        row(
            f"  {key}",
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value),
        )
    t.add_row("", "")
    row("Status", f"{s.word.value}: {s.reason}")
    if s.failing_since is not None:
        # The first error listed: earlier ones may not be, so it can be a lower bound.
        row(
            "  failing since",
            when(s.failing_since, now_ms)
            if s.failing_since_exact
            else f"at least {when(s.failing_since, now_ms)}",
        )
    st = integ.status
    row("  available", "—" if st.available is None else str(st.available).lower())
    row(
        "  potentiallyStale",
        "—" if st.potentiallyStale is None else str(st.potentiallyStale).lower(),
    )
    row("  lastSync", when(st.lastSync, now_ms))
    row("  lastError", when(st.lastError, now_ms))
    errors = sorted(st.errors or [], key=lambda e: e.timestamp or 0, reverse=True)
    row("  errors", str(len(errors)) if errors else "none")
    for e in errors[:10]:
        code = f"HTTP {e.statusCode}" if e.statusCode is not None else "error"
        row(f"    {relative_age(e.timestamp, now_ms)}", f"{code}: {e.message or ''}")
    t.add_row("", "")
    links = integ.links
    row("Links", links.self_.href or "")
    row("  project", links.project.href or "")
    row("  environment", links.environment.href or "")
    return t


class DetailScreen(LdModal):
    """One integration in full; returns "edit", "toggle" or "delete" (what the list then does),
    or ``None``."""

    BINDINGS = [
        Binding("escape", "dismiss_screen", "Close", id="close", tooltip="Back to the list"),
        Binding("e", "choose('edit')", "Edit", id="detail_edit", tooltip="Edit this integration"),
        Binding("o", "choose('toggle')", "On/Off", id="detail_toggle", tooltip="Turn it on or off"),
        Binding("d", "choose('delete')", "Delete", id="detail_delete", tooltip="Delete it"),
        Binding("c", "copy_id", "Copy ID", id="copy_id", tooltip="Copy the integration ID (OSC 52)"),
    ]
    KEY_PRIORITY = ("close", "detail_edit", "detail_toggle", "detail_delete", "copy_id")

    def __init__(self, integration: BigSegmentStoreIntegration, clock: Callable[[], float]) -> None:
        super().__init__()
        self.integration = integration
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(1, self.tick)  # its ages tick like the list's

    def tick(self) -> None:
        self.query_one("#detail", Static).update(detail_table(self.integration, int(self.clock() * 1000)))

    def compose_dialog(self) -> Any:
        now = int(self.clock() * 1000)
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.integration.name)), classes="dialog-title")
            with VerticalScroll(classes="detail-body"):
                yield Static(detail_table(self.integration, now), id="detail")
            with Horizontal(classes="dialog-buttons"):
                if not read_only(self.app):  # a read-only session has nothing to change
                    yield Button("Edit", compact=True, id="edit", variant="primary")
                    yield Button("Turn off" if self.integration.on else "Turn on", compact=True, id="toggle")
                    yield Button("Delete", compact=True, id="delete", variant="error")
                yield Button("Close", compact=True, id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(None)
        else:
            self.dismiss(event.button.id)

    def action_choose(self, what: str) -> None:
        words = {"edit": "edited", "toggle": "turned on or off", "delete": "deleted"}
        if self.ldtui.refuse_write(words.get(what, "changed")):
            return
        self.dismiss(what)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.integration.id)
        self.notify("Integration ID copied", markup=False)
