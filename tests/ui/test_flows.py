"""Pilot tests of every flow against the in-process emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Button, Input, Select, Static

from ldtui.emulator.seed import READ_ONLY_TOKEN
from ldtui.emulator.state import Integration
from ldtui.services.backend import ProfileBackend
from ldtui.ui.screens.detail import DetailScreen
from ldtui.ui.screens.dialogs import ConfirmScreen, DeleteScreen
from ldtui.ui.screens.form import IntegrationFormScreen
from ldtui.ui.screens.integrations import IntegrationsScreen
from ldtui.ui.screens.picker import PickerScreen
from ldtui.ui.screens.review import ConflictScreen, ReviewScreen
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import find, make_world, settle

ORDER = [
    "Dev Redis",
    "Prod Redis store",
    "Staging DynamoDB",
    "Mobile prod DynamoDB",
    "Mobile Redis replica",
    "Payments Redis (PCI zone)",
    "Sandbox DynamoDB",
]


def names(app: Any) -> list[str]:
    table = app.screen.query_one(LdTable)
    return [table.get_row_at(i)[3].plain for i in range(table.row_count)]


def column(app: Any, index: int) -> list[str]:
    table = app.screen.query_one(LdTable)
    return [table.get_row_at(i)[index].plain for i in range(table.row_count)]


def notifications(app: Any) -> str:
    """Every notification in full (a toast shows four lines at most; the log has the rest)."""
    return "\n".join(f"{n.title}: {n.message}" for n in app.notices)


async def select_row(pilot: Any, name: str) -> None:
    table = pilot.app.screen.query_one(LdTable)
    table.move_cursor(row=names(pilot.app).index(name))
    table.focus()
    await pilot.pause()


def rendered(widget: Static) -> str:
    """The text a Static shows, as a person reads it."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def set_value(screen: Any, selector: str, value: Any) -> None:
    screen.query_one(selector).value = value


# --- the list ----------------------------------------------------------------------------------


async def test_list_every_integration_with_words() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)
        assert names(w.app) == ORDER
        assert column(w.app, 5) == ["OFF", "OK", "OK", "OK", "STALE", "ERROR", "OFF"]
        assert column(w.app, 6)[1] == "4s ago" and column(w.app, 6)[4] == "10m ago"
        assert "lookup redis.payments.invalid" in column(w.app, 7)[5]
        line = rendered(w.app.screen.query_one("#statusline", Static))
        assert "7 integrations" in line and "OK 3 STALE 1 ERROR 1 OFF 2" in line
        assert "refreshed" in line and "emulator" in line


async def test_first_frame_is_a_loading_state() -> None:
    w = make_world()
    # The API answers late; long after the first frame even on a busy machine (the frame
    # comes without waiting for it, which is what is tested).
    w.state.faults.latency_ms = 2500
    async with w.app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = w.app.screen.query_one(LdTable)
        # The frame is up with its header before the API answers; the status line says why
        # the table is empty.
        assert table.row_count == 0 and len(table.columns) == 9
        assert "loading integrations" in rendered(w.app.screen.query_one("#statusline", Static))
        await settle(pilot)
        assert table.row_count == 7


async def test_sort_by_key_and_header_click() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("s", "s", "s", "s", "s", "s")  # project, env, store, name, on, status
        statuses = column(w.app, 5)
        assert statuses == sorted(statuses, key=["OK", "OFF", "UNKNOWN", "STALE", "ERROR"].index)
        screen = w.app.screen
        table = screen.query_one(LdTable)
        screen.post_message(LdTable.HeaderSelected(table, "name"))
        await pilot.pause()
        assert names(w.app) == sorted(ORDER, key=str.lower)
        screen.post_message(LdTable.HeaderSelected(table, "name"))
        await pilot.pause()
        assert names(w.app) == sorted(ORDER, key=str.lower, reverse=True)
        assert "Name ↓" in table.render_line(0).text  # the header says how it is sorted
        # S reverses the sort from the keyboard.
        await pilot.press("S")
        assert names(w.app) == sorted(ORDER, key=str.lower)


async def test_worst_first_is_one_key_away() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("S")  # from the default order: the worst status first
        assert column(w.app, 5)[:2] == ["ERROR", "STALE"] and column(w.app, 5)[-1] == "OK"
        table = w.app.screen.query_one(LdTable)
        assert "Status ↓" in table.render_line(0).text
        await pilot.press("S")  # again: the other way round
        assert column(w.app, 5)[0] == "OK" and column(w.app, 5)[-1] == "ERROR"
        # The key is on the key bar at 80 columns.
        assert ("S", "Worst first") in w.app.screen.query_one(KeyBar).shown


