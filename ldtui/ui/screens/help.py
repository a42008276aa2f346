"""F1: the keys of the screen underneath, with what they do (the same list as the footer and
the command palette)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def bindings_table(screen: Screen[Any]) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_column(style="dim")
    t.add_column(style="dim italic", no_wrap=True)
    seen = set()
    for binding in [*getattr(screen, "BINDINGS", []), *screen.app.BINDINGS]:
        if not isinstance(binding, Binding) or binding.action in seen:
            continue
        seen.add(binding.action)
        keys = screen.app.get_key_display(binding)
        # The id is what [keys] in the configuration remaps.
        t.add_row(keys, binding.description or binding.action, binding.tooltip, binding.id or "")
    t.add_row("ctrl+p", "Command palette", "every action by name", "")
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close", "Close", id="help_close", tooltip="Close help")]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(
                Text(f"Keys: {type(self.target).__name__.removesuffix('Screen')}"),
                classes="dialog-title",
            )
            with VerticalScroll(classes="detail-body"):
                yield Static(bindings_table(self.target))
            yield Static(
                Text(
                    "Mouse is optional: every action has a key. Remap one in [keys] by the id on "
                    "the right. Over SSH, copying uses OSC 52."
                ),
                classes="field-help",
            )

    def action_close(self) -> None:
        self.dismiss(None)
