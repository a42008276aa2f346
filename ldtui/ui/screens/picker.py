"""Pick a project, then an environment: both lists paged from the API, projects searchable.

The search has the focus when it opens (type, Enter searches; Down goes to the projects).
Environments that have an integration already say which; one that has both a Redis and a
DynamoDB integration cannot take another and cannot be picked."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from ldtui.core.manifests import MANIFESTS
from ldtui.core.text import literal
from ldtui.ui.cells import KIND_LABEL
from ldtui.ui.screens.base import LdModal
from ldtui.ui.widgets.inputs import LdInput

PAGE = 20
MORE = "\x00more"
Existing = dict[tuple[str, str], frozenset[str]]


class PickerScreen(LdModal):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker_cancel", tooltip="Close"),
        Binding("pagedown", "page(1)", "Next page", id="picker_next", tooltip="Next page of projects"),
        Binding(
            "pageup",
            "page(-1)",
            "Previous page",
            id="picker_prev",
            tooltip="Previous page of projects",
        ),
        Binding(
            "down",
            "to_projects",
            "Projects",
            show=False,
            id="picker_to_list",
            tooltip="From the search to the projects",
        ),
    ]
    KEY_PRIORITY = ("picker_cancel", "picker_next", "picker_prev")

    def __init__(self, existing: Existing | None = None) -> None:
        """``existing``: the kinds of integration each (project, environment) has already."""
        super().__init__()
        self.page_offset = 0
        self.total: int | None = None
        self.query_text = ""
        self.project: str | None = None
        self.env_offset = 0
        self.existing: Existing = existing or {}
        self._focus_list = False  # after a search: its results take the focus

    def compose_dialog(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static("Where? Pick a project, then an environment.", classes="dialog-title")
            yield LdInput(placeholder="search projects (Enter)", id="query")
            with Horizontal(id="picker-lists"):
                yield OptionList(id="projects")
                yield OptionList(id="environments")
            yield Static("", id="pager", classes="field-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", compact=True, id="cancel")

    def on_mount(self) -> None:
        self.query_one("#projects", OptionList).loading = True
        self.query_one("#query", LdInput).focus()
        self.load_projects()

    def action_to_projects(self) -> None:
        self.query_one("#projects", OptionList).focus()

    @work(exclusive=True, group="projects", exit_on_error=False, description="Loading projects")
    async def load_projects(self) -> None:
        service = await self.ldtui.service_ready()
        plist = self.query_one("#projects", OptionList)
        try:
            page = await service.projects_page(offset=self.page_offset, limit=PAGE, query=self.query_text)
        finally:
            plist.loading = False
        self.total = page.total
        plist.clear_options()
        plist.add_options(Option(Text(literal(f"{p.name} ({p.key})")), id=p.key) for p in page.items)
        pages = f"of {max(1, -(-page.total // PAGE))}" if page.total is not None else ""
        # safe-text: page numbers and fixed words
        self.query_one("#pager", Static).update(
            f"projects page {self.page_offset // PAGE + 1} {pages} · PgUp/PgDn to turn"
            if page.items
            else "no project matches"
        )
        if page.items:
            plist.highlighted = 0
            if self._focus_list:
                plist.focus()
        self._focus_list = False

    @work(
        exclusive=True,
        group="environments",
        exit_on_error=False,
        description="Loading environments",
    )
    async def load_environments(self, project: str, offset: int = 0) -> None:
        service = await self.ldtui.service_ready()
        elist = self.query_one("#environments", OptionList)
        page = await service.environments_page(project, offset=offset, limit=PAGE)
        if offset == 0:
            elist.clear_options()
        else:
            elist.remove_option(MORE)
        elist.add_options(self._environment_option(project, e.key, e.name) for e in page.items)
        if page.has_next:
            elist.add_option(Option("more…", id=MORE))
        if offset == 0 and page.items:
            free = [n for n, option in enumerate(elist.options) if not option.disabled]
            elist.highlighted = free[0] if free else None
        self.env_offset = offset + len(page.items)

    def _environment_option(self, project: str, key: str, name: str) -> Option:
        """An environment, and what it has: one integration of each kind at most."""
        kinds = self.existing.get((project, key), frozenset())
        label = Text(literal(f"{name} ({key})"))
        full = bool(MANIFESTS) and all(k in kinds for k in MANIFESTS)
        if full:
            label.append("  has Redis and DynamoDB", style="dim")
        elif kinds:
            label.append(
                "  has " + " and ".join(KIND_LABEL.get(k, k) for k in sorted(kinds)),
                style="dim",
            )
        return Option(label, id=key, disabled=full)

    @on(OptionList.OptionHighlighted, "#projects")
    def _project(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.project:
            self.project = event.option.id
            self.load_environments(self.project)

    @on(OptionList.OptionSelected, "#projects")
    def _project_chosen(self) -> None:
        self.query_one("#environments", OptionList).focus()

    @on(OptionList.OptionSelected, "#environments")
    def _environment(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == MORE and self.project:
            self.load_environments(self.project, self.env_offset)
        elif event.option.id and self.project:
            kinds = self.existing.get((self.project, event.option.id), frozenset())
            if all(k in kinds for k in MANIFESTS):
                self.notify(
                    "This environment has a Redis and a DynamoDB integration already: edit one "
                    "of them instead (e on the list).",
                    severity="warning",
                )
                return
            self.dismiss((self.project, event.option.id))

    @on(Input.Submitted, "#query")
    def _search(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value.strip()
        self.page_offset = 0
        self._focus_list = True
        self.load_projects()

    def action_page(self, delta: int) -> None:
        new = self.page_offset + delta * PAGE
        if new < 0 or (self.total is not None and new >= self.total):
            return
        self.page_offset = new
        self.load_projects()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
