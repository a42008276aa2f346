"""An Input that follows the app's cursor-blink setting (off for snapshots and over slow SSH)."""

from __future__ import annotations

from textual.widgets import Input


class LdInput(Input):
    def on_mount(self) -> None:
        if not getattr(self.app, "blink", True):
            self.cursor_blink = False
