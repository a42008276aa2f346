"""The inspector: why is this context (not) in that big segment? Read straight from the store.

Three screens on one engine (``ldtui.services.inspect.Inspector``): one context explained
segment by segment; many contexts at once (pasted or from a file) with counts and export; and
one segment's membership counted per generation across the whole store. Every store read runs
in a worker; text from the store or the API is shown literally."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Footer,
    Header,
    OptionList,
    ProgressBar,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from ldtui.core.text import literal, relative_age, truncate
from ldtui.ui.cells import status_style_for
from ldtui.ui.screens.base import LdModal, LdScreen, set_line
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.core.bigsegments import StoreStatus
    from ldtui.core.explain import ContextResult
    from ldtui.services.inspect import Inspector
    from ldtui.services.status import Target
    from ldtui.ui.app import LdtuiApp

VERDICT_VARIABLE = {
    "included": "status-ok",
    "excluded": "status-down",
    "no-data": "status-off",
    "not-configured": "status-unknown",
    "other-kind": "status-off",
    "unknown": "status-stale",
}
# The bulk table shows this many rows; the counts and the export cover every context.
BULK_TABLE_ROWS = 1_000
# Contexts per store call in the TUI: small enough that no step blocks the screen for long.
TUI_CHUNK = 2_000


def verdict_text(verdict: str, variables: dict[str, str]) -> Text:
    variable = VERDICT_VARIABLE.get(verdict, "status-unknown")
    return Text(verdict.upper(), style=status_style_for(variable, verdict != "no-data", variables))


def freshness_text(
    st: StoreStatus | None,
    error: str | None,
    now_ms: int,
    variables: dict[str, str],
    stale_after_ms: float | None = None,
) -> Text:
    """HEALTHY / STALE / UNAVAILABLE as the SDKs would judge the store now, from its last
    reading: the age and the word agree at every moment (HEALTHY never sits beside "3m ago")."""
    if error is not None:
        return Text.assemble(
            Text("UNAVAILABLE", style=status_style_for("status-down", True, variables)), "  ", literal(error)
        )
    if st is None:
        return Text("checking…")
    if st.available and stale_after_ms is not None:
        from ldtui.core.bigsegments import store_status

        st = store_status(synchronized_on=st.synchronized_on, now_ms=now_ms, stale_after_ms=stale_after_ms)
    variable = "status-down" if not st.available else "status-stale" if st.stale else "status-ok"
    synced = relative_age(st.synchronized_on, now_ms) if st.synchronized_on else "never synchronized"
    detail = synced if st.available else literal(st.reason)
    return Text.assemble(
        Text(st.word, style=status_style_for(variable, st.word != "HEALTHY", variables)), "  ", detail
    )


def target_line(target: Target | None) -> Text:
    if target is None:
        return Text("no store chosen (Ctrl+T chooses one)")
    prefix = literal(target.prefix) if target.prefix else "(none)"
    return Text.assemble(
        (literal(target.name), "bold"), f"  {literal(target.where)} · {target.kind} · prefix {prefix}"
    )


class InspectorBase(LdScreen):
    """What the three inspector screens share: the app, the chosen store, its freshness."""

    def __init__(self, inspector: Inspector | None = None, target: Target | None = None) -> None:
        super().__init__()
        self.inspector = inspector
        self.target = target
        self.state: StoreStatus | None = None
        self.state_error: str | None = None

    @property
    def ldtui(self) -> LdtuiApp:
        return self.app  # type: ignore[return-value]

    def now_ms(self) -> int:
        return int(self.ldtui.clock() * 1000)

    def on_mount(self) -> None:
        # The freshness line's age ticks, like every age on every screen; the store itself is
        # read again every poll interval (the SDKs' own rhythm), while the screen is in view.
        from ldtui.ui.poller import PollLoop

        self.set_interval(1, self._tick_store)
        self.freshness = PollLoop(
            self._reread,
            interval=self._reread_interval,
            active=lambda: self.is_attached and self.on_view,
            wall_clock=self.ldtui.clock,
        )
        self.run_worker(
            self.freshness.run(),
            group="inspector-freshness",
            exit_on_error=False,
            description="Store freshness",
        )

    def _reread_interval(self) -> float:
        cfg = self.ldtui.backend.config if self.ldtui.connected else None
        return cfg.settings.status.poll_interval if cfg is not None else 5.0

    async def _reread(self) -> None:
        # After the first reading (the screen makes that one itself, when a store is chosen).
        if self.inspector is not None and (self.state is not None or self.state_error is not None):
            await self.refresh_state()

    def _tick_store(self) -> None:
        if self.is_attached and self.on_view and self.query("#inspector-store"):
            self.show_store()

    def show_store(self) -> None:
        variables = self.ldtui.css_variables_cached()
        line = target_line(self.target)
        line.append("  ")
        stale_after = self.inspector.stale_after_ms if self.inspector is not None else None
        line.append_text(freshness_text(self.state, self.state_error, self.now_ms(), variables, stale_after))
        set_line(self.query_one("#inspector-store", Static), line, layout=True)  # it may wrap

    async def refresh_state(self) -> None:
        from ldtui.stores.base import StoreUnavailable

        if self.inspector is None:
            return
        try:
            self.state, self.state_error = await self.inspector.store_state(), None
        except StoreUnavailable as exc:
            self.state, self.state_error = None, str(exc)
        self.show_store()


class InspectorScreen(InspectorBase):
    """One context: its hash, its include and exclude sets, and a verdict per big segment."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="inspect_back", tooltip="Back to the previous screen"),
        Binding("ctrl+t,t", "choose_store", "Store", id="inspect_store", tooltip="Choose the store"),
        Binding("k", "focus_key", "Key", id="inspect_key", tooltip="Type another context key"),
        Binding("c", "copy_hash", "Copy hash", id="inspect_copy_hash", tooltip="Copy the hash (OSC 52)"),
        Binding("y,ctrl+y", "copy_result", "Copy result", id="inspect_copy", tooltip="Copy the JSON result"),
        Binding("ctrl+b,b", "bulk", "Bulk", id="inspect_bulk", tooltip="Many keys: pasted or from a file"),
        Binding(
            "ctrl+f,f",
            "discover",
            "Find segments",
            id="inspect_discover",
            tooltip="Scan the store for every segment it holds, and judge each",
        ),
        Binding(
            "ctrl+g,g",
            "segment",
            "Segment view",
            id="inspect_segment",
            tooltip="Counts per generation of the segment",
        ),
    ]

    def __init__(self, want: tuple[str | None, str | None, str | None] | None = None) -> None:
        """``want``: (project, environment, kind) of the store to open with, if any."""
        super().__init__()
        self.want = want
        self.targets: list[Target] = []
        # Why a target cannot be inspected (no store connection: the key to add).
        self.problems: dict[str, str] = {}
        self.result: ContextResult | None = None
        self.inspectors: dict[str, Inspector] = {}
        self.discovering = False

    def compose(self) -> Any:
        yield Header()
        yield Static("loading stores…", id="inspector-store", classes="inspector-line")
        with Horizontal(id="inspector-inputs"):
            yield LdInput(placeholder="context key (Enter looks it up)", id="inspect-key")
            yield LdInput(placeholder="kind (any)", id="inspect-kind")
            yield LdInput(placeholder="segments: key[=generation] …", id="inspect-segments")
        yield Static("", id="inspector-hash", classes="inspector-line")
        yield LdTable(id="inspector-verdicts")
        yield Static("", id="inspector-refs")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#inspector-verdicts", LdTable)
        table.set_columns(
            [("segment", "Segment"), ("gen", "Gen"), ("verdict", "Verdict"), ("reason", "Reason")]
        )
        self.query_one("#inspect-key").focus()
        self.load_targets()

    # --- stores ------------------------------------------------------------------------------

    @work(exclusive=True, group="inspector-targets", exit_on_error=False, description="Loading stores")
    async def load_targets(self) -> None:
        from ldtui.api.errors import ApiError

        service = await self.ldtui.status_service()
        try:
            self.targets = await service.targets()
        except ApiError as exc:
            # The stores can still be read: offer the configured ones.
            self.notify(
                f"LaunchDarkly API: {exc}; showing the stores ldtui knows (generations only as "
                "typed; a store whose prefix only the API can tell is not offered)",
                severity="warning",
                timeout=10,
            )
            self.targets = await service.targets_offline(self.ldtui.last_integrations)
        self.problems = {
            t.id: t.prefix_unknown or service.config_hint(t)
            for t in self.targets
            if t.store is None or t.prefix_unknown
        }
        chosen = None
        if self.want is not None:
            project, environment, kind = self.want
            chosen = next(
                (
                    t
                    for t in self.targets
                    if (t.project, t.environment) == (project, environment)
                    and (kind is None or t.kind == kind)
                ),
                None,
            )
        if chosen is None:
            chosen = next((t for t in self.targets if t.store is not None and not t.prefix_unknown), None)
        if chosen is None:
            self.query_one("#inspector-store", Static).update(
                Text('No store connection is configured: add [stores."project/env"] to the configuration.')
            )
            return
        await self.use_target(chosen)

    async def use_target(self, target: Target) -> None:
        from ldtui.config import ConfigError
        from ldtui.services.inspect import SourceError, inspector_for
        from ldtui.stores.base import StoreError

        self.target = target
        self.state, self.state_error = None, None
        if target.store is None or target.prefix_unknown:
            self.inspector = None
            self.state_error = self.problems.get(target.id, "no store connection is configured")
            self.show_store()
            return
        inspector = self.inspectors.get(target.id)
        if inspector is None:
            try:
                inspector = inspector_for(
                    target,
                    self.ldtui.backend.config,
                    client=self.ldtui.backend.client,
                    reader_factory=self.ldtui.reader_factory,
                    clock=self.ldtui.clock,
                )
            except (SourceError, ConfigError, StoreError, ValueError) as exc:  # say it, keep going
                self.inspector = None
                self.state_error = str(exc)
                self.show_store()
                return
            self.inspectors[target.id] = inspector
        self.inspector = inspector
        self.show_store()
        await self.refresh_state()
        if self.query_one("#inspect-key", LdInput).value:
            await self._lookup()

    def action_choose_store(self) -> None:
        if not self.targets:
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self.switch_target(self.targets[index])

        self.app.push_screen(StorePickerScreen(self.targets, self.target), chosen)

    @work(exclusive=True, group="inspector-targets", exit_on_error=False, description="Opening store")
    async def switch_target(self, target: Target) -> None:
        await self.use_target(target)

    # --- lookups -----------------------------------------------------------------------------

    @on(LdInput.Submitted)
    def submitted(self, event: LdInput.Submitted) -> None:
        event.stop()
        self.lookup()

    def _parsed(self, selector: str, parse: Any, title: str) -> Any:
        """The field's value through ``parse``; on bad input, say why, put the cursor back in
        the field (its text kept) and return ``None``."""
        from ldtui.core.key_input import KeyInputError

        field = self.query_one(selector, LdInput)
        try:
            return parse(field.value)
        except KeyInputError as exc:
            self.notify(str(exc), title=title, severity="error", markup=False)
            field.focus()
            return None

    def _typed_segments(self) -> dict[str, int | None] | None:
        from ldtui.core.key_input import parse_segment_specs

        return self._parsed("#inspect-segments", parse_segment_specs, "Segments")  # type: ignore[no-any-return]

    @work(exclusive=True, group="inspector-lookup", exit_on_error=False, description="Reading the store")
    async def lookup(self) -> None:
        await self._lookup()

    async def _lookup(self) -> None:
        from ldtui.core.key_input import check_key
        from ldtui.stores.base import StoreUnavailable

        key = self._parsed("#inspect-key", check_key, "Context key")
        if key is None:
            return
        if self.inspector is None:
            self.notify(self.state_error or "choose a store first (Ctrl+T)", severity="warning", markup=False)
            return
        typed = self._typed_segments()
        if typed is None:
            return
        self.inspector.set_typed(typed)
        kind = self.query_one("#inspect-kind", LdInput).value.strip() or None
        self.query_one("#inspector-hash", Static).update("reading the store…")
        try:
            (result,) = await self.inspector.inspect([key], kind=kind)
            await self.refresh_state()
        except StoreUnavailable as exc:
            self.state, self.state_error = None, str(exc)
            self.show_store()
            self.query_one("#inspector-hash", Static).update("")
            return
        self.result = result
        self.show_result(result)
        self.query_one("#inspector-verdicts", LdTable).focus()

    def show_result(self, r: ContextResult) -> None:
        variables = self.ldtui.css_variables_cached()
        self.query_one("#inspector-hash", Static).update(
            Text.assemble(("hash ", "bold"), r.hash or "-", "   key ", truncate(literal(r.key), 60))
        )
        table = self.query_one("#inspector-verdicts", LdTable)
        with table.batch():
            table.clear()  # the answers' own order: segments asked for first
            table.set_rows(
                (
                    a.segment_key,
                    (
                        Text(literal(a.segment_key)),
                        Text("-" if a.generation is None else str(a.generation)),
                        verdict_text(a.verdict, variables),
                        Text(literal(a.reason)),
                    ),
                )
                for a in r.answers
            )
            table.fit_widths()
        lines = Text()
        if r.error:
            lines.append("error  ", style="bold")
            lines.append(literal(r.error))
        else:
            if r.membership is None:
                lines.append("The store holds no data for this context: each segment's rules decide.\n")
            lines.append("included  ", style="bold")
            lines.append(literal(" ".join(r.included)) or "-")
            lines.append("\nexcluded  ", style="bold")
            lines.append(literal(" ".join(r.excluded)) or "-")
            for o in r.orphaned:
                lines.append("\norphaned  ", style="bold")
                lines.append(f"{literal(o.ref)} ({o.side}): {literal(o.reason)}")
            for ref in r.unresolved_refs:
                lines.append("\nunknown   ", style="bold")
                lines.append(
                    f"{literal(ref)}: the segment's current generation is unknown (type key=generation)"
                )
            if not r.answers:
                lines.append(
                    "\n\nNo big segment known yet: name some in the segments field (key or key=generation)."
                )
        self.query_one("#inspector-refs", Static).update(lines)

    # --- actions -----------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.discovering:
            self.workers.cancel_group(self, "inspector-discover")
            self.discovering = False
            self.query_one("#inspector-hash", Static).update("finding segments: cancelled")
            return
        self.app.pop_screen()

    def action_discover(self) -> None:
        if self.inspector is None:
            self.notify(self.state_error or "choose a store first (Ctrl+T)", severity="warning", markup=False)
            return
        if not self.discovering:
            self.discover()

    @work(exclusive=True, group="inspector-discover", exit_on_error=False, description="Finding segments")
    async def discover(self) -> None:
        from ldtui.stores.base import Progress

        assert self.inspector is not None
        line = self.query_one("#inspector-hash", Static)
        self.discovering = True
        line.update("finding segments: scanning the store… Esc cancels")

        def progress(p: Progress) -> None:
            line.update(f"finding segments: {p.contexts:,} contexts scanned… Esc cancels")

        try:
            found = await self.inspector.discover(progress=progress)
        finally:
            self.discovering = False
        line.update(Text(f"{len(found)} segments in the store: {literal(' '.join(found)) or '-'}"))
        if self.query_one("#inspect-key", LdInput).value:
            await self._lookup()

    def action_focus_key(self) -> None:
        self.query_one("#inspect-key", LdInput).focus()

    def action_copy_hash(self) -> None:
        if self.result is None or self.result.hash is None:
            self.notify("look up a context key first", severity="warning")
            return
        self.app.copy_to_clipboard(self.result.hash)
        self.notify("Hash copied to the clipboard", markup=False)

    def action_copy_result(self) -> None:
        if self.result is None:
            self.notify("look up a context key first", severity="warning")
            return
        self.app.copy_to_clipboard(json.dumps(self.result.to_json(), ensure_ascii=False))
        self.notify("Result copied to the clipboard (JSON)", markup=False)

    def action_bulk(self) -> None:
        if self.inspector is None:
            self.notify(self.state_error or "choose a store first (Ctrl+T)", severity="warning", markup=False)
            return
        self.app.push_screen(BulkScreen(self.inspector, self.target))

    def action_segment(self) -> None:
        if self.inspector is None:
            self.notify(self.state_error or "choose a store first (Ctrl+T)", severity="warning", markup=False)
            return
        table = self.query_one("#inspector-verdicts", LdTable)
        segment = None
        if table.row_count:
            segment = table.cursor_key
        else:
            typed = self._typed_segments() or {}
            segment = next(iter(typed), None)
        if segment is None:
            self.notify("look up a context, or name a segment, first", severity="warning")
            return
        self.app.push_screen(SegmentScreen(self.inspector, self.target, segment))

    async def on_unmount(self) -> None:
        for inspector in self.inspectors.values():
            await inspector.aclose()


