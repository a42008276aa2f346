"""Ctrl+N: every notification of the session in full, newest first (a toast shows four lines
at most and goes away)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from ldtui.ui.screens.base import LdModal

SEVERITY_VARIABLE = {"error": "status-down", "warning": "status-stale", "information": "status-ok"}


def log_text(app: Any) -> Text:
    """The log as one text: time, severity, title, then the message; newest first."""
    from ldtui.ui.cells import status_style_for

    variables = app.css_variables_cached()
    out = Text()
    notices = list(getattr(app, "notices", []))
    for n, notice in enumerate(reversed(notices)):
        if n:
            out.append("\n\n")
        stamp = time.strftime("%H:%M:%S", time.gmtime(notice.time))
        word = {"information": "info"}.get(notice.severity, notice.severity)
        out.append(f"{stamp} UTC  ")
        out.append(
            word.upper(), style=status_style_for(SEVERITY_VARIABLE.get(notice.severity, ""), True, variables)
        )
        if notice.title:
            out.append(f"  {notice.title}", style="bold")
        out.append("\n")
        out.append(notice.message)  # escaped when it was notified
    if not notices:
        out.append("No message yet.")
    return out


class NotificationsScreen(LdModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+n", "close", "Close", id="notifications_close", tooltip="Back"),
        Binding("c", "copy", "Copy", id="notifications_copy", tooltip="Copy every message (OSC 52)"),
    ]
    KEY_PRIORITY = ("notifications_close", "notifications_copy")

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static("Messages of this session, newest first", classes="dialog-title")
            with VerticalScroll(classes="detail-body", id="notifications-body"):
                yield Static(log_text(self.app), id="notifications-log")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy", compact=True, id="copy")
                yield Button("Close", compact=True, id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#notifications-body").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(log_text(self.app).plain)
        # (Not a notification: it would join the log being looked at.)
        self.query_one("#copy", Button).label = "Copied"

    def action_close(self) -> None:
        self.dismiss(None)
