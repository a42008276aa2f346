"""The doctor: every requirement LaunchDarkly's docs list for a big segment store, checked for
one integration (``k`` on the list or the status panel) or for what a form holds before Save
(the form's **Check**). The checks run in a worker with their progress shown; each line says
its result as a word (PASS, WARN, FAIL, SKIP), coloured only as well as that.

The same service as ``ldtui doctor`` (``ldtui.services.doctor``): only the rendering differs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from ldtui.core.doctor import Check, exit_code
from ldtui.core.text import literal
from ldtui.ui.screens.base import LdModal

# Results as words; the class only colours them (theme variables in app.tcss).
RESULT_CLASS = {"PASS": "status-ok", "WARN": "status-stale", "FAIL": "status-down", "SKIP": "status-unknown"}
SUMMARY = {0: "every check passed (or was skipped)", 1: "warnings", 2: "failures"}


@dataclass(frozen=True)
class DoctorRequest:
    """What to check: an existing integration, a configured store no integration uses
    (``store_key``), or (``typed`` set) what a form holds."""

    project: str
    environment: str
    kind: str
    typed: dict[str, Any] | None = field(default=None, repr=False)
    store_key: str | None = None

    @property
    def title(self) -> str:
        if self.store_key is not None:
            return f"Doctor: stores.{self.store_key}"
        where = f"{self.project}/{self.environment}/{self.kind}"
        return f"Doctor: {where} as typed (before Save)" if self.typed is not None else f"Doctor: {where}"


class CheckLine(Static):
    """One check: its result as a word, its id, what was found, and the fix."""

    def __init__(self, check: Check) -> None:
        text = Text()
        text.append(f"{check.result:<4}", style="bold")
        text.append(f"  {check.id}\n")
        text.append(f"      {literal(check.found)}")
        if check.fix and check.result in ("WARN", "FAIL"):
            text.append(f"\n      fix: {literal(check.fix)}")
        super().__init__(text, classes=f"doctor-check {RESULT_CLASS[check.result]}")
        self.check = check


class DoctorScreen(LdModal):
    BINDINGS = [
        Binding("escape", "close", "Close", id="doctor_close", tooltip="Back to where you were"),
        Binding("r", "rerun", "Run again", id="doctor_rerun", tooltip="Run every check again"),
        Binding("c", "copy", "Copy", id="doctor_copy", tooltip="Copy the results as JSON (OSC 52)"),
    ]
    KEY_PRIORITY = ("doctor_close", "doctor_rerun", "doctor_copy")

    def __init__(self, request: DoctorRequest, *, results: list[Check] | None = None) -> None:
        """``results``: show these (an earlier run's) instead of running the checks at once."""
        super().__init__()
        self.request = request
        self.checks: list[Check] = []
        self.running = False
        self._results = results

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.request.title)), classes="dialog-title")
            yield Static("starting…", id="doctor-progress", classes="field-help")
            yield VerticalScroll(id="doctor-results", classes="form-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run again", compact=True, id="doctor-rerun")
                yield Button("Close", compact=True, id="doctor-close", variant="primary")

    def on_mount(self) -> None:
        if self._results is not None:
            self.show(self._results)
        else:
            self.action_rerun()

    def progress(self, text: str) -> None:
        self.query_one("#doctor-progress", Static).update(Text(literal(text)))

    def action_rerun(self) -> None:
        if not self.running:
            self.run_checks()

    @work(exclusive=True, group="doctor", exit_on_error=False, description="Running the doctor")
    async def run_checks(self) -> None:
        from ldtui.services.doctor import DoctorService
        from ldtui.services.inspect import IntegrationRef

        self.running = True
        try:
            app: Any = self.app
            self.progress("connecting to LaunchDarkly…")
            await app.status_service()  # the backend up, its configuration at hand
            backend = app.backend
            service = DoctorService(backend.client, backend.config, clock=app.clock)
            r = self.request
            if r.typed is not None:
                targets = [await service.form_target_for(r.project, r.environment, r.kind, r.typed)]
            elif r.store_key is not None:
                targets = await service.store_targets(r.store_key)
            else:
                targets = await service.targets(IntegrationRef(r.project, r.environment, r.kind))
            checks = await service.run(targets, progress=self.progress)
        except Exception as exc:
            self.progress(f"the checks could not run: {exc}")
            raise
        finally:
            self.running = False
        self.show(checks)

    def show(self, checks: list[Check]) -> None:
        self.checks = checks
        results = self.query_one("#doctor-results", VerticalScroll)
        results.remove_children()
        results.mount_all([CheckLine(c) for c in checks])
        counts = {r: sum(1 for c in checks if c.result == r) for r in RESULT_CLASS}
        summary = ", ".join(f"{n} {r}" for r, n in counts.items())
        self.progress(f"{SUMMARY[exit_code(checks)]}: {summary}")

    def action_copy(self) -> None:
        if not self.checks:
            self.notify("Nothing to copy yet.", markup=False)
            return
        document = {"checks": [c.to_json() for c in self.checks], "exitCode": exit_code(self.checks)}
        self.app.copy_to_clipboard(json.dumps(document))
        self.notify("Copied the results as JSON.", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "doctor-close":
            self.action_close()
        elif event.button.id == "doctor-rerun":
            self.action_rerun()


def open_doctor(
    screen: Any,
    project: str | None,
    environment: str | None,
    kind: str | None,
    *,
    store_key: str | None = None,
) -> None:
    """Push the doctor for an integration (or a configured store), or say why not."""
    if store_key is not None and kind:
        screen.app.push_screen(
            DoctorScreen(DoctorRequest(project or "", environment or "", kind, store_key=store_key))
        )
        return
    if not (project and environment and kind):
        screen.notify("Select an integration first.", severity="warning", markup=False)
        return
    screen.app.push_screen(DoctorScreen(DoctorRequest(project, environment, kind)))


def open_form_check(screen: Any, where: str, kind: str, config: dict[str, Any]) -> None:
    """The form's Check: the doctor on what is typed (``where`` is ``project/environment``)."""
    project, _, environment = where.partition("/")
    screen.app.push_screen(DoctorScreen(DoctorRequest(project, environment, kind, typed=dict(config))))
