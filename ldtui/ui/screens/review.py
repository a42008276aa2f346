"""Before an edit is sent: what changes, field by field, then the exact JSON Patch. After a
409: what changed on the server."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.patch import human_diff, mask_config, patch_for_display
from ldtui.core.text import literal, literal_lines
from ldtui.ui.screens.base import LdModal


def diff_text(integration: BigSegmentStoreIntegration, patch: list[dict[str, Any]]) -> Text:
    """The change as a person reads it: ``port: "6379" → "6380"``, one field a line."""
    out = Text()
    for n, change in enumerate(human_diff(integration, patch)):
        if n:
            out.append("\n")
        out.append(literal(change.field), style="bold")
        out.append(f": {literal(change.before)} → ")
        out.append(literal(change.after), style="bold")
    return out


class ReviewScreen(LdModal):
    """Shows the change, then the patch exactly as it will be sent (secrets masked). True =
    send."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="review_send", tooltip="Send the patch"),
        Binding("escape", "back", "Back to form", id="review_back", tooltip="Change the edit"),
    ]
    KEY_PRIORITY = ("review_send", "review_back")

    def __init__(self, integration: BigSegmentStoreIntegration, patch: list[dict[str, Any]]) -> None:
        super().__init__()
        self.integration = integration
        self.patch = patch

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(f"Review: {self.integration.name}")), classes="dialog-title")
            if not self.patch:
                yield Static("Nothing changed: there is nothing to send.")
            else:
                yield Static(diff_text(self.integration, self.patch), id="diff", classes="diff")
                yield Static(Text(literal(f"The exact patch: PATCH {self.integration.links.self_.href}")))
                with VerticalScroll(classes="patch"):
                    yield Static(
                        Text(
                            literal_lines(
                                json.dumps(patch_for_display(self.patch), indent=2, ensure_ascii=False)
                            )
                        ),
                        id="patch",
                    )
                # safe-text: a version number and fixed words
                yield Static(
                    f"The first operation makes LaunchDarkly refuse the change (409) if anyone "
                    f"changed the integration since version {self.integration.version} was loaded.",
                    classes="field-help",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Back to form", compact=True, id="back")
                if self.patch:
                    yield Button("Send", compact=True, id="send", variant="primary")

    def on_mount(self) -> None:
        if self.patch:
            self.query_one("#send", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "send")

    def action_back(self) -> None:
        self.dismiss(False)

    def action_send(self) -> None:
        if self.patch:
            self.dismiss(True)


def differences(
    before: BigSegmentStoreIntegration, after: BigSegmentStoreIntegration
) -> list[tuple[str, str, str]]:
    """(field, as you loaded it, as it is now), secrets masked."""
    rows = []
    for label, a, b in (
        ("name", before.name, after.name),
        ("on", str(before.on).lower(), str(after.on).lower()),
        ("tags", ", ".join(before.tags), ", ".join(after.tags)),
    ):
        if a != b:
            rows.append((label, a, b))
    ca = mask_config(before.config, before.integrationKey)
    cb = mask_config(after.config, after.integrationKey)
    for key in sorted(set(ca) | set(cb)):
        if before.config.get(key) != after.config.get(key):
            rows.append((f"config.{key}", str(ca.get(key, "—")), str(cb.get(key, "—"))))
    return rows


class ConflictScreen(LdModal):
    """409: someone changed the integration. Returns "reapply", "form" or "discard"."""

    BINDINGS = [
        Binding(
            "escape",
            "choose('form')",
            "Back to my edit",
            id="conflict_back",
            tooltip="Keep editing",
        )
    ]

    def __init__(self, mine: BigSegmentStoreIntegration, latest: BigSegmentStoreIntegration) -> None:
        super().__init__()
        self.mine = mine
        self.latest = latest

    def compose_dialog(self) -> Any:
        rows = differences(self.mine, self.latest)
        table = Table("field", "when you loaded it", "on the server now", expand=True)
        for field, a, b in rows:
            table.add_row(Text(literal(field)), Text(literal(a)), Text(literal(b)))
        with Vertical(classes="dialog"):
            yield Static("Changed on the server meanwhile", classes="dialog-title")
            yield Static(
                Text(
                    literal(
                        f"Someone changed {self.mine.name!r} since you loaded it (version "
                        f"{self.mine.version} → {self.latest.version}); LaunchDarkly refused your "
                        "patch (409). Your edit is kept. Reapply it on the latest version (you review "
                        "the new patch first), go back to the form, or discard it."
                    )
                )
            )
            with VerticalScroll(classes="patch"):
                # safe-text: every cell of the table is literal()
                yield Static(table if rows else Text("(no visible field changed: only the version)"))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Discard my edit", compact=True, id="discard", variant="error")
                yield Button("Back to my edit", compact=True, id="form")
                yield Button("Reapply on latest", compact=True, id="reapply", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#reapply", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "form")

    def action_choose(self, what: str) -> None:
        self.dismiss(what)