async def test_incremental_filter_and_clear() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"dynamo")
        assert names(w.app) == ["Staging DynamoDB", "Mobile prod DynamoDB", "Sandbox DynamoDB"]
        await pilot.press("space", *"staging")
        assert names(w.app) == ["Staging DynamoDB"]
        assert "1 of 7 shown" in rendered(w.app.screen.query_one("#statusline", Static))
        await pilot.press("escape")
        assert len(names(w.app)) == 7


async def test_scope_to_project_and_environment() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        select = w.app.screen.query_one("#scope", Select)
        select.value = "payments"
        await pilot.pause()
        assert names(w.app) == ["Payments Redis (PCI zone)", "Sandbox DynamoDB"]
        select.value = "mobile-app/production"
        await pilot.pause()
        assert names(w.app) == ["Mobile prod DynamoDB", "Mobile Redis replica"]
        select.clear()
        await pilot.pause()
        assert len(names(w.app)) == 7


async def test_detail_masks_the_secret_and_lists_errors() -> None:
    w = make_world()
    secret = find(w.state, "Payments Redis (PCI zone)").config["password"]
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Payments Redis (PCI zone)")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(w.app.screen, DetailScreen)
        text = rendered(w.app.screen.query_one("#detail", Static))
        assert "dial tcp: lookup redis.payments.invalid: no such host" in text
        assert "errors" in text and "3" in text
        assert secret not in text and secret[:3] + "****" not in text
        assert "ERROR: sync failing" in text
        # It ticks: a minute later the ages say so, without reopening it.
        integ = w.app.screen.integration
        since = integ.status.lastError
        w.clock.advance(60)
        from ldtui.core.text import relative_age

        expected = relative_age(since, int(w.clock() * 1000))
        for _ in range(60):
            if expected in rendered(w.app.screen.query_one("#detail", Static)):
                break
            await pilot.pause(0.05)
        assert expected in rendered(w.app.screen.query_one("#detail", Static))
        await pilot.press("escape")
        assert isinstance(w.app.screen, IntegrationsScreen)


# --- create ------------------------------------------------------------------------------------


async def pick(pilot: Any, project_index: int, env_index: int) -> None:
    await pilot.press("n")
    await settle(pilot)
    picker = pilot.app.screen
    assert isinstance(picker, PickerScreen)
    assert picker.focused is picker.query_one("#query")  # the search has the focus
    await pilot.press("down")  # to the projects
    for _ in range(project_index):
        await pilot.press("down")
    await settle(pilot)
    await pilot.press("enter")
    for _ in range(env_index):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def test_create_redis() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pick(pilot, 0, 1)  # default / staging
        form = w.app.screen
        assert isinstance(form, IntegrationFormScreen) and form.where == "default/staging"
        await pilot.press(*"Staging Redis")
        set_value(form, "#f-host", "redis.staging.internal")
        set_value(form, "#f-password", "hunter2-hunter2")
        set_value(form, "#f-tags", "ops, new")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)
        created = find(w.state, "Staging Redis")
        assert (created.project, created.environment, created.kind) == ("default", "staging", "redis")
        assert created.config["password"] == "hunter2-hunter2" and created.tags == ["ops", "new"]
        assert w.app.screen.selected is not None and w.app.screen.selected.id == created.id
        assert "Created 'Staging Redis'" in notifications(w.app)


async def test_create_dynamodb_validation_errors_then_success() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pick(pilot, 2, 0)  # payments / production
        form = w.app.screen
        form.query_one("#kind", Select).value = "dynamodb"
        await settle(pilot)
        form = w.app.screen
        set_value(form, "#f-name", "Payments DynamoDB")
        set_value(form, "#f-tableName", "x")
        set_value(form, "#f-roleArn", "not-an-arn")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert w.app.screen is form  # still on the form, typing intact
        shown = {e.id for e in form.query(".field-error.-shown")}
        assert shown == {"e-tableName", "e-region", "e-roleArn", "e-externalId"}
        assert form.query_one("#f-name", Input).value == "Payments DynamoDB"
        assert "3-255 characters" in rendered(form.query_one("#e-tableName", Static))
        set_value(form, "#f-tableName", "ld-big-segments-payments")
        set_value(form, "#f-roleArn", "arn:aws:iam::123456789012:role/ld-payments")
        form.query_one("#f-region", Select).value = "eu-west-1"
        form.query_one("#gen-externalId", Button).press()
        await pilot.pause()
        generated = form.query_one("#f-externalId", Input).value
        assert len(generated) == 36
        await pilot.press("ctrl+s")
        await settle(pilot)
        created = find(w.state, "Payments DynamoDB")
        assert created.config == {
            "tableName": "ld-big-segments-payments",
            "region": "eu-west-1",
            "roleArn": "arn:aws:iam::123456789012:role/ld-payments",
            "externalId": generated,
        }


