"""What the inspector's screens share: the verdict words and their colours, the chosen store's
line with its freshness (re-read every poll interval while in view), and the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import (
    Static,
)

from ldtui.core.text import literal, relative_age
from ldtui.ui.cells import status_style_for
from ldtui.ui.screens.base import LdScreen, set_line

if TYPE_CHECKING:
    from ldtui.core.bigsegments import StoreStatus
    from ldtui.services.inspect import Inspector
    from ldtui.services.status import Target


VERDICT_VARIABLE = {
    "included": "status-ok",
    "excluded": "status-down",
    "no-data": "status-off",
    "not-configured": "status-unknown",
    "other-kind": "status-off",
    "unknown": "status-stale",
    "unknown-segment": "status-stale",
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
        # safe-text: target_line and freshness_text escape; it may wrap
        set_line(self.query_one("#inspector-store", Static), line, layout=True)

    async def refresh_state(self) -> None:
        from ldtui.stores.base import StoreUnavailable

        if self.inspector is None:
            return
        try:
            self.state, self.state_error = await self.inspector.store_state(), None
        except StoreUnavailable as exc:
            self.state, self.state_error = None, str(exc)
        self.show_store()
