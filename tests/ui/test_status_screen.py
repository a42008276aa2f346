"""The live status panel, driven with Pilot against the emulator, a real redis-server and moto.

Time is part of the truth: these tests move an injected clock and check every age the panel
shows against the store and the API at that moment; they fail the API and the stores and watch
the panel recover by itself; they press keys many times and count the API calls."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from textual.widgets import Static

from ldtui.config import load_config
from ldtui.core.text import relative_age
from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from ldtui.services.backend import EmulatorBackend
from ldtui.ui.app import LdtuiApp
from ldtui.ui.screens.status import COLUMNS, StatusScreen, TargetDetailScreen, sparkline
from ldtui.ui.widgets.table import LdTable
from tests.conftest import FakeClock
from tests.servers import MotoServer, RedisServer
from tests.ui.harness import settle

pytestmark = pytest.mark.network
_seeds = iter(range(3000, 4000))
COL = {key: i for i, (key, _) in enumerate(COLUMNS)}


def rendered(widget: Static) -> str:
    from rich.console import Console

    console = Console(width=400, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def panel_world(
    redis_url: str, moto: MotoServer, tmp_path: Path, bell: bool = False, interval: float = 0.2
) -> tuple[LdtuiApp, Any, FakeClock]:
    clock = FakeClock()
    state = build_state(SeedOptions(seed=next(_seeds), contexts=40, extra_projects=0), clock=clock)
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=moto.endpoint, create_tables=True),
        SyncSettings(change_every=0),
    )
    await runtime.syncer.step()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 0.5\n'
        f"[status]\npoll_interval = {interval}\nbell = {str(bell).lower()}\n"
    )
    backend = EmulatorBackend(runtime, DEFAULT_TOKEN, clock=clock, config=load_config({}, file=path))
    return LdtuiApp(backend, clock=clock, blink=False), runtime, clock


def rows(app: LdtuiApp) -> dict[str, tuple[str, ...]]:
    """Name -> the row's cells as text, in the panel's order."""
    table = app.screen.query_one(LdTable)
    out = {}
    for i in range(table.row_count):
        cells = table.get_row_at(i)
        out[cells[COL["name"]].plain] = tuple(c.plain for c in cells)  # type: ignore[union-attr]
    return out


def verdicts(app: LdtuiApp) -> dict[str, str]:
    return {name: cells[COL["verdict"]] for name, cells in rows(app).items()}


async def open_panel(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, StatusScreen)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """A condition, polled with a deadline: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)


async def test_panel_verdicts_and_counts(redis_url: str, moto_server: MotoServer, tmp_path: Path) -> None:
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path)
    async with app.run_test(size=(160, 36)) as pilot:
        await open_panel(pilot)
        v = verdicts(app)
        assert v["Prod Redis store"] == "HEALTHY" and v["Dev Redis"] == "OFF"
        assert v["Staging DynamoDB"] == "NOT CONFIGURED"
        line = rendered(app.screen.query_one("#statusline", Static))
        assert "HEALTHY 1" in line and "OFF 2" in line and "updated" in line
        # Stop the sync, move the clock past the SDKs' threshold: the panel turns and alerts.
        runtime.state.faults.sync_paused = True
        clock.advance(121)
        await pilot.press("r")
        await settle(pilot)
        await wait_for(pilot, lambda: verdicts(app)["Prod Redis store"] == "DISAGREE")
        assert any(n.title == "Store alert" and "DISAGREE" in n.message for n in app.notices)
        order = [cells[COL["verdict"]] for cells in rows(app).values()]
        assert order[0] == "DISAGREE" and order[-1] == "OFF"  # worst first
        # The cursor stays on the row it was on as rows move; Home goes to the worst.
        await pilot.press("home", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TargetDetailScreen)
        events = rendered(app.screen.query_one("#events", Static))
        assert "HEALTHY -> DISAGREE" in events
        detail = rendered(app.screen.query_one("#target-detail", Static))
        assert "synchronizedOn (raw)" in detail and "cursor" in detail
    await runtime.syncer.aclose()


