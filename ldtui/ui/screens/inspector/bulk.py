"""Many contexts at once: keys pasted or read from a file (lines, or a CSV column), counts per
verdict, a results table, export as CSV, JSON or JSONL; progress while reading, Esc cancels.

A keys file is streamed as ``ldtui inspect --keys-file`` streams it (checked whole first, then
read, looked up and explained a window at a time): the screen keeps the counts, the first
``BULK_TABLE_ROWS`` results for its table, and spools every result to a private temporary
file, which the export copies. Memory does not grow with the number of keys."""

from __future__ import annotations

import time
from collections.abc import Iterable
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
from ldtui.ui.cells import status_style_for
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
    from ldtui.core.explain import ContextResult, SegmentInfo
    from ldtui.core.reports import Tally
    from ldtui.services.inspect import Inspector, KeySource, ResultSpool
    from ldtui.services.status import Target

# Notes under the counts (unknown segments, unknown refs): at most this many lines.
NOTE_LINES = 4


class BulkScreen(InspectorBase):
    """Many contexts: paste keys or load a file (lines, or a CSV column); counts per verdict;
    export CSV, JSON or JSONL. Progress while reading; Esc cancels."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="bulk_back", tooltip="Cancel the run, or go back"),
        Binding("ctrl+r", "run", "Run", id="bulk_run", tooltip="Look up every key"),
        Binding("ctrl+o", "load", "Load file", id="bulk_load", tooltip="Read keys from the file named"),
        Binding("e", "export", "Export", id="bulk_export", tooltip="Write the results as CSV, JSON or JSONL"),
    ]
    KEY_PRIORITY = ("bulk_back", "bulk_run", "bulk_load", "bulk_export", "quit")
    # Under 30 rows (80x24) the inputs give their borders up (app.tcss, ``-short``): the
    # results table keeps rows for results.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def __init__(self, inspector: Inspector, target: Target | None) -> None:
        super().__init__(inspector, target)
        # The keys file loaded (checked whole, counted; streamed again at each run).
        self.source: KeySource | None = None
        self.file_name: str | None = None
        # The last run: its first rows (for the table), its counts, every result spooled.
        self.rows: list[ContextResult] = []
        self.tally: Tally | None = None
        self.spool: ResultSpool | None = None
        self.total = 0
        self.unknown: list[SegmentInfo] = []
        self.unresolved: list[SegmentInfo] = []
        self.cross_checked = 0  # contexts LaunchDarkly was asked about
        self.disagreements = 0
        self.cross_check_errors: dict[tuple[str, str], str] = {}
        self.running = False
        self.exporting = False
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

    def on_unmount(self) -> None:
        # The spool is the screen's own: it goes with it (a run still going is cancelled with
        # the screen: cancelled first, so it never writes to a spool removed under it).
        self.workers.cancel_group(self, "bulk-run")
        self._discard()
        if self.source is not None:
            self.source.close()

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

    @work(exclusive=True, group="bulk-load", exit_on_error=False, thread=True, description="Checking keys")
    def load_file(self, path: str, column: str | None) -> None:
        from ldtui.core.key_input import KeyInputError
        from ldtui.services.inspect import open_keys

        # The first pass: every line decoded and checked, the keys counted, nothing kept.
        try:
            source = open_keys(path, column)
        except KeyInputError as exc:
            self.app.call_from_thread(self._load_failed, str(exc))
            return
        self.app.call_from_thread(self._loaded, path, source)

    def _load_failed(self, message: str) -> None:
        self.notify(message, title="Keys file", severity="error", markup=False, timeout=10)
        self.query_one("#bulk-source", Static).update(Text(f"not loaded: {literal(message)}"))

    def _loaded(self, path: str, source: KeySource) -> None:
        if self.source is not None:
            self.source.close()
        self.source, self.file_name = source, path
        self.query_one("#bulk-source", Static).update(
            Text(
                f"{source.count:,} keys from {literal(path)} "
                "(Ctrl+R runs; clear the path to use the pasted keys)"
            )
        )

    def _keys(self) -> tuple[Iterable[str], int] | None:
        """The keys to run and how many: the file loaded (streamed), or the pasted ones."""
        from ldtui.core.key_input import KeyInputError, keys_from_text

        if self.source is not None and self.query_one("#bulk-path", LdInput).value.strip():
            return self.source, self.source.count
        try:
            keys = keys_from_text(self.query_one("#bulk-keys", TextArea).text)
        except KeyInputError as exc:
            self.notify(str(exc), title="Keys", severity="error", markup=False)
            return None
        if not keys:
            self.notify("paste some keys (one per line) or load a file", severity="warning")
            return None
        return keys, len(keys)

    # --- the run -----------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            self.notify("a run is in progress (Esc cancels it)", severity="warning")
            return
        if self.exporting:
            self.notify("an export is being written; run again when it is done", severity="warning")
            return
        keys = self._keys()
        if keys is not None:
            self.run_keys(*keys)

    def _discard(self) -> None:
        """Forget the last run: its spool removed, its rows and counts dropped."""
        if self.spool is not None:
            self.spool.close()
        self.spool, self.rows, self.tally = None, [], None
        self.unknown, self.unresolved = [], []
        self.cross_checked = self.disagreements = 0
        self.cross_check_errors = {}

    @work(exclusive=True, group="bulk-run", exit_on_error=False, description="Looking up contexts")
    async def run_keys(self, keys: Iterable[str], total: int) -> None:
        import asyncio

        from ldtui.core.key_input import KeyInputError
        from ldtui.services.inspect import CROSS_CHECK_CONTEXTS, ResultSpool, noted_membership_check
        from ldtui.stores.base import Progress, StoreError

        inspector = self.inspector
        assert inspector is not None
        bar = self.query_one("#bulk-progress", ProgressBar)
        text = self.query_one("#bulk-progress-text", Static)
        self._discard()  # a new run: the last one's spool goes now
        self.show_results()
        bar.update(total=total, progress=0)
        self.running, self.started, self.total = True, self.ldtui.clock(), total
        text.update(f"0 / {total:,} contexts · Esc cancels")

        def progress(p: Progress) -> None:
            bar.update(total=p.total, progress=p.done)
            text.update(f"{p.done:,} / {p.total or 0:,} contexts · Esc cancels")

        try:
            report = await inspector.report_stream(keys, total=total, window=TUI_CHUNK, progress=progress)
            # The CSV's segment columns, as ldtui inspect chooses them: those judged for all.
            self.spool = spool = ResultSpool([k for k in report.segments if k in inspector.wanted])
            self.tally = report.tally
            first = True
            async for window in report.windows:
                noted = noted_membership_check(inspector) if first else None
                if noted is not None:
                    # LaunchDarkly's own word on the first few contexts (bounded calls).
                    self.disagreements = await inspector.cross_check(window)
                    self.cross_checked = min(len(window), CROSS_CHECK_CONTEXTS)
                    asked = {r.key for r in window[:CROSS_CHECK_CONTEXTS]}
                    self.cross_check_errors = {k: v for k, v in noted.failures.items() if k[0] in asked}
                first = False
                spool.add(window)
                room = BULK_TABLE_ROWS - len(self.rows)
                if room > 0:
                    self.rows += window[:room]
                    self.show_table()
                self.show_counts()
            spool.finish(report.store, report.segments, report.tally)
            self.unknown, self.unresolved = report.unknown, report.unresolved
            await self.refresh_state()
        except asyncio.CancelledError:
            self._discard()
            self.show_results()  # the run's counts and rows go with it (there is no export)
            text.update("cancelled; nothing kept (Ctrl+R runs again)")
            raise
        except (StoreError, KeyInputError, OSError) as exc:  # OSError: the file gone since loaded
            message = (
                f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            )
            self._discard()
            self.show_results()
            text.update(Text(f"stopped: {literal(message)}"))
            self.notify(message, title="Bulk lookup", severity="error", markup=False, timeout=10)
            return
        finally:
            self.running = False
        elapsed = self.ldtui.clock() - (self.started or self.ldtui.clock())
        text.update(f"{total:,} contexts in {elapsed:.1f} s")
        self.show_results()
        self.query_one("#bulk-results", LdTable).focus()

    def action_cancel_run(self) -> None:
        if not self.running:
            return
        self.workers.cancel_group(self, "bulk-run")
        self.running = False
        self.query_one("#bulk-progress-text", Static).update("cancelled; nothing kept (Ctrl+R runs again)")

    # --- rendering ---------------------------------------------------------------------------

    def show_results(self) -> None:
        self.show_counts()
        self.show_table()

    def _ld_word(self, r: ContextResult, index: int) -> Text:
        """LaunchDarkly's column for one row: agree, DISAGREE (and where), error or not asked."""
        variables = self.ldtui.css_variables_cached()
        if index >= self.cross_checked:
            return Text("not asked", style="dim")
        if r.disagreements:
            return Text.assemble(
                Text("DISAGREE", style=status_style_for("status-down", True, variables)),
                " ",
                truncate(literal(" ".join(r.disagreements)), 40),
            )
        if any(k == r.key for k, _ in self.cross_check_errors):
            return Text("error", style=status_style_for("status-stale", True, variables))
        return Text("agree") if r.launchdarkly else Text("not asked", style="dim")

    def show_counts(self) -> None:
        variables = self.ldtui.css_variables_cached()
        tally = self.tally
        counts = Text()
        if tally is None:
            self.query_one("#bulk-counts", Static).update(counts)  # safe-text: empty
            return
        counts.append(f"{tally.contexts:,} contexts", style="bold")
        counts.append(f" · {tally.with_data:,} with data · {tally.errors:,} errors")
        counts.append(f" · {tally.orphaned:,} with orphaned refs")
        for seg in sorted(tally.per_segment):
            counts.append(f"\n{truncate(literal(seg), 30)}: ")
            for n, (verdict, count) in enumerate(sorted(tally.per_segment[seg].items())):
                if n:
                    counts.append(", ")
                counts.append(f"{count:,} ")
                counts.append_text(verdict_text(verdict, variables))
        if self.cross_checked:
            counts.append(f"\nLaunchDarkly asked about the first {self.cross_checked:,}: ")
            if self.disagreements:
                counts.append("DISAGREE", style=status_style_for("status-down", True, variables))
                counts.append(
                    f" on {self.disagreements:,} verdict{'s' if self.disagreements > 1 else ''} (the store "
                    "lags behind, or is not the one LaunchDarkly writes: host, table, prefix)"
                )
            else:
                counts.append("it agrees")
            if self.cross_check_errors:
                (why, *_) = self.cross_check_errors.values()
                counts.append(
                    f"; {len(self.cross_check_errors):,} not answered ({truncate(literal(why), 60)})"
                )
        notes = [
            f"segment {truncate(literal(s.key), 30)}: UNKNOWN-SEGMENT, {literal(s.note or 'unknown')}"
            for s in self.unknown
        ]
        unknown_keys = {s.key for s in self.unknown}
        notes += [
            f"unknown refs of {truncate(literal(s.key), 30)}: {literal(s.note or 'generation unknown')}"
            for s in self.unresolved
            if s.key not in unknown_keys
        ]
        for line in notes[:NOTE_LINES]:
            counts.append("\n" + truncate(line, 160))
        if len(notes) > NOTE_LINES:
            counts.append(f"\n… and {len(notes) - NOTE_LINES:,} more segments not judged")
        if tally.contexts > len(self.rows):
            shown = len(self.rows)
            counts.append(f"\nthe table shows the first {shown:,}; the export has all {tally.contexts:,}")
        self.query_one("#bulk-counts", Static).update(counts)  # safe-text: every part above is literal()

    def show_table(self) -> None:
        variables = self.ldtui.css_variables_cached()
        table = self.query_one("#bulk-results", LdTable)
        segments = sorted({a.segment_key for r in self.rows for a in r.answers})
        with_ld = self.inspector is not None and self.inspector.membership_check is not None
        # Verdicts first, the hash last: at 80 columns what matters stays on screen.
        columns = [("key", "Key")]
        columns += [(f"seg:{s}", truncate(literal(s), 24)) for s in segments]
        if with_ld:
            columns.append(("ld", "LaunchDarkly"))
        columns += [
            ("orphaned", "Orphaned"),
            ("unknown", "Unknown refs"),
            ("error", "Error"),
            ("hash", "Hash"),
        ]
        rows = []
        # Cells are shared: one Text per verdict word, one tuple per distinct explanation.
        words = {v: verdict_text(v, variables) for v in VERDICT_VARIABLE}
        dash, empty = Text("-"), Text("")
        shared: dict[int, tuple[Any, ...]] = {}
        for i, r in enumerate(self.rows):
            tail = shared.get(id(r.explanation))
            if tail is None:
                e = r.explanation
                tail = shared[id(e)] = (
                    *(words.get(e.verdicts.get(s, ""), dash) for s in segments),
                    Text(str(len(e.orphaned))) if e.orphaned else empty,
                    Text(str(len(e.unresolved))) if e.unresolved else empty,
                    Text(truncate(literal(e.error), 60)) if e.error else empty,
                )
            ld = (self._ld_word(r, i),) if with_ld else ()
            cells = (Text(truncate(literal(r.key), 40)), *tail[: len(segments)], *ld, *tail[len(segments) :])
            rows.append((str(i), (*cells, Text(r.hash or "-"))))
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
        if self.running:
            self.notify("the run is not finished yet (Esc cancels it)", severity="warning")
            return
        if self.spool is None or not self.spool.finished:
            self.notify("run a lookup first (Ctrl+R)", severity="warning")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.ldtui.clock()))

        def chosen(path: str | None) -> None:
            if path and self.spool is not None:
                self.exporting = True
                self.export(path, self.spool)

        self.app.push_screen(ExportScreen(f"ldtui-inspect-{stamp}.csv"), chosen)

    @work(exclusive=True, group="bulk-export", exit_on_error=False, thread=True, description="Exporting")
    def export(self, path: str, spool: ResultSpool) -> None:
        try:
            written = spool.export(path)
        except (OSError, ValueError) as exc:
            message = f"{path}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.app.call_from_thread(self._exported, f"not exported: {message}", "error")
            return
        self.app.call_from_thread(
            self._exported, f"{spool.count:,} results written to {written}", "information"
        )

    def _exported(self, message: str, severity: Any) -> None:
        self.exporting = False
        self.notify(message, title="Export", severity=severity, markup=False)

    def action_back(self) -> None:
        if self.running:
            self.action_cancel_run()
            return
        self.app.pop_screen()
