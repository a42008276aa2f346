"""The inspector's first screen: one context explained segment by segment (its hash, its include
and exclude sets, a verdict per big segment with its generation and reason); from here, many
keys at once (``b``) and one segment across the store (``g``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import (
    Header,
    Static,
)

from ldtui.core.text import literal, truncate
from ldtui.ui.cells import status_style_for
from ldtui.ui.screens.inspector.base import InspectorBase, verdict_text
from ldtui.ui.screens.inspector.bulk import BulkScreen
from ldtui.ui.screens.inspector.dialogs import StorePickerScreen
from ldtui.ui.screens.inspector.segment import SegmentScreen
from ldtui.ui.widgets.inputs import LdInput
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable

if TYPE_CHECKING:
    from ldtui.core.explain import ContextResult
    from ldtui.services.inspect import Inspector
    from ldtui.services.status import Target


# LaunchDarkly's answers (getSegmentMembershipForContext) as the LaunchDarkly column says them.
LAUNCHDARKLY_WORDS = {"included": "included", "excluded": "excluded", "no-data": "not included"}


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
    KEY_PRIORITY = (
        "inspect_back",
        "inspect_store",
        "inspect_bulk",
        "inspect_segment",
        "inspect_discover",
        "inspect_key",
        "inspect_copy_hash",
        "inspect_copy",
        "quit",
    )

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
        self.ld_errors: dict[tuple[str, str], str] = {}

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
        yield KeyBar()

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
        from ldtui.services.inspect import noted_membership_check
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
            self.ld_errors = {}
            noted = noted_membership_check(self.inspector)
            if noted is not None:
                # An API at hand: LaunchDarkly's own word beside the store's, per segment.
                self.query_one("#inspector-hash", Static).update("asking LaunchDarkly…")
                await self.inspector.cross_check([result])
                # The questions it did not answer, for this result (kept: the bulk screen
                # shares the inspector and asks its own).
                self.ld_errors = {k: v for k, v in noted.failures.items() if k[0] == result.key}
            await self.refresh_state()
        except StoreUnavailable as exc:
            self.state, self.state_error = None, str(exc)
            self.show_store()
            self.query_one("#inspector-hash", Static).update("")
            return
        self.result = result
        self.show_result(result)
        self.query_one("#inspector-verdicts", LdTable).focus()

    def launchdarkly_word(self, r: ContextResult, segment: str) -> Text:
        """LaunchDarkly's answer for one segment: included / excluded / not included (no
        data), error (it did not answer) or not asked; DISAGREE beside a word that differs
        from the store's verdict (a word, not a colour alone)."""
        variables = self.ldtui.css_variables_cached()
        errors = self.ld_errors
        said = (r.launchdarkly or {}).get(segment)
        if said is None:
            if (r.key, segment) in errors:
                return Text("error", style=status_style_for("status-stale", True, variables))
            return Text("not asked", style="dim")
        word = Text(LAUNCHDARKLY_WORDS.get(said, literal(said)))
        if segment in r.disagreements:
            word.append(" ")
            word.append("DISAGREE", style=status_style_for("status-down", True, variables))
        return word

    def show_result(self, r: ContextResult) -> None:
        variables = self.ldtui.css_variables_cached()
        # safe-text: the hash is ldtui's base64; the key is literal()
        self.query_one("#inspector-hash", Static).update(
            Text.assemble(("hash ", "bold"), r.hash or "-", "   key ", truncate(literal(r.key), 60))
        )
        table = self.query_one("#inspector-verdicts", LdTable)
        with_ld = self.inspector is not None and self.inspector.membership_check is not None
        columns = [("segment", "Segment"), ("gen", "Gen"), ("verdict", "Verdict")]
        if with_ld:
            columns.append(("launchdarkly", "LaunchDarkly"))
        columns.append(("reason", "Reason"))
        with table.batch():
            table.clear()  # the answers' own order: segments asked for first
            table.set_columns(columns)
            table.set_rows(
                (
                    a.segment_key,
                    (
                        Text(literal(a.segment_key)),
                        Text("-" if a.generation is None else str(a.generation)),
                        verdict_text(a.verdict, variables),
                        *((self.launchdarkly_word(r, a.segment_key),) if with_ld else ()),
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
            segments = self.inspector.segments if self.inspector is not None else {}
            for ref in r.unresolved_refs:
                # As ldtui inspect says it: refs of segments whose generation nobody could say
                # (the API did not answer, or the run's lookups of refs found only in the store's
                # sets reached their cap), neither judged nor called orphaned.
                from ldtui.core.bigsegments import parse_segment_ref

                info = segments.get(parse_segment_ref(ref).segment_key or "")
                why = (
                    info.note
                    if info is not None and info.note
                    else "the segment's current generation is unknown (type key=generation)"
                )
                lines.append("\nunknown ref  ", style="bold")
                lines.append(f"{literal(ref)}: {literal(why)}")
            if r.disagreements:
                lines.append("\n")
                lines.append("DISAGREE", style=status_style_for("status-down", True, variables))
                lines.append(
                    f"  LaunchDarkly's own word differs for {literal(' '.join(r.disagreements))}: the store "
                    "lags behind, or is not the one LaunchDarkly writes (host, table, prefix)"
                )
            if not r.answers:
                lines.append(
                    "\n\nNo big segment known yet: name some in the segments field (key or key=generation)."
                )
        self.query_one("#inspector-refs", Static).update(lines)  # safe-text: literal() above

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