async def test_create_rejected_by_the_server_reopens_the_form_with_typing() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        # Someone adds a Redis integration to default/staging after the list was loaded: the
        # picker cannot know, LaunchDarkly refuses the second one.
        theirs = Integration(
            id=w.state.new_id(),
            kind="redis",
            project="default",
            environment="staging",
            config={"host": "redis.theirs.internal", "port": "6379"},
            on=True,
            tags=[],
            name="Theirs",
        )
        w.state.integrations[theirs.id] = theirs
        await pick(pilot, 0, 1)  # default / staging
        form = w.app.screen
        assert isinstance(form, IntegrationFormScreen) and form.draft.kind == "redis"
        set_value(form, "#f-name", "Second Redis")
        set_value(form, "#f-host", "redis.two.internal")
        await pilot.press("ctrl+s")
        await settle(pilot)
        again = w.app.screen
        assert isinstance(again, IntegrationFormScreen)
        assert again.query_one("#f-name", Input).value == "Second Redis"
        assert again.query_one("#f-host", Input).value == "redis.two.internal"
        assert "already exists" in rendered(again.query_one("#server-error", Static))
        # The hint says what to do about it, not "reload and try again".
        assert "edit that one instead" in notifications(w.app)


async def test_the_picker_marks_environments_and_refuses_a_full_one() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        # default/production has a Redis integration; give it a DynamoDB one too.
        both = Integration(
            id=w.state.new_id(),
            kind="dynamodb",
            project="default",
            environment="production",
            config={
                "tableName": "t-prod",
                "region": "us-east-1",
                "roleArn": "arn:aws:iam::123456789012:role/r",
                "externalId": "x-1234",
            },
            on=True,
            tags=[],
            name="Prod DynamoDB",
        )
        w.state.integrations[both.id] = both
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        picker = w.app.screen
        assert isinstance(picker, PickerScreen)
        envs = picker.query_one("#environments")
        labels = {o.id: str(o.prompt) for o in envs.options}
        assert "has Redis and DynamoDB" in labels["production"] and envs.get_option("production").disabled
        assert "has DynamoDB" in labels["staging"] and not envs.get_option("staging").disabled
        assert "has Redis" in labels["development"]
        # Picking staging: the form offers only the kind it does not have yet.
        await pilot.press("down", "enter")
        await settle(pilot)
        staging = next(n for n, o in enumerate(envs.options) if o.id == "staging")
        envs.highlighted = staging
        await pilot.press("enter")
        await settle(pilot)
        form = w.app.screen
        assert isinstance(form, IntegrationFormScreen) and form.draft.kind == "redis"
        assert form.taken == {"dynamodb"}
        text = " ".join(rendered(s) for s in form.query(".field-help"))
        assert "has a DynamoDB integration already" in text


# --- edit --------------------------------------------------------------------------------------


async def open_edit(pilot: Any, name: str) -> IntegrationFormScreen:
    await select_row(pilot, name)
    await pilot.press("e")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, IntegrationFormScreen) and form.mode == "edit"
    return form


def patch_text(screen: ReviewScreen) -> list[dict[str, Any]]:
    return json.loads(rendered(screen.query_one("#patch", Static)))


async def test_edit_previews_the_exact_patch_then_saves() -> None:
    w = make_world()
    integ = find(w.state, "Prod Redis store")
    secret = integ.config["password"]
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        form = await open_edit(pilot, "Prod Redis store")
        assert form.query_one("#f-password", Input).value == ""  # empty = unchanged
        set_value(form, "#f-port", "6380")
        await pilot.press("ctrl+s")
        await pilot.pause()
        review = w.app.screen
        assert isinstance(review, ReviewScreen)
        assert patch_text(review) == [
            {"op": "test", "path": "/version", "value": 1},
            {"op": "replace", "path": "/config/port", "value": "6380"},
        ]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert integ.version == 2 and integ.config["port"] == "6380"
        assert integ.config["password"] == secret  # untouched
        assert "Saved 'Prod Redis store' (version 2)" in notifications(w.app)


async def test_typed_password_is_masked_in_the_review() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        form = await open_edit(pilot, "Prod Redis store")
        set_value(form, "#f-password", "a-brand-new-password-1234")
        await pilot.press("ctrl+s")
        await pilot.pause()
        shown = rendered(w.app.screen.query_one("#patch", Static))
        assert "a-brand-new" not in shown and "****1234" in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert find(w.state, "Prod Redis store").config["password"] == "a-brand-new-password-1234"


