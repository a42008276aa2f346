"""Small dialogs: a yes/no confirmation, and deletion confirmed by typing the name."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from ldtui.core.text import literal
from ldtui.ui.screens.base import LdModal
from ldtui.ui.widgets.inputs import LdInput


class ConfirmScreen(LdModal):
    """True for the confirming button (focused first: Enter confirms), False for Esc."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm_cancel", tooltip="Do nothing")]

    def __init__(self, title: str, message: str, confirm: str = "Confirm", *, cancel: str = "Cancel") -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.confirm = confirm
        self.cancel_label = cancel

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.title_text)), classes="dialog-title")
            yield Static(Text(literal(self.message)))
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.cancel_label, compact=True, id="cancel")
                yield Button(self.confirm, compact=True, id="confirm", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)


class DeleteScreen(LdModal):
    """Deleting needs the integration's name typed exactly: a slip of one key cannot do it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="delete_cancel", tooltip="Keep it")]

    def __init__(self, name: str, where: str, *, changed: str | None = None) -> None:
        super().__init__()
        self.target = name
        self.where = where
        # Set when the integration changed since the first confirmation: said before all else.
        self.changed = changed

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(Text("Delete integration"), classes="dialog-title")
            if self.changed:
                yield Static(
                    Text(
                        "It changed since you asked: "
                        f"{literal(self.changed)}. Check it is still the one to delete.",
                        style="bold",
                    ),
                    classes="warning-text",
                )
            yield Static(
                Text.assemble(
                    "This deletes ",
                    (literal(self.target), "bold"),
                    f" ({literal(self.where)}). LaunchDarkly stops syncing its store; the data "
                    "already in the store stays. Type the integration's name to confirm.",
                )
            )
            yield LdInput(placeholder="the integration's name", id="confirm-name")
            yield Static("", id="name-check", classes="field-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", compact=True, id="cancel")
                yield Button("Delete", compact=True, id="delete", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _matches(self, typed: str) -> bool:
        """The name as it is, or as it is shown (control characters spelled out: a name
        holding an escape can only be typed the way the screen shows it)."""
        return typed == self.target or typed == literal(self.target)

    def _say(self, typed: str, *, submitted: bool = False) -> None:
        """Feedback as you type: whether it is the name yet, and what Enter does."""
        check = self.query_one("#name-check", Static)
        shown = literal(self.target)
        if self._matches(typed):
            check.update(Text("That is the name: Enter (or Delete) deletes it."))
        elif not typed:
            check.update(Text("Nothing typed yet." if submitted else ""))
        elif shown.startswith(typed):
            check.update(Text(f"So far so good: {len(shown) - len(typed):d} more character(s)."))
        else:
            # safe-text: shown is literal(self.target)
            check.update(Text.assemble("Not the name: type ", (shown, "bold"), " exactly (case counts)."))
        check.set_class(
            bool(typed) and not self._matches(typed) and not shown.startswith(typed), "warning-text"
        )

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#delete", Button).disabled = not self._matches(event.value)
        self._say(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if self._matches(event.value):
            self.dismiss(True)
        else:
            self._say(event.value, submitted=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")

    def action_cancel(self) -> None:
        self.dismiss(False)
