"""The integration form, built from the manifest fields, validated live by the core models.

Keyboard only: Tab goes through every control in order (store, name, the config fields, tags,
On, then the buttons); Enter in a field moves to the next one, and in the last one saves, as
Ctrl+S does anywhere; Esc asks before throwing typing away. A new integration is on unless
turned off, and saving it off asks first. The button row leaves room for more actions (a Check
of the typed connection) between Save and Cancel."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Literal

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Select, Static, Switch

from ldtui.core.forms import IntegrationDraft, generate_external_id
from ldtui.core.manifests import MANIFESTS, FormVariable
from ldtui.core.text import literal
from ldtui.ui.cells import KIND_LABEL
from ldtui.ui.screens.base import LdModal
from ldtui.ui.widgets.inputs import LdInput

Mode = Literal["create", "edit"]

# Examples shown in empty fields (the manifests give placeholders for port and username only).
PLACEHOLDERS = {
    "name": "e.g. Prod Redis store",
    "tags": "e.g. ops, critical",
    "host": "e.g. redis.internal.example.com",
    "tableName": "e.g. ld-big-segments",
    "roleArn": "arn:aws:iam::123456789012:role/…",
    "externalId": "Generate, or paste the one in the trust policy",
    "password": "no password",
}


class IntegrationFormScreen(LdModal):
    """Returns the draft when the user saves a valid form; ``None`` on cancel. The draft is the
    screen's own copy: whatever happens next, the caller still has every keystroke."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Save", id="form_save", tooltip="Validate and continue"),
        Binding("ctrl+k", "check", "Check", id="form_check", tooltip="Check the store as typed, before Save"),
        Binding("escape", "cancel", "Cancel", id="form_cancel", tooltip="Close (asks first if you typed)"),
    ]
    KEY_PRIORITY = ("form_save", "form_cancel", "form_check")

    def __init__(
        self,
        draft: IntegrationDraft,
        *,
        mode: Mode,
        where: str,
        server_error: str | None = None,
        taken: frozenset[str] = frozenset(),
    ) -> None:
        """``taken``: the integration kinds the environment has already (a create offers only
        the others)."""
        super().__init__()
        self.draft = copy.deepcopy(draft)
        self.mode = mode
        self.where = where
        self.server_error = server_error
        self.taken = taken
        self.touched: set[str] = set()
        # Config typed for the other kind survives switching back and forth.
        self._configs: dict[str, dict[str, Any]] = {draft.kind: self.draft.config}
        # What "dirty" is measured against: the kind and every value as the form first showed
        # them (an input reports its first value as a change: that is not typing).
        self._opened_kind = self.draft.kind
        self._shown: dict[tuple[str, str], Any] = {("", "on"): self.draft.on}

    # --- layout ------------------------------------------------------------------------------

    def compose_dialog(self) -> Any:
        manifest = MANIFESTS[self.draft.kind]
        title = (
            f"New {manifest.name} in {self.where}"
            if self.mode == "create"
            else f"Edit {self.draft.name or 'integration'} ({self.where})"
        )
        with Vertical(classes="dialog"):
            yield Static(Text(literal(title)), classes="dialog-title")
            if self.server_error:
                yield Static(Text(literal(self.server_error)), classes="warning-text", id="server-error")
            with VerticalScroll(classes="form-body"):
                if self.mode == "create":
                    yield Static("Store", classes="field-label")
                    yield Select(
                        [
                            (m.name, key)
                            for key, m in MANIFESTS.items()
                            if key not in self.taken or key == self.draft.kind
                        ],
                        value=self.draft.kind,
                        allow_blank=False,
                        compact=True,
                        id="kind",
                    )
                    if self.taken:
                        names = " and ".join(KIND_LABEL.get(k, k) for k in sorted(self.taken))
                        yield Static(  # safe-text: names are ldtui's own words (KIND_LABEL)
                            f"This environment has a {names} integration already (one of each kind).",
                            classes="field-help",
                        )
                yield from self._text_field(
                    "name", "Name", self.draft.name, "How operators will recognise it."
                )
                for var in manifest.fields:
                    yield from self._config_field(var)
                yield from self._text_field(
                    "tags",
                    "Tags",
                    self.draft.tags_text,
                    "Comma-separated, e.g. ops, critical.",
                    optional=True,
                )
                with Horizontal(classes="switch-row"):
                    yield Static("On", classes="switch-label")
                    yield Switch(value=self.draft.on, id="f-on")
                    yield Static("", id="on-word", classes="switch-word")
                yield Static(
                    "Off: LaunchDarkly keeps the configuration but does not sync the store.",
                    classes="field-help",
                )
            with Horizontal(classes="dialog-buttons", id="form-buttons"):
                # Save first: Tab from the last field reaches it before Cancel. (Room for
                # more, between the two.)
                yield Button("Save", compact=True, id="submit", variant="primary")
                yield Button("Check", compact=True, id="check")
                yield Button("Cancel", compact=True, id="cancel")
            yield Static(
                "Enter: the next field; in the last one, or Ctrl+S anywhere: "
                + ("review the exact patch." if self.mode == "edit" else "save."),
                classes="field-help",
                id="form-hint",
            )

    def _label(self, text: str, optional: bool) -> Static:
        # safe-text: labels are the manifest's (ldtui's copy of the spec), not the API's
        return Static(f"{text}{' (optional)' if optional else ''}", classes="field-label")

    def _text_field(self, key: str, label: str, value: str, help_text: str, *, optional: bool = False) -> Any:
        self._shown.setdefault(("", key), value)
        yield self._label(label, optional)
        yield LdInput(value=value, compact=True, placeholder=PLACEHOLDERS.get(key, ""), id=f"f-{key}")
        yield Static(help_text, classes="field-help")  # safe-text: the manifest's help text
        yield Static("", classes="field-error", id=f"e-{key}")

    def _config_field(self, var: FormVariable) -> Any:
        value = self.draft.config.get(var.key, var.default if var.default is not None else "")
        # (A secret's field starts empty: "unchanged".)
        self._shown.setdefault((self.draft.kind, var.key), "" if var.is_secret else value)
        yield self._label(var.label, var.is_optional)
        if var.type == "boolean":
            yield Switch(value=bool(value), id=f"f-{var.key}")
        elif var.type == "enum":
            yield Select(
                [(v, v) for v in var.allowed_values],
                value=value if value in var.allowed_values else Select.NULL,
                prompt="choose…",
                compact=True,
                id=f"f-{var.key}",
            )
        elif var.type == "generated":
            read_only = self.mode == "edit" and bool(value)
            with Horizontal(classes="inline"):
                yield LdInput(
                    value=str(value or ""),
                    compact=True,
                    placeholder=PLACEHOLDERS.get(var.key, ""),
                    id=f"f-{var.key}",
                    disabled=read_only,
                )
                if not read_only:
                    yield Button("Generate", compact=True, id=f"gen-{var.key}")
        elif var.is_secret:
            placeholder = "unchanged — type to replace" if self.mode == "edit" else PLACEHOLDERS["password"]
            yield LdInput(value="", password=True, compact=True, placeholder=placeholder, id=f"f-{var.key}")
        else:
            yield LdInput(
                value=str(value),
                compact=True,
                placeholder=var.placeholder or PLACEHOLDERS.get(var.key, ""),
                id=f"f-{var.key}",
            )
        yield Static(literal(var.description), classes="field-help")
        yield Static("", classes="field-error", id=f"e-{var.key}")

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self._show_on()
        if self.server_error:
            self.validate(show_all=True)

    def _show_on(self) -> None:
        """The switch's state as a word too (never colour or position alone)."""
        on = self.query_one("#f-on", Switch).value
        self.query_one("#on-word", Static).update("on: synced" if on else "off: not synced")

    @property
    def dirty(self) -> bool:
        """Anything typed or changed since the form opened (a server error's form counts the
        typing it came back with)."""
        if self.draft.kind != self._opened_kind or (self.server_error and self.touched):
            return True
        current = {"name": self.draft.name, "tags": self.draft.tags_text, "on": self.draft.on}
        for (kind, key), first in self._shown.items():
            if kind and kind != self.draft.kind:
                continue
            now = current[key] if not kind else self.draft.config.get(key, first)
            if (now or None) != (first or None) and now != first:
                return True
        return False

    # --- moving through the fields -------------------------------------------------------------

    def _fields(self) -> list[Any]:
        """The text fields in their order on screen (enabled ones)."""
        return [w for w in self.query(Input) if w.id and w.id.startswith("f-") and not w.disabled]

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        """Enter: the next field, or in the last one, save."""
        event.stop()
        fields = self._fields()
        if event.input in fields and event.input is not fields[-1]:
            fields[fields.index(event.input) + 1].focus()
        else:
            self.action_submit()

    # --- live validation ---------------------------------------------------------------------

    def _set_value(self, key: str, value: Any) -> None:
        if key == "name":
            self.draft.name = value
        elif key == "tags":
            self.draft.tags_text = value
        elif key == "on":
            self.draft.on = bool(value)
        else:
            var = MANIFESTS[self.draft.kind].field(key)
            if var.is_secret:
                self.draft.config[key] = value or None
            else:
                self.draft.config[key] = value
        self.touched.add(key)
        self.validate()

    @on(Input.Changed)
    def _input(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("f-"):
            self._set_value(event.input.id[2:], event.value)

    @on(Switch.Changed)
    def _switch(self, event: Switch.Changed) -> None:
        if event.switch.id and event.switch.id.startswith("f-"):
            self._set_value(event.switch.id[2:], event.value)
        if event.switch.id == "f-on":
            self._show_on()

    @on(Select.Changed)
    async def _select(self, event: Select.Changed) -> None:
        if event.select.id == "kind":
            kind = str(event.value)
            if kind != self.draft.kind:
                self._configs[self.draft.kind] = self.draft.config
                self.draft.kind = kind
                self.draft.config = self._configs.setdefault(kind, {})
                self.touched -= {f.key for m in MANIFESTS.values() for f in m.fields}
                await self.recompose()
        elif event.select.id and event.select.id.startswith("f-"):
            value = None if event.value is Select.NULL else event.value
            self._set_value(event.select.id[2:], value)

    def validate(self, *, show_all: bool = False) -> dict[str, str]:
        errors = self.draft.validate().errors
        keys = ["name", "tags", *(f.key for f in MANIFESTS[self.draft.kind].fields)]
        for key in keys:
            try:
                box = self.query_one(f"#e-{key}", Static)
            except Exception:
                continue
            message = errors.get(key)
            shown = message is not None and (show_all or key in self.touched)
            box.update(Text(literal(message or "")))
            box.set_class(shown, "-shown")
        return errors

    # --- actions -----------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "cancel":
            self.action_cancel()
        elif button == "submit":
            self.action_submit()
        elif button == "check":
            self.action_check()
        elif button.startswith("gen-"):
            key = button[4:]
            value = generate_external_id()
            self.query_one(f"#f-{key}", Input).value = value
            self._set_value(key, value)
            self.notify("Put this External Id in the IAM role's trust policy.", markup=False)

    def action_submit(self) -> None:
        errors = self.validate(show_all=True)
        if errors:
            first = next(iter(errors))
            with contextlib.suppress(Exception):
                self.query_one(f"#f-{first}").focus()
            self.notify(
                f"{len(errors)} field{'s' if len(errors) > 1 else ''} to fix: {next(iter(errors.values()))}",
                severity="warning",
                markup=False,
            )
            return
        if self.mode == "create" and not self.draft.on:
            from ldtui.ui.screens.dialogs import ConfirmScreen

            def decided(yes: bool | None) -> None:
                if yes:
                    self.dismiss(copy.deepcopy(self.draft))
                else:
                    self.query_one("#f-on", Switch).focus()

            self.app.push_screen(
                ConfirmScreen(
                    "Create it off?",
                    "On is off: LaunchDarkly will keep the configuration but not sync the store "
                    "until the integration is turned on (o on the list).",
                    "Create it off",
                    cancel="Back to the form",
                ),
                decided,
            )
            return
        self.dismiss(copy.deepcopy(self.draft))

    def action_check(self) -> None:
        """The doctor's checks on what is typed (the typed user and password are the writer's)."""
        from ldtui.ui.screens.doctor import open_form_check

        open_form_check(self, self.where, self.draft.kind, self.draft.config)

    def action_cancel(self) -> None:
        if not self.dirty:
            self.dismiss(None)
            return
        from ldtui.ui.screens.dialogs import ConfirmScreen

        def decided(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(
                "Discard what you typed?",
                "The form has changes that were not saved. Discard them, or go back to the form.",
                "Discard",
                cancel="Back to the form",
            ),
            decided,
        )