async def test_conflict_reapply_keeps_my_change_and_theirs() -> None:
    w = make_world()
    integ: Integration = find(w.state, "Prod Redis store")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        form = await open_edit(pilot, "Prod Redis store")
        set_value(form, "#f-name", "Mine")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(w.app.screen, ReviewScreen)
        # Someone else changes the tags meanwhile.
        integ.tags = ["theirs"]
        integ.version += 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        conflict = w.app.screen
        assert isinstance(conflict, ConflictScreen)
        assert ("tags", "ops, critical", "theirs") in __import__(
            "ldtui.ui.screens.review", fromlist=["differences"]
        ).differences(conflict.mine, conflict.latest)
        await pilot.click("#reapply")
        await settle(pilot)
        review = w.app.screen
        assert isinstance(review, ReviewScreen)
        assert patch_text(review) == [
            {"op": "test", "path": "/version", "value": 2},
            {"op": "replace", "path": "/name", "value": "Mine"},
        ]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (integ.name, integ.tags, integ.version) == ("Mine", ["theirs"], 3)


async def test_conflict_back_to_form_keeps_typing() -> None:
    w = make_world()
    integ = find(w.state, "Staging DynamoDB")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        form = await open_edit(pilot, "Staging DynamoDB")
        set_value(form, "#f-tableName", "my-new-table")
        await pilot.press("ctrl+s")
        await pilot.pause()
        integ.name = "Renamed by someone"
        integ.version += 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#form")
        await settle(pilot)
        form = w.app.screen
        assert isinstance(form, IntegrationFormScreen)
        assert form.query_one("#f-tableName", Input).value == "my-new-table"
        assert form.query_one("#f-name", Input).value == "Renamed by someone"


# --- on/off and delete -------------------------------------------------------------------------


async def test_toggle_with_confirmation() -> None:
    w = make_world()
    integ = find(w.state, "Dev Redis")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Dev Redis")
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(w.app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert integ.on is False
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert integ.on is True and integ.version == 2
        assert column(w.app, 4)[0] == "on"


async def test_delete_needs_the_name_typed() -> None:
    w = make_world()
    integ = find(w.state, "Sandbox DynamoDB")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Sandbox DynamoDB")
        await pilot.press("d")
        await pilot.pause()
        dialog = w.app.screen
        assert isinstance(dialog, DeleteScreen)
        await pilot.press(*"Sandbox")
        assert dialog.query_one("#delete", Button).disabled
        await pilot.press("enter")
        assert w.app.screen is dialog and integ.id in w.state.integrations
        await pilot.press(*" DynamoDB", "enter")
        await settle(pilot)
        assert integ.id not in w.state.integrations
        assert "Sandbox DynamoDB" not in names(w.app)


async def test_delete_asks_again_when_the_integration_changed_meanwhile() -> None:
    """Someone renames and repoints it after the dialog opened: ldtui reads it before the
    DELETE (which has no precondition), shows what changed and asks for the new name."""
    w = make_world()
    integ = find(w.state, "Sandbox DynamoDB")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Sandbox DynamoDB")
        await pilot.press("d")
        await pilot.pause()
        integ.name = "Production DynamoDB"
        integ.config["tableName"] = "ld-prod"
        integ.version += 1
        await pilot.press(*"Sandbox DynamoDB", "enter")
        await settle(pilot)
        again = w.app.screen
        assert isinstance(again, DeleteScreen) and again.target == "Production DynamoDB"
        text = " ".join(rendered(s) for s in again.query(Static))
        assert "It changed since you asked" in text and "Production DynamoDB" in text and "tableName" in text
        assert integ.id in w.state.integrations  # not deleted on the old confirmation
        await pilot.press("escape")
        await settle(pilot)
        assert integ.id in w.state.integrations
        assert "Production DynamoDB" in names(w.app)  # the list shows what it is now


# --- failures become readable notifications ----------------------------------------------------


async def test_401_notification() -> None:
    w = make_world(token="api-not-a-token")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        text = notifications(w.app)
        assert "HTTP 401" in text and "access token was rejected" in text


async def test_403_read_only_token() -> None:
    w = make_world(token=READ_ONLY_TOKEN)
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Dev Redis")
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert "HTTP 403" in notifications(w.app) and "lacks permission" in notifications(w.app)


async def test_404_when_deleted_meanwhile() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Dev Redis")
        del w.state.integrations[find(w.state, "Dev Redis").id]
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert "HTTP 404" in notifications(w.app) and "may have been deleted" in notifications(w.app)


async def test_409_when_toggling_a_changed_integration_reloads() -> None:
    w = make_world()
    integ = find(w.state, "Dev Redis")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await select_row(pilot, "Dev Redis")
        integ.version += 1
        integ.name = "Dev Redis (renamed)"
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert "HTTP 409" in notifications(w.app) and "Reload it and reapply" in notifications(w.app)
        assert "Dev Redis (renamed)" in names(w.app)


async def test_429_says_retrying_in() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        w.state.rate_limits.per_route = 1
        w.state.rate_limits.retry_after = True
        w.state.clock.advance(10)  # a fresh window with one request left
        original = w.state.clock.now

        # The app's client sleeps through a fake; let the window pass when it "sleeps".
        async def sleep(seconds: float) -> None:
            w.sleeps.append(seconds)
            w.state.clock.now = original + 10

        w.app.backend.client._sleep = sleep
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "Rate limited by LaunchDarkly; retrying in" in notifications(w.app)
        assert w.sleeps


async def test_5xx_notification() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        w.state.faults.error_rate = 1.0
        await pilot.press("r")
        await settle(pilot)
        assert "HTTP 500" in notifications(w.app) and "server-side problem" in notifications(w.app)


def profile_app(tmp_path: Any, base_url: str, token: str, timeout: float) -> Any:
    from ldtui.config import load_config
    from ldtui.ui.app import LdtuiApp

    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.p]\nbase_url = "{base_url}"\ntoken_env = "T"\ntimeout = {timeout}\n')

    async def no_sleep(s: float) -> None:
        return None

    backend = ProfileBackend(load_config({"T": token}, file=path), client_options={"sleep": no_sleep})
    return LdtuiApp(backend, blink=False)