async def test_ages_tick_with_the_clock_on_the_panel_and_in_the_detail(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    """Advance the clock 5 s, 65 s, 10 min: every age on screen is the truth at that moment,
    computed from the store's synchronizedOn (read from Redis directly) and the API's lastSync.
    Polls are an hour apart: only the clock moves the numbers."""
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path, interval=3600)
    env = runtime.state.projects["default"].environments["production"]
    direct = redis.Redis.from_url(redis_url)
    synchronized_on = int(direct.get(f"{env.id}:big_segments_synchronized_on"))
    integ = next(i for i in runtime.state.integrations.values() if i.name == "Prod Redis store")
    last_sync = runtime.state.status_json(integ)["lastSync"]
    async with app.run_test(size=(200, 40)) as pilot:
        await open_panel(pilot)
        for step in (5, 60, 535):
            clock.advance(step)
            now_ms = int(clock() * 1000)
            store_says = f"synced {relative_age(synchronized_on, now_ms)}"
            api_says = f"last sync {relative_age(last_sync, now_ms)}"
            await wait_for(
                pilot, lambda s=store_says: rows(app)["Prod Redis store"][COL["store"]].startswith(s), 3
            )
            row = rows(app)["Prod Redis store"]
            assert api_says in row[COL["api"]]
            assert f"synchronizedOn {relative_age(synchronized_on, now_ms)}" in row[COL["reason"]]
            assert row[COL["checked"]] == relative_age(int(app.screen.statuses[integ.id].checked_ms), now_ms)
        # The detail ticks too, following the panel's reading.
        app.screen.query_one(LdTable).move_cursor(key=integ.id)
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, TargetDetailScreen)
        clock.advance(60)
        now_ms = int(clock() * 1000)

        def detail_text() -> str:
            return rendered(detail.query_one("#target-detail", Static))

        await wait_for(pilot, lambda: f"synced {relative_age(synchronized_on, now_ms)}" in detail_text(), 3)
    direct.close()
    await runtime.syncer.aclose()


