"""Many contexts at once: keys pasted or read from a file (lines, or a CSV column), counts per
verdict, a results table, export as CSV or JSON; progress while reading, Esc cancels."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Header,
    ProgressBar,
    Static,
    TextArea,
)

from ldtui.core.text import literal, truncate
from ldtui.ui.screens.inspector.base import (
    BULK_TABLE_ROWS,
    TUI_CHUNK,
    VERDICT_VARIABLE,
    InspectorBase,
    verdict_text,
)
from ldtui.ui.screens.inspector.dialogs import ExportScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.core.explain import ContextResult
    from ldtui.services.inspect import Inspector
    from ldtui.services.status import Target


class BulkScreen(InspectorBase):
    """Many contexts: paste keys or load a file (lines, or a CSV column); counts per verdict;
    export CSV or JSON. Progress while reading; Esc cancels."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="bulk_back", tooltip="Cancel the run, or go back"),
        Binding("ctrl+r", "run", "Run", id="bulk_run", tooltip="Look up every key"),
        Binding("ctrl+o", "load", "Load file", id="bulk_load", tooltip="Read keys from the file named"),
        Binding("e", "export", "Export", id="bulk_export", tooltip="Write the results as CSV or JSON"),
    ]
    KEY_PRIORITY = ("bulk_back", "bulk_run", "bulk_load", "bulk_export", "quit")

    def __init__(self, inspector: Inspector, target: Target | None) -> None:
        super().__init__(inspector, target)
        self.file_keys: list[str] | None = None
        self.file_name: str | None = None
        self.results: list[ContextResult] = []
        self.running = False
        self.started: float | None = None

    def compose(self) -> Any:
        yield Header()
        yield Static("", id="inspector-store", classes="inspector-line")
        with Horizontal(id="bulk-inputs"):
            yield TextArea(id="bulk-keys", soft_wrap=False, show_line_numbers=False)
            with Vertical(id="bulk-file"):
                yield LdInput(placeholder="keys file (Enter loads it)", id="bulk-path")
                yield LdInput(placeholder="CSV column (default: key)", id="bulk-column")
                yield Static(
                    "Paste keys on the left, one per line, or load a file. Ctrl+R runs.",
                    id="bulk-source",
                    classes="field-help",
                )
        with Horizontal(id="bulk-progress-row"):
            yield ProgressBar(id="bulk-progress", show_eta=False)
            yield Static("", id="bulk-progress-text")
        yield Static("", id="bulk-counts")
        yield LdTable(id="bulk-results")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#bulk-keys", TextArea).focus()
        self.show_store()
        self.run_worker(self.refresh_state(), group="bulk-state", exit_on_error=False)

    # --- keys --------------------------------------------------------------------------------

    @on(LdInput.Submitted, "#bulk-path, #bulk-column")
    def path_submitted(self, event: LdInput.Submitted) -> None:
        event.stop()
        self.action_load()

    def action_load(self) -> None:
        path = self.query_one("#bulk-path", LdInput).value.strip()
        if not path:
            self.notify("type the path of a keys file first", severity="warning")
            self.query_one("#bulk-path", LdInput).focus()
            return
        self.load_file(path, self.query_one("#bulk-column", LdInput).value.strip() or None)

    @work(exclusive=True, group="bulk-load", exit_on_error=False, thread=True, description="Reading keys")
    def load_file(self, path: str, column: str | None) -> None:
        from ldtui.core.key_input import KeyInputError
        from ldtui.services.inspect import read_keys_file

        try:
            keys = read_keys_file(path, column)
        except KeyInputError as exc:
            self.app.call_from_thread(self._load_failed, str(exc))
            return
        self.app.call_from_thread(self._loaded, path, keys)

    def _load_failed(self, message: str) -> None:
        self.notify(message, title="Keys file", severity="error", markup=False, timeout=10)
        self.query_one("#bulk-source", Static).update(Text(f"not loaded: {literal(message)}"))

    def _loaded(self, path: str, keys: list[str]) -> None:
        self.file_keys, self.file_name = keys, path
        self.query_one("#bulk-source", Static).update(
            Text(
                f"{len(keys):,} keys from {literal(path)} "
                "(Ctrl+R runs; clear the path to use the pasted keys)"
            )
        )

    def _keys(self) -> list[str] | None:
        from ldtui.core.key_input import KeyInputError, keys_from_text

        if self.file_keys is not None and self.query_one("#bulk-path", LdInput).value.strip():
            return self.file_keys
        try:
            keys = keys_from_text(self.query_one("#bulk-keys", TextArea).text)
        except KeyInputError as exc:
            self.notify(str(exc), title="Keys", severity="error", markup=False)
            return None
        if not keys:
            self.notify("paste some keys (one per line) or load a file", severity="warning")
            return None
        return keys

    # --- the run -----------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            self.notify("a run is in progress (Esc cancels it)", severity="warning")
            return
        keys = self._keys()
        if keys is not None:
            self.run_keys(keys)

    @work(exclusive=True, group="bulk-run", exit_on_error=False, description="Looking up contexts")
    async def run_keys(self, keys: list[str]) -> None:
        import asyncio

        from ldtui.stores.base import Progress

        bar = self.query_one("#bulk-progress", ProgressBar)
        text = self.query_one("#bulk-progress-text", Static)
        bar.update(total=len(keys), progress=0)
        self.running, self.started = True, self.ldtui.clock()
        text.update(f"0 / {len(keys):,} contexts · Esc cancels")

        def progress(p: Progress) -> None:
            bar.update(total=p.total, progress=p.done)
            text.update(f"{p.done:,} / {p.total or 0:,} contexts · Esc cancels")

        try:
            results = await self.inspector.inspect(keys, progress=progress, chunk=TUI_CHUNK)  # type: ignore[union-attr]
            await self.refresh_state()
        except asyncio.CancelledError:
            text.update("cancelled; the previous results are kept")
            raise
        finally:
            self.running = False
        elapsed = self.ldtui.clock() - (self.started or self.ldtui.clock())
        text.update(f"{len(keys):,} contexts in {elapsed:.1f} s")
        self.results = results
        self.show_results()
        self.query_one("#bulk-results", LdTable).focus()

    def action_cancel_run(self) -> None:
        if not self.running:
            return
        self.workers.cancel_group(self, "bulk-run")
        self.running = False
        self.query_one("#bulk-progress-text", Static).update("cancelled; the previous results are kept")

    def show_results(self) -> None:
        from ldtui.core.reports import Tally

        variables = self.ldtui.css_variables_cached()
        tally = Tally()
        tally.add(self.results)
        segments = sorted(tally.per_segment)
        counts = Text()
        counts.append(f"{tally.contexts:,} contexts", style="bold")
        counts.append(
            f" · {tally.with_data:,} with data · {tally.errors:,} errors"
            f" · {tally.orphaned:,} with orphaned refs"
        )
        for seg in segments:
            counts.append(f"\n{truncate(literal(seg), 30)}: ")
            for n, (verdict, count) in enumerate(sorted(tally.per_segment[seg].items())):
                if n:
                    counts.append(", ")
                counts.append(f"{count:,} ")
                counts.append_text(verdict_text(verdict, variables))
        shown = min(len(self.results), BULK_TABLE_ROWS)
        if shown < len(self.results):
            counts.append(f"\nthe table shows the first {shown:,}; the export has all {len(self.results):,}")
        self.query_one("#bulk-counts", Static).update(counts)
        table = self.query_one("#bulk-results", LdTable)
        # Verdicts first, the hash last: at 80 columns what matters stays on screen.
        columns = [("key", "Key")]
        columns += [(f"seg:{s}", truncate(literal(s), 24)) for s in segments]
        columns += [("orphaned", "Orphaned"), ("error", "Error"), ("hash", "Hash")]
        rows = []
        # Cells are shared: one Text per verdict word, one tuple per distinct explanation.
        words = {v: verdict_text(v, variables) for v in VERDICT_VARIABLE}
        dash, empty = Text("-"), Text("")
        shared: dict[int, tuple[Any, ...]] = {}
        for i, r in enumerate(self.results[:shown]):
            tail = shared.get(id(r.explanation))
            if tail is None:
                e = r.explanation
                tail = shared[id(e)] = (
                    *(words.get(e.verdicts.get(s, ""), dash) for s in segments),
                    Text(str(len(e.orphaned))) if e.orphaned else empty,
                    Text(truncate(literal(e.error), 60)) if e.error else empty,
                )
            rows.append((str(i), (Text(truncate(literal(r.key), 40)), *tail, Text(r.hash or "-"))))
        widths = {key: len(label) for key, label in columns}
        for _, cells in rows:
            for (key, _), c in zip(columns, cells, strict=True):
                widths[key] = max(widths[key], c.cell_len)
        with table.batch():
            table.clear()
            table.set_columns(columns)
            table.set_widths(widths)
            table.set_rows(rows)

    # --- export ------------------------------------------------------------------------------

    def action_export(self) -> None:
        if not self.results:
            self.notify("run a lookup first (Ctrl+R)", severity="warning")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.ldtui.clock()))

        def chosen(path: str | None) -> None:
            if path:
                self.export(path)

        self.app.push_screen(ExportScreen(f"ldtui-inspect-{stamp}.csv"), chosen)

    @work(exclusive=True, group="bulk-export", exit_on_error=False, thread=True, description="Exporting")
    def export(self, path: str) -> None:
        from ldtui.core.reports import store_json
        from ldtui.services.inspect import export_results

        assert self.inspector is not None
        store: dict[str, object] = {"kind": self.inspector.kind, "prefix": self.inspector.prefix}
        if self.state is not None:
            store = store_json(self.inspector.kind, self.inspector.prefix, self.state)
        try:
            written = export_results(path, self.results, dict(self.inspector.segments), store)
        except (OSError, ValueError) as exc:
            message = f"{path}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.app.call_from_thread(
                self.notify, f"not exported: {message}", title="Export", severity="error", markup=False
            )
            return
        self.app.call_from_thread(
            self.notify, f"{len(self.results):,} results written to {written}", title="Export", markup=False
        )

    def action_back(self) -> None:
        if self.running:
            self.action_cancel_run()
            return
        self.app.pop_screen()
