"""The integration form, built from the manifest fields, validated live by the core models."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Literal

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static, Switch

from ldtui.core.forms import IntegrationDraft, generate_external_id
from ldtui.core.manifests import MANIFESTS, FormVariable
from ldtui.core.text import literal
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


class IntegrationFormScreen(ModalScreen[IntegrationDraft | None]):
    """Returns the draft when the user saves a valid form; ``None`` on cancel. The draft is the
    screen's own copy: whatever happens next, the caller still has every keystroke."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form_cancel", tooltip="Close without saving"),
        Binding("ctrl+s", "submit", "Save", id="form_save", tooltip="Validate and continue"),
        Binding("ctrl+k", "check", "Check", id="form_check", tooltip="Check the store as typed, before Save"),
    ]

    def __init__(
        self,
        draft: IntegrationDraft,
        *,
        mode: Mode,
        where: str,
        server_error: str | None = None,
    ) -> None:
        super().__init__()
        self.draft = copy.deepcopy(draft)
        self.mode = mode
        self.where = where
        self.server_error = server_error
        self.touched: set[str] = set()
        # Config typed for the other kind survives switching back and forth.
        self._configs: dict[str, dict[str, Any]] = {draft.kind: self.draft.config}

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> Any:
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
                        [(m.name, key) for key, m in MANIFESTS.items()],
                        value=self.draft.kind,
                        allow_blank=False,
                        compact=True,
                        id="kind",
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
                with Horizontal(classes="inline"):
                    yield Static("On  ", classes="field-label")
                    yield Switch(value=self.draft.on, id="f-on")
                yield Static(
                    "Off: LaunchDarkly keeps the configuration but does not sync the store.",
                    classes="field-help",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", compact=True, id="cancel")
                yield Button("Check", compact=True, id="check")
                yield Button(
                    "Create" if self.mode == "create" else "Review changes",
                    compact=True,
                    id="submit",
                    variant="primary",
                )

    def _label(self, text: str, optional: bool) -> Static:
        return Static(f"{text}{' (optional)' if optional else ''}", classes="field-label")

    def _text_field(self, key: str, label: str, value: str, help_text: str, *, optional: bool = False) -> Any:
        yield self._label(label, optional)
        yield LdInput(value=value, compact=True, placeholder=PLACEHOLDERS.get(key, ""), id=f"f-{key}")
        yield Static(help_text, classes="field-help")
        yield Static("", classes="field-error", id=f"e-{key}")

    def _config_field(self, var: FormVariable) -> Any:
        value = self.draft.config.get(var.key, var.default if var.default is not None else "")
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
        if self.server_error:
            self.validate(show_all=True)

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
            self.dismiss(None)
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
        self.dismiss(copy.deepcopy(self.draft))

    def action_check(self) -> None:
        """The doctor's checks on what is typed (the typed user and password are the writer's)."""
        from ldtui.ui.screens.doctor import open_form_check

        open_form_check(self, self.where, self.draft.kind, self.draft.config)

    def action_cancel(self) -> None:
        self.dismiss(None)
