"""One segment across the whole store: contexts included and excluded per generation, the
current one marked, older ones orphaned; the store's statistics streamed, Esc cancels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import (
    Header,
    ProgressBar,
    Static,
)

from ldtui.core.text import literal
from ldtui.ui.cells import status_style_for
from ldtui.ui.screens.inspector.base import InspectorBase
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.services.inspect import Inspector
    from ldtui.services.status import Target


class SegmentScreen(InspectorBase):
    """One segment across the whole store: contexts included and excluded per generation.
    Streams the store's statistics (never loads it into memory); Esc cancels."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="segment_back", tooltip="Cancel the scan, or go back"),
        Binding("r", "count", "Count again", id="segment_count", tooltip="Scan the store again"),
    ]
    KEY_PRIORITY = ("segment_back", "segment_count", "quit")

    def __init__(self, inspector: Inspector, target: Target | None, segment: str) -> None:
        super().__init__(inspector, target)
        self.segment = segment
        self.counting = False

    def compose(self) -> Any:
        yield Header()
        yield Static("", id="inspector-store", classes="inspector-line")
        yield Static(Text.assemble(("segment ", "bold"), literal(self.segment)), id="segment-title")
        with Horizontal(id="bulk-progress-row"):
            yield ProgressBar(id="segment-progress", show_eta=False, total=None)
            yield Static("", id="segment-progress-text")
        yield LdTable(id="segment-counts")
        yield Static("", id="segment-notes")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#segment-counts", LdTable)
        table.set_columns([("gen", "Generation"), ("inc", "Included"), ("exc", "Excluded"), ("what", "")])
        table.focus()
        self.show_store()
        self.action_count()

    def action_count(self) -> None:
        if not self.counting:
            self.count()

    @work(exclusive=True, group="segment-count", exit_on_error=False, description="Counting")
    async def count(self) -> None:
        import asyncio

        from ldtui.stores.base import Progress

        assert self.inspector is not None
        text = self.query_one("#segment-progress-text", Static)
        bar = self.query_one("#segment-progress", ProgressBar)
        bar.update(total=None, progress=0)
        self.counting = True
        text.update("scanning the store… Esc cancels")

        def progress(p: Progress) -> None:
            bar.update(total=None, progress=p.done)
            text.update(f"{p.contexts:,} contexts scanned · Esc cancels")

        started = self.ldtui.clock()
        try:
            await self.refresh_state()
            info, counts, stats = await self.inspector.segment_view(self.segment, progress=progress)
        except asyncio.CancelledError:
            text.update("cancelled")
            raise
        finally:
            self.counting = False
        bar.update(total=1, progress=1)
        text.update(f"{stats.contexts:,} contexts with data, scanned in {self.ldtui.clock() - started:.1f} s")
        variables = self.ldtui.css_variables_cached()
        table = self.query_one("#segment-counts", LdTable)
        rows = []
        for g in counts:
            what = (
                Text("current", style=status_style_for("status-ok", False, variables))
                if g.current
                else Text("orphaned: SDKs ignore it")
            )
            cells = (Text(str(g.generation)), Text(f"{g.included:,}"), Text(f"{g.excluded:,}"), what)
            rows.append((str(g.generation), cells))
        with table.batch():
            table.clear()
            table.set_rows(rows)
            table.fit_widths()
        notes = Text()
        if info.note:
            notes.append(literal(info.note) + "\n")
        if not counts:
            notes.append("No entry of this segment in the store.\n")
        if stats.anomalies:
            notes.append(f"{stats.anomalies:,} entries not in the schema, e.g. ")
            notes.append(literal("; ".join(stats.anomaly_examples)))
        self.query_one("#segment-notes", Static).update(notes)  # safe-text: literal() above

    def action_cancel_count(self) -> None:
        if self.counting:
            self.workers.cancel_group(self, "segment-count")
            self.counting = False
            self.query_one("#segment-progress-text", Static).update("cancelled")

    def action_back(self) -> None:
        if self.counting:
            self.action_cancel_count()
            return
        self.app.pop_screen()
