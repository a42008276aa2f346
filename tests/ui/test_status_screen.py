"""The live status panel, driven with Pilot against the emulator, a real redis-server and moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from ldtui.config import load_config
from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings
from ldtui.emulator.seed import DEFAULT_TOKEN, SeedOptions, build_state
from ldtui.emulator.syncer import Endpoints
from ldtui.services.backend import EmulatorBackend
from ldtui.ui.app import LdtuiApp
from ldtui.ui.screens.status import StatusScreen, TargetDetailScreen, sparkline
from tests.conftest import FakeClock
from tests.servers import MotoServer, RedisServer
from tests.ui.harness import settle

pytestmark = pytest.mark.network
_seeds = iter(range(3000, 4000))


def rendered(widget: Static) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def panel_world(redis_url: str, moto: MotoServer, tmp_path: Path, bell: bool = False,
                      interval: float = 0.2) -> tuple[LdtuiApp, Any, FakeClock]:
    clock = FakeClock()
    state = build_state(SeedOptions(seed=next(_seeds), contexts=40, extra_projects=0), clock=clock)
    runtime = EmulatorRuntime(state, Endpoints(redis_url=redis_url, dynamodb_endpoint=moto.endpoint, create_tables=True),
                              SyncSettings(change_every=0))
    await runtime.syncer.step()
    path = tmp_path / "config.toml"
    path.write_text(f'[stores."default/production"]\ntype = "redis"\nurl = "{redis_url}"\ntimeout = 0.5\n'
                    f'[status]\npoll_interval = {interval}\nbell = {str(bell).lower()}\n')
    backend = EmulatorBackend(runtime, DEFAULT_TOKEN, clock=clock, config=load_config({}, file=path))
    return LdtuiApp(backend, clock=clock, blink=False), runtime, clock


def verdicts(app: LdtuiApp) -> dict[str, str]:
    table = app.screen.query_one(DataTable)
    return {table.get_row_at(i)[3].plain: table.get_row_at(i)[0].plain for i in range(table.row_count)}


async def open_panel(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, StatusScreen)


async def test_panel_verdicts_and_counts(redis_url: str, moto_server: MotoServer, tmp_path: Path) -> None:
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path)
    async with app.run_test(size=(140, 36)) as pilot:
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
        assert verdicts(app)["Prod Redis store"] == "DISAGREE"
        assert any(n.title == "Store alert" and "DISAGREE" in n.message for n in app._notifications)
        table = app.screen.query_one(DataTable)
        order = [table.get_row_at(i)[0].plain for i in range(table.row_count)]
        assert order[0] == "DISAGREE" and order[-1] == "OFF"  # worst first
        await pilot.press("enter")  # the first row is the worst: the disagreeing one
        await pilot.pause()
        assert isinstance(app.screen, TargetDetailScreen)
        events = rendered(app.screen.query_one("#events", Static))
        assert "HEALTHY -> DISAGREE" in events
        detail = rendered(app.screen.query_one("#target-detail", Static))
        assert "synchronizedOn (raw)" in detail and "cursor" in detail
    await runtime.syncer.aclose()


async def test_failing_store_is_backed_off_and_recovers(own_redis: RedisServer, moto_server: MotoServer, tmp_path: Path) -> None:
    app, runtime, clock = await panel_world(own_redis.url, moto_server, tmp_path, interval=60)
    async with app.run_test(size=(140, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        own_redis.stop()
        await pilot.press("r")
        await settle(pilot)
        assert verdicts(app)["Prod Redis store"] == "UNAVAILABLE"
        track = next(t for t in screen.tracks.values() if t.last and t.last.target.name == "Prod Redis store")
        assert track.failures == 1 and track.next_due > 0
        first_due = track.next_due
        screen.poll()  # a scheduled poll: the failing target is not due yet, so it is skipped
        await settle(pilot)
        assert track.failures == 1 and track.next_due == first_due
        track.next_due = 0  # time passes
        screen.poll()
        await settle(pilot)
        assert track.failures == 2 and track.next_due - first_due > 0  # longer wait
        own_redis.start()
        await runtime.syncer.step()
        await pilot.press("r")
        await settle(pilot)
        assert verdicts(app)["Prod Redis store"] == "HEALTHY" and track.failures == 0
    await runtime.syncer.aclose()


async def test_polling_pauses_behind_a_dialog(redis_url: str, moto_server: MotoServer, tmp_path: Path) -> None:
    app, runtime, clock = await panel_world(redis_url, moto_server, tmp_path)
    async with app.run_test(size=(140, 36)) as pilot:
        await open_panel(pilot)
        screen = app.screen
        calls: list[int] = []
        original = screen._poll_once

        async def counting(force: bool) -> None:
            calls.append(1)
            await original(force)

        screen._poll_once = counting  # type: ignore[method-assign]
        await pilot.press("f1")
        await pilot.pause(0.8)  # several poll intervals
        assert calls == []
        await pilot.press("escape")
        await pilot.pause(0.8)
        assert calls
    await runtime.syncer.aclose()


def test_sparkline() -> None:
    assert sparkline([]) == "—"
    line = sparkline([1, 2, 3, 8])
    assert len(line) == 4 and line[0] == "▁" and line[-1] == "█"
