"""The doctor in the TUI: ``k`` on the list and on the status panel opens it for the selected
integration; the form's **Check** runs it on what is typed, before Save, and returns to the form
with everything typed. Results are words (PASS/WARN/FAIL/SKIP); no secret is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from ldtui.config import load_config
from ldtui.ui.screens.doctor import CheckLine, DoctorScreen
from ldtui.ui.screens.form import IntegrationFormScreen
from ldtui.ui.screens.integrations import IntegrationsScreen
from ldtui.ui.screens.status import StatusScreen
from tests.servers import RedisServer
from tests.ui.harness import make_world, settle, wait_until
from tests.ui.test_flows import pick, rendered, select_row, set_value

pytestmark = pytest.mark.network


def world_with_store(tmp_path: Path, redis: RedisServer) -> Any:
    w = make_world()
    path = tmp_path / "config.toml"
    path.write_text(f'[stores."default/production"]\ntype = "redis"\nurl = "{redis.url}"\ntimeout = 2\n')
    w.app.backend.config = load_config(environ={}, file=path)
    return w


def lines(screen: DoctorScreen) -> dict[str, str]:
    return {line.check.id: rendered(line) for line in screen.query(CheckLine)}


async def wait_for_checks(pilot: Any) -> DoctorScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DoctorScreen)
    await wait_until(pilot, lambda: bool(screen.checks) and not screen.running, 60, "the doctor's checks")
    await pilot.pause()
    return screen


async def test_k_on_the_list_opens_the_doctor(tmp_path: Path, own_redis: RedisServer) -> None:
    w = world_with_store(tmp_path, own_redis)
    env_id = w.state.projects["default"].environments["production"].id
    with own_redis.client() as c:
        c.set(f"{env_id}:big_segments_synchronized_on", str(int(w.clock() * 1000) - 4000))
        c.config_set("maxmemory-policy", "allkeys-lru")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Prod Redis store")
        await pilot.press("k")
        screen = await wait_for_checks(pilot)
        shown = lines(screen)
        assert shown["redis.eviction"].startswith("FAIL  redis.eviction")
        assert "fix: CONFIG SET maxmemory-policy noeviction" in shown["redis.eviction"]
        assert shown["redis.reachable"].startswith("PASS")
        assert shown["redis.prefix"].startswith("PASS")
        assert shown["network.outbound"].startswith("PASS")
        assert "status-down" in screen.query_one("CheckLine.status-down").classes
        progress = rendered(screen.query_one("#doctor-progress", Static))
        assert "failures" in progress and "FAIL" in progress
        # No password reaches the screen (the seeded integration has one; the API redacts it).
        secret = next(i for i in w.state.integrations.values() if i.name == "Prod Redis store").config[
            "password"
        ]
        assert all(secret not in text for text in shown.values())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)


async def test_k_on_the_status_panel_opens_the_doctor(tmp_path: Path, own_redis: RedisServer) -> None:
    w = world_with_store(tmp_path, own_redis)
    async with w.app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(w.app.screen, StatusScreen)
        await pilot.press("k")
        screen = await wait_for_checks(pilot)
        assert screen.request.title.startswith("Doctor: ")
        assert {c.result for c in screen.checks} <= {"PASS", "WARN", "FAIL", "SKIP"}
        assert "api.integration" in lines(screen)


async def test_the_forms_check_runs_on_what_is_typed(own_redis: RedisServer) -> None:
    w = make_world()
    with own_redis.client() as c:
        c.execute_command("ACL", "SETUSER", "typed-user", "on", ">typed-secret-77", "~*", "+@all")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pick(pilot, 0, 1)  # default / staging
        form = w.app.screen
        assert isinstance(form, IntegrationFormScreen)
        set_value(form, "#f-name", "Typed Redis")
        set_value(form, "#f-host", "127.0.0.1")
        set_value(form, "#f-port", str(own_redis.port))
        set_value(form, "#f-username", "typed-user")
        set_value(form, "#f-password", "typed-secret-77")
        await pilot.pause()
        await pilot.click("#check")
        screen = await wait_for_checks(pilot)
        assert "as typed" in screen.request.title
        shown = lines(screen)
        assert shown["redis.reachable"].startswith("PASS")
        assert "the writer 'typed-user' authenticates" in shown["redis.auth"]
        assert shown["redis.writer_acl"].startswith("PASS")
        assert shown["api.integration"].startswith("SKIP")  # not created yet
        assert all("typed-secret-77" not in text for text in shown.values())
        await pilot.press("escape")
        await settle(pilot)
        assert w.app.screen is form and form.draft.config["host"] == "127.0.0.1"
        assert form.draft.config["password"] == "typed-secret-77"  # nothing typed is lost
        assert not any(i.name == "Typed Redis" for i in w.state.integrations.values())  # not saved
