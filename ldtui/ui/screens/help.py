"""F1: the keys of the screen or dialog underneath, with what they do: the same list as its key
bar and the command palette (``ldtui.ui.keys``), the ones a read-only session hides left out."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ldtui.core.text import literal
from ldtui.ui.keys import read_only, screen_bindings
from ldtui.ui.widgets.keybar import KeyBar


def bindings_table(screen: Screen[Any]) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_column(style="dim")
    t.add_column(style="dim italic", no_wrap=True)
    for binding in screen_bindings(screen):
        keys = screen.app.get_key_display(binding)
        # The id is what [keys] in the configuration remaps.
        t.add_row(keys, binding.description or binding.action, binding.tooltip, binding.id or "")
    if not screen.is_modal:
        t.add_row("ctrl+p", "Command palette", "every action by name", "")
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="help_close", tooltip="Close help")
    ]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(  # safe-text: a class name of ldtui's
                Text(f"Keys: {type(self.target).__name__.removesuffix('Screen')}"),
                classes="dialog-title",
            )
            with VerticalScroll(classes="detail-body"):
                yield Static(bindings_table(self.target))
            notes = (
                "Mouse is optional: every action has a key. Remap one in [keys] by the id on "
                "the right. Over SSH, copying uses OSC 52. Ctrl+N: every message in full."
            )
            if read_only(self.app):
                reason = getattr(self.app, "read_only_reason", "")
                notes += f" Read-only session ({literal(reason)}): create, edit, on/off and delete are off."
            yield Static(Text(notes), classes="field-help")  # safe-text: fixed words and literal()
        yield KeyBar()

    def action_close(self) -> None:
        self.dismiss(None)