async def test_network_down_notification(tmp_path: Any) -> None:
    from tests.servers import free_port

    app = profile_app(tmp_path, f"http://127.0.0.1:{free_port()}", "api-x", 2)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "Could not reach the API" in notifications(app)


async def test_timeout_notification(tmp_path: Any, served_emulator: Any) -> None:
    from ldtui.emulator.seed import DEFAULT_TOKEN

    served_emulator.runtime.state.faults.latency_ms = 1500
    app = profile_app(tmp_path, served_emulator.base_url, DEFAULT_TOKEN, 0.3)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "did not answer in time" in notifications(app)


# --- untrusted text ----------------------------------------------------------------------------


async def test_markup_and_escapes_in_names_render_literally() -> None:
    w = make_world()
    find(w.state, "Dev Redis").name = "[bold]x[/] \x1b[31mred"
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "[bold]x[/] \\x1b[31mred" in names(w.app)
        table = w.app.screen.query_one(LdTable)
        cell = table.get_row_at(names(w.app).index("[bold]x[/] \\x1b[31mred"))[3]
        assert not cell.spans and "\x1b" not in cell.plain
        await select_row(pilot, "[bold]x[/] \\x1b[31mred")
        await pilot.press("enter")
        await pilot.pause()
        title = rendered(w.app.screen.query_one(".dialog-title", Static))
        assert "\x1b" not in title and "[bold]x[/]" in title


async def test_f1_help_lists_the_same_actions_as_the_footer() -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = rendered(w.app.screen.query_one(".detail-body Static", Static))
        for label in (
            "Refresh",
            "Filter",
            "Scope",
            "New",
            "Edit",
            "On/Off",
            "Delete",
            "Sort",
            "Details",
            "Quit",
        ):
            assert label in text


@pytest.mark.parametrize("command", ["Refresh", "New"])
async def test_palette_lists_screen_actions(command: str) -> None:
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        titles = [c.title for c in w.app.get_system_commands(w.app.screen)]
        assert command in titles


def table_lines(app: Any) -> list[str]:
    table = app.screen.query_one(LdTable)
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_filtering_renders_exactly_what_a_fresh_table_does() -> None:
    """Rows are moved without re-rendering cached cells: the picture must stay right."""
    fresh = make_world()
    async with fresh.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        expected_all = table_lines(fresh.app)
    w = make_world()
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"dynamo")
        await pilot.pause()
        narrowed = table_lines(w.app)
        assert [line.split()[3] for line in narrowed if "DynamoDB" in line] == [
            "Staging",
            "Mobile",
            "Sandbox",
        ]
        assert not any("Redis" in line for line in narrowed)
        for _ in range(6):
            await pilot.press("backspace")
        await pilot.press("escape")
        await pilot.pause()
        assert table_lines(w.app) == expected_all