class StorePickerScreen(LdModal):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="store_cancel", tooltip="Close")]

    def __init__(self, targets: list[Target], current: Target | None) -> None:
        super().__init__()
        self.targets = targets
        self.current = current

    def compose(self) -> Any:
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


# --- bulk ---------------------------------------------------------------------------------------


class BulkScreen(InspectorBase):
    """Many contexts: paste keys or load a file (lines, or a CSV column); counts per verdict;
    export CSV or JSON. Progress while reading; Esc cancels."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="bulk_back", tooltip="Cancel the run, or go back"),
        Binding("ctrl+r", "run", "Run", id="bulk_run", tooltip="Look up every key"),
        Binding("ctrl+o", "load", "Load file", id="bulk_load", tooltip="Read keys from the file named"),
        Binding("e", "export", "Export", id="bulk_export", tooltip="Write the results as CSV or JSON"),
    ]

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
        yield Footer()

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


class ExportScreen(LdModal):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export_cancel", tooltip="Close")]

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> Any:
        with Vertical(classes="dialog"):
            yield Static("Export the results", classes="dialog-title")
            yield LdInput(value=self.default, id="export-path")
            yield Static("The extension chooses the format: .csv or .json.", classes="field-help")
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
        if not path.lower().endswith((".csv", ".json")):
            self.notify("the file name must end in .csv or .json", severity="error")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# --- segment view -------------------------------------------------------------------------------


class SegmentScreen(InspectorBase):
    """One segment across the whole store: contexts included and excluded per generation.
    Streams the store's statistics (never loads it into memory); Esc cancels."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="segment_back", tooltip="Cancel the scan, or go back"),
        Binding("r", "count", "Count again", id="segment_count", tooltip="Scan the store again"),
    ]

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
        yield Footer()

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
        self.query_one("#segment-notes", Static).update(notes)

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
