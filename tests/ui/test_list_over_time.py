"""The integrations list stays true as time passes, as the API fails and returns, as keys are
pressed many times, and as rows come and go. An injected clock moves time; the emulator counts
the API calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.widgets import Select, Static

from ldtui.core.text import relative_age
from ldtui.ui.cells import COLUMNS
from ldtui.ui.screens.integrations import IntegrationsScreen
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import find, make_world, settle

COL = {key: i for i, (key, _) in enumerate(COLUMNS)}


def statusline(app: Any) -> str:
    console = Console(width=400, record=True, color_system=None)
    console.print(app.screen.query_one("#statusline", Static).content)
    return console.export_text()


def shown(app: Any) -> list[tuple[str, ...]]:
    table = app.screen.query_one(LdTable)
    return [tuple(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)


async def test_every_age_on_the_list_is_the_truth_at_each_moment() -> None:
    """5 s, 65 s and 10 min later (no refresh in between): each "Last sync" and "Last error"
    equals what the API's own lastSync / lastError give at that moment."""
    w = make_world()
    async with w.app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        truth = {i.name: w.state.status_json(i) for i in w.state.integrations.values()}
        for step in (5, 60, 535):
            w.clock.advance(step)
            now_ms = int(w.clock() * 1000)

            def ages_right(now_ms: int = now_ms) -> bool:
                for row in shown(w.app):
                    status = truth[row[COL["name"]]]
                    if row[COL["last_sync"]] != relative_age(status.get("lastSync"), now_ms):
                        return False
                    if "lastError" in status and not row[COL["last_error"]].startswith(
                        relative_age(status["lastError"], now_ms)
                    ):
                        return False
                return True

            await wait_for(pilot, ages_right, 3)
        assert shown(w.app), "rows"


async def test_a_failing_api_is_said_rows_marked_old_and_recovery_clears_it_by_itself() -> None:
    w = make_world(auto_refresh=0.2)
    async with w.app.run_test(size=(200, 36)) as pilot:
        await settle(pilot)
        screen = w.app.screen
        assert isinstance(screen, IntegrationsScreen) and screen.loop is not None
        table = screen.query_one(LdTable)
        w.state.faults.error_rate = 1.0
        # The change made during the outage must show once it is over.
        find(w.state, "Dev Redis").name = "Dev Redis (renamed meanwhile)"
        await wait_for(pilot, lambda: screen.loop.state.failures >= 3, 30)
        line = statusline(w.app)
        assert "last refresh failed" in line and "retrying in" in line and "HTTP 500" in line
        assert all(row[COL["status"]].endswith(" old") for row in shown(w.app))
        assert all(table.is_dim(key) for key in table.shown_keys)
        assert sum(1 for n in w.app.notices if n.title == "Refresh failed") == 1  # said once
        w.state.faults.error_rate = 0.0
        await wait_for(pilot, lambda: screen.loop.state.failures == 0, 70)
        await wait_for(
            pilot, lambda: "Dev Redis (renamed meanwhile)" in [r[COL["name"]] for r in shown(w.app)]
        )
        assert "failed" not in statusline(w.app)
        assert not any(row[COL["status"]].endswith(" old") for row in shown(w.app))
        assert not any(table.is_dim(key) for key in table.shown_keys)


async def test_r_pressed_fifty_times_polls_at_the_interval_not_fifty_loops() -> None:
    interval = 0.5
    w = make_world(auto_refresh=interval)
    async with w.app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        for _ in range(50):
            await pilot.press("r")
        start, t0 = w.state.request_counts["list"], time.monotonic()
        await pilot.pause(4.0)  # measuring a rate needs time to pass
        calls = w.state.request_counts["list"] - start
        elapsed = time.monotonic() - t0
        assert 2 <= calls <= elapsed / interval + 3, (calls, elapsed)


async def test_counts_always_agree_with_the_rows_on_screen() -> None:
    """Delete, create, scope and filter: the header counts are counted from the rows shown."""
    w = make_world()

    def agree() -> None:
        rows = shown(w.app)
        line = statusline(w.app)
        counted: dict[str, int] = {}
        for row in rows:
            word = row[COL["status"]].split()[0]
            counted[word] = counted.get(word, 0) + 1
        for word, n in counted.items():
            assert f"{word} {n}" in line, (word, n, line)
        total = len(w.app.screen.integrations)
        assert (f"{len(rows)} of {total} shown" if len(rows) != total else f"{total} integrations") in line

    async with w.app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        agree()
        screen = w.app.screen
        gone = find(w.state, "Payments Redis (PCI zone)")
        screen.forget(gone.id)
        await pilot.pause()
        agree()
        assert "ERROR" not in statusline(w.app)
        await pilot.press("slash", *"dynamo")
        await pilot.pause()
        agree()
        await pilot.press("escape")
        scope = screen.query_one("#scope", Select)
        scope.value = "default"
        await pilot.pause()
        agree()
        assert len(shown(w.app)) == 3
        # A row's status changes while the order does not (sorted by name): counts follow.
        await pilot.press("s", "s", "s", "s")  # project, environment, store, name
        prod = find(w.state, "Prod Redis store")
        prod.on = False
        await pilot.press("r")
        await settle(pilot)
        agree()
        assert "OK 1" in statusline(w.app) and "OFF 2" in statusline(w.app)
        scope.value = Select.NULL
        await pilot.pause()
        # A new integration arrives with the next refresh (deleted one is back too).
        await pilot.press("r")
        await settle(pilot)
        agree()
        assert len(shown(w.app)) == len(w.state.integrations)


async def test_a_slow_api_is_said_with_how_long_it_has_been_waited_for() -> None:
    """A frozen number is worse than none: while LaunchDarkly takes its time, the status line
    says what ldtui waits for and for how long."""
    w = make_world()
    async with w.app.run_test(size=(200, 36)) as pilot:
        await settle(pilot)
        w.state.faults.latency_ms = 4000
        await pilot.press("r")
        await wait_for(pilot, lambda: "waiting for LaunchDarkly for" in statusline(w.app), 6)
        w.state.faults.latency_ms = 0
        await settle(pilot)
        assert "waiting" not in statusline(w.app)
