"""What every ldtui screen shares: failed workers become notifications.

``Worker.StateChanged`` does not bubble, so the app never sees a screen's worker fail; each
screen hands it to the app's one reporting function."""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen, Screen
from textual.worker import Worker


class ReportsFailures:
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report = getattr(self.app, "report_worker", None)  # type: ignore[attr-defined]
        if report is not None:
            report(event)


def set_line(widget: Any, content: Any, *, layout: bool = False) -> None:
    """Update a Static that is rewritten every second (a status line) only when its text
    changes; without a layout pass unless asked (a fixed-height line needs none)."""
    key = content.plain if hasattr(content, "plain") else str(content)
    if getattr(widget, "_ldtui_line", None) == key:
        return
    widget._ldtui_line = key
    widget.update(content, layout=layout)


class LdScreen(ReportsFailures, Screen[Any]):
    @property
    def on_view(self) -> bool:
        """Visible: the current screen, or under dialogs only (a modal shows what is behind it,
        so its ages must keep ticking). Polls still pause behind dialogs; ages do not."""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        above = stack[stack.index(self) + 1 :]
        return all(isinstance(screen, ModalScreen) for screen in above)


class LdModal(ReportsFailures, ModalScreen[Any]):
    pass
