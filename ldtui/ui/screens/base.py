"""What every ldtui screen shares: failed workers become notifications; every dialog has its
own key bar, F1 and the notification log (the app's keys do not reach through a dialog).

``Worker.StateChanged`` does not bubble, so the app never sees a screen's worker fail; each
screen hands it to the app's one reporting function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from ldtui.ui.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from ldtui.ui.app import LdtuiApp


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
    widget.update(content, layout=layout)  # safe-text: each caller of set_line is checked


class LdScreen(ReportsFailures, Screen[Any]):
    # Binding ids, the most important first: what the key bar keeps when the line is short.
    KEY_PRIORITY: ClassVar[tuple[str, ...]] = ()

    @property
    def ldtui(self) -> LdtuiApp:
        return self.app  # type: ignore[return-value]

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
    """A dialog: its own key bar at the bottom of the terminal (the screen's underneath is
    covered, never shown as if it still worked), F1 for its keys, Ctrl+N for the messages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Help", id="help", tooltip="Show every key of this dialog"),
        Binding(
            "ctrl+n",
            "app.notifications",
            "Messages",
            id="notifications",
            show=False,
            tooltip="Every notification of this session, in full",
        ),
    ]
    KEY_PRIORITY: ClassVar[tuple[str, ...]] = ()

    @property
    def ldtui(self) -> LdtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> Any:
        yield from self.compose_dialog()
        yield KeyBar()

    def compose_dialog(self) -> Any:
        """The dialog itself (the key bar comes with every dialog)."""
        return iter(())
