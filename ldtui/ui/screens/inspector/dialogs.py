"""The inspector's dialogs: which store to read, and where to export the results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from ldtui.core.text import literal, truncate
from ldtui.ui.screens.base import LdModal
from ldtui.ui.widgets.inputs import LdInput

if TYPE_CHECKING:
    from ldtui.services.status import Target


class StorePickerScreen(LdModal):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="store_cancel", tooltip="Close")]

    def __init__(self, targets: list[Target], current: Target | None) -> None:
        super().__init__()
        self.targets = targets
        self.current = current

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static("Inspect which store?", classes="dialog-title")
            options = []
            for t in self.targets:
                label = Text.assemble(
                    (truncate(literal(t.name), 40), "bold"), f"  {literal(t.where)} · {t.kind}"
                )
                if t.store is None:
                    label.append("  (no connection configured)", style="dim")
                elif t.prefix_unknown:
                    label.append("  (prefix unknown without the API)", style="dim")
                options.append(Option(label, disabled=t.store is None or bool(t.prefix_unknown)))
            yield OptionList(*options, id="store-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.targets:
            options.highlighted = self.targets.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportScreen(LdModal):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export_cancel", tooltip="Close")]

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static("Export the results", classes="dialog-title")
            yield LdInput(value=self.default, id="export-path")
            yield Static("The extension chooses the format: .csv, .json or .jsonl.", classes="field-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", compact=True, id="cancel")
                yield Button("Export", compact=True, variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#export-path", LdInput).focus()

    @on(LdInput.Submitted)
    @on(Button.Pressed, "#ok")
    def ok(self, event: Any) -> None:
        event.stop()
        path = self.query_one("#export-path", LdInput).value.strip()
        if not path.lower().endswith((".csv", ".json", ".jsonl")):
            self.notify("the file name must end in .csv, .json or .jsonl", severity="error")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