async def test_at_80_columns_the_countdown_to_stale_is_on_screen_whole_and_ticks(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    """At 80x24 the store cell is narrow: what it keeps is "synced …; SDKs stale in Ns", the
    number and its unit whole (not "stale in 116 …"), and the number falls as the clock moves."""
    import re

    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path, interval=3600)
    env = runtime.state.projects["default"].environments["production"]
    direct = redis.Redis.from_url(redis_url)
    synchronized_on = int(direct.get(f"{env.id}:big_segments_synchronized_on"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_panel(pilot)
        table = app.screen.query_one(LdTable)

        def countdown() -> int | None:
            for y in range(table.size.height):
                line = table.render_line(y).text
                if "Prod Redis" in line:
                    found = re.search(r"synced \S+ ago; SDKs stale in (\d+)s\b", line)
                    return int(found.group(1)) if found else None
            return None

        # 119 s left, then 112 s, then 108 s (a two-digit age beside a three-digit countdown:
        # "synced 12s ago; SDKs stale in 108s", the widest), then 82 s.
        for step in (1, 7, 4, 26):
            clock.advance(step)
            age_s = (int(clock() * 1000) - synchronized_on) / 1000
            expected = int(-(-(120 - age_s) // 1))
            await wait_for(pilot, lambda e=expected: countdown() == e, 3)
    direct.close()
    await runtime.syncer.aclose()


async def test_failing_store_is_backed_off_says_when_and_recovers(
    own_redis: RedisServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    app, runtime, clock = await panel_world(own_redis.url, moto_server, tmp_path, interval=60)
    async with app.run_test(size=(200, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        own_redis.stop()
        await pilot.press("r")
        await settle(pilot)
        assert verdicts(app)["Prod Redis store"] == "UNAVAILABLE"
        track = next(t for t in screen.tracks.values() if t.last and t.last.target.name == "Prod Redis store")
        assert track.failures == 1 and track.next_due > 0
        assert "retry in" in rows(app)["Prod Redis store"][COL["checked"]]
        first_due = track.next_due
        assert screen.loop is not None
        screen.loop.poll_now()  # a round that is not forced: the failing target is not due yet
        await settle(pilot)
        assert track.failures == 1 and track.next_due == first_due
        track.next_due = 0  # time passes
        screen.loop.poll_now()
        await settle(pilot)
        assert track.failures == 2 and track.next_due - first_due > 0  # a longer wait
        own_redis.start()
        await runtime.syncer.step()
        await pilot.press("r")
        await settle(pilot)
        assert verdicts(app)["Prod Redis store"] == "HEALTHY" and track.failures == 0
        assert "retry" not in rows(app)["Prod Redis store"][COL["checked"]]
    await runtime.syncer.aclose()


async def test_polling_pauses_behind_a_dialog(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path)
    async with app.run_test(size=(140, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        assert isinstance(screen, StatusScreen) and screen.loop is not None
        loop = screen.loop
        await pilot.press("f1")
        await wait_for(pilot, lambda: not loop.busy and loop.state.next_due is None)  # waiting, hidden
        behind = loop.state.polls
        await pilot.pause(1.0)  # five poll intervals behind the dialog
        assert loop.state.polls == behind
        await pilot.press("escape")
        await wait_for(pilot, lambda: loop.state.polls > behind + 2)  # polling again by itself
    await runtime.syncer.aclose()


async def test_api_failure_is_said_marked_and_recovered_from_without_a_key(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    """The API fails for three rounds: the panel keeps probing the stores, says the API failed
    and when it retries, marks what LaunchDarkly said as old; then it recovers by itself."""
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path, interval=0.2)
    async with app.run_test(size=(220, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        table = screen.query_one(LdTable)
        runtime.state.faults.error_rate = 1.0
        await wait_for(pilot, lambda: screen.api.failures >= 3, 20)
        line = rendered(screen.query_one("#statusline", Static))
        assert "LaunchDarkly API: last refresh failed" in line and "retrying in" in line
        prod = next(k for k, s in screen.statuses.items() if s.target.name == "Prod Redis store")
        assert table.is_dim(prod)
        assert rows(app)["Prod Redis store"][COL["api"]].startswith("old: ")
        assert verdicts(app)["Prod Redis store"] == "HEALTHY"  # the store is still read
        runtime.state.faults.error_rate = 0.0
        await wait_for(pilot, lambda: screen.api.failures == 0, 70)
        await wait_for(pilot, lambda: not table.is_dim(prod))
        assert "failed" not in rendered(screen.query_one("#statusline", Static))
        assert not rows(app)["Prod Redis store"][COL["api"]].startswith("old")
    await runtime.syncer.aclose()


async def test_r_fifty_times_adds_no_loop_and_a_hung_store_is_seen(
    own_redis: RedisServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    """Fifty presses of r: the API list is asked for at the rate the interval implies (the
    presses fold into one poll), not fifty loops' worth; then a store that hangs (SIGSTOP) is
    shown UNAVAILABLE within a poll interval plus its probe deadline."""
    interval = 0.5
    app, runtime, clock = await panel_world(own_redis.url, moto_server, tmp_path, interval=interval)
    async with app.run_test(size=(200, 36)) as pilot:
        await open_panel(pilot)
        for _ in range(50):
            await pilot.press("r")
        counts = runtime.state.request_counts
        start, t0 = counts["list"], time.monotonic()
        await pilot.pause(4.0)  # measuring a rate needs time to pass
        elapsed = time.monotonic() - t0
        calls = counts["list"] - start
        assert calls <= elapsed / interval + 3, (calls, elapsed)
        assert calls >= 2  # and it still polls
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        try:
            hung_at = time.monotonic()
            # poll interval + the probe's deadline (timeout 0.5 s + 1 s) + scheduling slack.
            await wait_for(
                pilot, lambda: verdicts(app)["Prod Redis store"] == "UNAVAILABLE", interval + 1.5 + 2
            )
            assert time.monotonic() - hung_at < interval + 1.5 + 2
        finally:
            os.kill(own_redis.proc.pid, signal.SIGCONT)
    await runtime.syncer.aclose()


async def test_a_deleted_integration_leaves_the_panel_and_its_counts(
    redis_url: str, moto_server: MotoServer, tmp_path: Path
) -> None:
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path, interval=0.2)
    async with app.run_test(size=(200, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        before = len(rows(app))
        gone = next(i for i in runtime.state.integrations.values() if i.name == "Dev Redis")
        del runtime.state.integrations[gone.id]
        await wait_for(pilot, lambda: "Dev Redis" not in rows(app))
        assert len(rows(app)) == before - 1
        line = rendered(screen.query_one("#statusline", Static))
        counted: dict[str, int] = {}
        for cells in rows(app).values():
            word = cells[COL["verdict"]].removesuffix(" (LaunchDarkly)")
            counted[word] = counted.get(word, 0) + 1
        for word, n in counted.items():
            assert f"{word} {n}" in line
        assert "OFF 1" in line  # was 2
    await runtime.syncer.aclose()


def test_sparkline() -> None:
    assert sparkline([]) == "—"
    line = sparkline([1, 2, 3, 8])
    assert len(line) == 4 and line[0] == "▁" and line[-1] == "█"
