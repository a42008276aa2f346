"""Pilot tests of what an operator at 80x24 over SSH needs: the form's On switch and keys, the
dialogs' own keys and F1, the sort and scope keys, read-only sessions, the audit trail, the
notification log, and the theme remembered between runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, Switch

from ldtui.ui.screens.detail import DetailScreen
from ldtui.ui.screens.dialogs import ConfirmScreen, DeleteScreen
from ldtui.ui.screens.form import IntegrationFormScreen
from ldtui.ui.screens.help import HelpScreen
from ldtui.ui.screens.integrations import IntegrationsScreen
from ldtui.ui.screens.picker import PickerScreen
from ldtui.ui.screens.review import ReviewScreen
from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import find, make_world, settle, wait_until


def keybar(app: Any) -> str:
    return app.screen.query_one(KeyBar).text


def help_text(app: Any) -> str:
    from rich.console import Console

    from ldtui.ui.screens.help import bindings_table

    screen = app.screen
    assert isinstance(screen, HelpScreen)
    console = Console(width=200, record=True, color_system=None)
    console.print(bindings_table(screen.target))
    return console.export_text()


async def select_row(pilot: Any, name: str) -> None:
    table = pilot.app.screen.query_one(LdTable)
    for i in range(table.row_count):
        if table.get_row_at(i)[3].plain == name:
            table.move_cursor(row=i)
            break
    table.focus()
    await pilot.pause()


async def open_create_form(pilot: Any) -> IntegrationFormScreen:
    """n, the first project (default), its second environment (staging)."""
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PickerScreen)
    await pilot.press("down", "enter")
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, IntegrationFormScreen)
    return form


def inside(inner: Any, outer: Any) -> bool:
    return (
        inner.x >= outer.x
        and inner.y >= outer.y
        and inner.right <= outer.right
        and inner.bottom <= outer.bottom
        and inner.width > 0
    )


# --- the form ------------------------------------------------------------------------------------


async def test_the_on_switch_is_beside_its_label_on_by_default_and_toggled_by_keyboard() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = await open_create_form(pilot)
        switch = form.query_one("#f-on", Switch)
        assert switch.value is True  # a new integration is on unless turned off
        # Tab reaches it, in order, after the tags.
        for _ in range(20):
            if form.focused is switch:
                break
            await pilot.press("tab")
        assert form.focused is switch
        await pilot.pause()
        dialog = form.query_one(".dialog")
        label = form.query_one(".switch-label")
        # On screen, inside the dialog, on the label's row and right of it.
        assert inside(switch.region, dialog.region)
        assert label.region.y <= switch.region.y <= label.region.bottom and switch.region.x > label.region.x
        assert "on: synced" in str(form.query_one("#on-word").render())
        await pilot.press("space")
        await pilot.pause()
        assert switch.value is False and form.draft.on is False
        assert "off: not synced" in str(form.query_one("#on-word").render())
        # Tab past the switch lands on Save, then Check (the store as typed), then Cancel.
        await pilot.press("tab")
        assert form.focused is form.query_one("#submit")
        await pilot.press("tab")
        assert form.focused is form.query_one("#check")
        await pilot.press("tab")
        assert form.focused is form.query_one("#cancel")


async def test_enter_moves_through_the_fields_and_saves_in_the_last_one() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = await open_create_form(pilot)
        assert form.focused is form.query_one("#f-name")
        await pilot.press(*"Enter Redis", "enter")
        assert form.focused is form.query_one("#f-host")
        await pilot.press(*"redis.enter.internal", "enter")
        fields = [i for i in form.query(Input) if (i.id or "").startswith("f-")]
        assert form.focused is fields[2]  # the next field (the port)
        for _ in range(10):
            if form.focused is fields[-1]:
                break
            await pilot.press("enter")
        assert form.focused is form.query_one("#f-tags") and isinstance(w.app.screen, IntegrationFormScreen)
        await pilot.press("enter")  # the last field: save
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)
        created = find(w.state, "Enter Redis")
        assert created.config["host"] == "redis.enter.internal" and created.on is True


async def test_save_is_a_visible_button_and_ctrl_s_is_on_the_key_bar() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = await open_create_form(pilot)
        assert "^s Save" in keybar(w.app) and "esc Cancel" in keybar(w.app) and "f1 Help" in keybar(w.app)
        assert "New" not in keybar(w.app)  # the list's keys do not show under a dialog
        save = form.query_one("#submit")
        assert str(save.label) == "Save" and inside(save.region, w.app.screen.region)


async def test_a_dirty_form_asks_before_it_is_discarded() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = await open_create_form(pilot)
        await pilot.press("escape")  # nothing typed: closes at once
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)
        form = await open_create_form(pilot)
        await pilot.press(*"half typed")
        await pilot.press("escape")
        await pilot.pause()
        ask = w.app.screen
        assert isinstance(ask, ConfirmScreen) and "Discard" in ask.title_text
        await pilot.press("escape")  # no: back to the form, the typing kept
        await pilot.pause()
        assert w.app.screen is form and form.query_one("#f-name", Input).value == "half typed"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(w.app.screen, ConfirmScreen)
        await pilot.press("enter")  # Discard (focused first)
        await settle(pilot)
        assert isinstance(w.app.screen, IntegrationsScreen)
        assert not any(i.name == "half typed" for i in w.state.integrations.values())


async def test_creating_an_integration_off_asks_first() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        form = await open_create_form(pilot)
        form.query_one("#f-name", Input).value = "Off Redis"
        form.query_one("#f-host", Input).value = "redis.off.internal"
        form.query_one("#f-on", Switch).value = False
        await pilot.press("ctrl+s")
        await pilot.pause()
        ask = w.app.screen
        assert isinstance(ask, ConfirmScreen) and "off" in ask.title_text
        await pilot.press("escape")
        await pilot.pause()
        assert w.app.screen is form and form.focused is form.query_one("#f-on")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter")  # "Create it off"
        await settle(pilot)
        assert find(w.state, "Off Redis").on is False


# --- every dialog has its own keys and F1 ----------------------------------------------------------


async def _to_picker(pilot: Any) -> None:
    await pilot.press("n")


async def _to_form(pilot: Any) -> None:
    await open_create_form(pilot)


async def _to_review(pilot: Any) -> None:
    await select_row(pilot, "Prod Redis store")
    await pilot.press("e")
    await settle(pilot)
    pilot.app.screen.query_one("#f-port", Input).value = "6380"
    await pilot.press("ctrl+s")


async def _to_delete(pilot: Any) -> None:
    await select_row(pilot, "Sandbox DynamoDB")
    await pilot.press("d")


async def _to_toggle(pilot: Any) -> None:
    await select_row(pilot, "Dev Redis")
    await pilot.press("o")


async def _to_detail(pilot: Any) -> None:
    await select_row(pilot, "Dev Redis")
    await pilot.press("enter")


async def _to_messages(pilot: Any) -> None:
    await pilot.press("ctrl+n")


DIALOGS: dict[str, tuple[Any, type, list[str]]] = {
    # name: how to get there, the dialog's class, keys F1 and the key bar must list
    "picker": (_to_picker, PickerScreen, ["Cancel", "Next page"]),
    "form": (_to_form, IntegrationFormScreen, ["Save", "Cancel"]),
    "review": (_to_review, ReviewScreen, ["Send", "Back to form"]),
    "delete": (_to_delete, DeleteScreen, ["Cancel"]),
    "toggle": (_to_toggle, ConfirmScreen, ["Cancel"]),
    "detail": (_to_detail, DetailScreen, ["Close", "Edit", "On/Off", "Delete"]),
    "messages": (_to_messages, type(None), ["Close", "Copy"]),
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
async def test_f1_in_each_dialog_lists_the_dialogs_keys(dialog: str) -> None:
    from ldtui.ui.screens.notifications import NotificationsScreen

    go, cls, wanted = DIALOGS[dialog]
    cls = NotificationsScreen if dialog == "messages" else cls
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go(pilot)
        await settle(pilot)
        shown = w.app.screen
        assert isinstance(shown, cls)
        bar = keybar(w.app)
        assert "f1 Help" in bar and "New" not in bar, bar
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(w.app.screen, HelpScreen) and w.app.screen.target is shown
        text = help_text(w.app)
        for label in wanted:
            assert label in text, (label, text)
        # The list's keys are not the dialog's: they are not offered under it.
        assert "Create a Redis or DynamoDB" not in text and "Command palette" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert w.app.screen is shown


# --- keyboard ----------------------------------------------------------------------------------


async def test_the_scope_menu_hands_the_keys_back_to_the_table() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = w.app.screen
        assert isinstance(screen, IntegrationsScreen)
        table = screen.query_one(LdTable)
        scope = screen.query_one("#scope", Select)
        await pilot.press("f")
        await pilot.pause()
        assert scope.expanded
        await pilot.press("down", "enter")  # the first project
        await settle(pilot)
        assert not scope.expanded and w.app.focused is table
        before = table.cursor_row
        await pilot.press("down")
        await pilot.pause()
        assert table.cursor_row == before + 1 and not scope.expanded  # moves in the table
        # Esc leaves the menu too, without choosing.
        await pilot.press("f")
        await pilot.pause()
        assert scope.expanded
        await pilot.press("escape")
        await pilot.pause()
        assert not scope.expanded and w.app.focused is table
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(w.app.screen, DetailScreen)  # Enter opens the row, not the menu


async def test_an_empty_filter_result_says_so() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzz-nothing")
        await pilot.pause()
        table = w.app.screen.query_one(LdTable)
        assert table.row_count == 0
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert any(
            "zzz-nothing" in line or "No integration" in line or "no row" in line.lower() for line in lines
        )


async def test_a_wrong_name_in_the_delete_dialog_is_said() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _to_delete(pilot)
        await pilot.pause()
        await pilot.press(*"Sandbox X", "enter")
        await pilot.pause()
        check = str(w.app.screen.query_one("#name-check").render())
        assert "Not the name" in check and "Sandbox DynamoDB" in check
        assert isinstance(w.app.screen, DeleteScreen)


# --- toasts and the notification log -----------------------------------------------------------


async def test_a_long_toast_is_four_lines_and_the_log_has_it_all() -> None:
    w = make_world()
    async with w.app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        long = " ".join(f"word{n}" for n in range(200))
        w.app.notify(long, title="Long", severity="error")
        await wait_until(pilot, lambda: bool(w.app.screen.query("Toast")), what="the toast shows")
        toasts = list(w.app.screen.query("Toast"))
        await pilot.pause()
        assert max(t.region.height for t in toasts) <= 4 + 2  # four lines, and the padding
        await pilot.press("ctrl+n")
        await pilot.pause()
        from ldtui.ui.screens.notifications import log_text

        assert "word199" in log_text(w.app).plain


# --- read-only -----------------------------------------------------------------------------------

WRITE_LABELS = ("New", "Edit", "On/Off", "Delete")


async def test_read_only_hides_the_writes_and_refuses_them_with_a_word() -> None:
    w = make_world(read_only=True, read_only_reason="--read-only")
    before = {i.id: (i.on, i.version) for i in w.state.integrations.values()}
    async with w.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in w.app.title
        bar = keybar(w.app)
        assert not any(f" {label}" in bar for label in WRITE_LABELS), bar
        assert "h Health" in bar and "i Inspect" in bar and "q Quit" in bar and "f1 Help" in bar
        titles = [c.title for c in w.app.get_system_commands(w.app.screen)]
        assert not any(t in titles for t in WRITE_LABELS) and "Refresh" in titles
        await pilot.press("f1")
        await pilot.pause()
        text = help_text(w.app)
        assert not any(f" {label} " in f" {text} " for label in WRITE_LABELS) and "Refresh" in text
        await pilot.press("escape")
        await select_row(pilot, "Dev Redis")
        for key in ("n", "e", "o", "d"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(w.app.screen, IntegrationsScreen), key
        said = [n.message for n in w.app.notices if n.title == "Read-only"]
        assert len(said) == 4 and all("--read-only" in m for m in said)
        assert "nothing can be created" in said[0] and "deleted" in said[3]
        # The detail has no button that changes anything, and its keys are refused too.
        await pilot.press("enter")
        await pilot.pause()
        detail = w.app.screen
        assert isinstance(detail, DetailScreen)
        assert not detail.query("#edit") and not detail.query("#delete") and detail.query("#close")
        assert "Edit" not in keybar(w.app)
        await pilot.press("e")
        await pilot.pause()
        assert w.app.screen is detail
    assert {i.id: (i.on, i.version) for i in w.state.integrations.values()} == before


async def test_a_profiles_read_only_turns_the_session_read_only_before_anything_is_sent() -> None:
    from ldtui.services.integrations import ReadOnly

    w = make_world()
    w.app.backend.read_only = True  # type: ignore[attr-defined]  (a profile's read_only = true)
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert w.app.read_only and "READ-ONLY" in w.app.title
        assert "profile emulator" in w.app.read_only_reason
        assert "New" not in keybar(w.app)
        service = await w.app.service_ready()
        integ = next(i for i in await service.list() if i.name == "Dev Redis")
        counts = dict(w.state.request_counts)
        with pytest.raises(ReadOnly):
            await service.set_on(integ, True)
        with pytest.raises(ReadOnly):
            await service.delete(integ)
        assert dict(w.state.request_counts) == counts  # nothing was sent


def test_read_only_from_the_command_line_and_the_configuration(tmp_path: Path) -> None:
    import argparse

    from ldtui.cli.tui import make_app
    from ldtui.config_file import peek_ui

    config = tmp_path / "config.toml"
    config.write_text("[ui]\nread_only = true\n")
    start = peek_ui(config, environ={})
    assert start.ui.read_only
    args = argparse.Namespace(demo=True, config=str(config), profile=None, read_only=False)
    app = make_app(args, start)
    assert app.read_only and app.read_only_reason == "ui.read_only"
    plain = peek_ui(None, environ={})
    app = make_app(argparse.Namespace(demo=True, config=None, profile=None, read_only=True), plain)
    assert app.read_only and app.read_only_reason == "--read-only"
    app = make_app(argparse.Namespace(demo=True, config=None, profile=None, read_only=False), plain)
    assert not app.read_only


# --- the audit trail -----------------------------------------------------------------------------


async def test_every_change_is_in_the_audit_trail_with_secrets_masked_and_shown(tmp_path: Path) -> None:
    from ldtui.ui.screens.audit import AuditEntryScreen, AuditScreen

    w = make_world(state_dir=tmp_path)
    prod = find(w.state, "Prod Redis store")
    old_password = prod.config.get("password")
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        # Edit: a new port and a typed password.
        await select_row(pilot, "Prod Redis store")
        await pilot.press("e")
        await settle(pilot)
        form = w.app.screen
        form.query_one("#f-port", Input).value = "6380"
        form.query_one("#f-password", Input).value = "typed-new-password-1234"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(w.app.screen, ReviewScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Toggle, then delete.
        await select_row(pilot, "Dev Redis")
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await select_row(pilot, "Sandbox DynamoDB")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press(*"Sandbox DynamoDB", "enter")
        await settle(pilot)
        # Create, with a password.
        form = await open_create_form(pilot)
        form.query_one("#f-name", Input).value = "Audited Redis"
        form.query_one("#f-host", Input).value = "redis.audited.internal"
        form.query_one("#f-password", Input).value = "created-secret-5678"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert find(w.state, "Audited Redis")

        raw = (tmp_path / "audit.jsonl").read_text()
        for secret in ("typed-new-password-1234", "created-secret-5678", old_password):
            assert not secret or secret not in raw
        lines = [json.loads(line) for line in raw.splitlines()]
        assert [e["action"] for e in lines] == ["edit", "toggle", "delete", "create"]
        assert [e["status"] for e in lines] == [200, 200, 204, 201]
        assert all(e["ok"] and e["requestId"] and e["profile"] == "emulator" for e in lines)
        assert all(e["baseUrl"] == "http://emulator.local" and e["time"].endswith("Z") for e in lines)
        edit = lines[0]
        assert edit["integrationId"] == prod.id and edit["method"] == "PATCH"
        assert edit["body"][0] == {"op": "test", "path": "/version", "value": prod.version - 1}
        assert {"op": "replace", "path": "/config/port", "value": "6380"} in edit["body"]
        assert lines[3]["integrationId"] == find(w.state, "Audited Redis").id
        assert lines[3]["body"]["config"]["host"] == "redis.audited.internal"

        # The TUI shows it, newest first; Enter shows one in full.
        await pilot.press("a")
        await settle(pilot)
        screen = w.app.screen
        assert isinstance(screen, AuditScreen)
        table = screen.query_one(LdTable)
        assert table.row_count == 4
        assert [table.get_row_at(i)[1].plain for i in range(4)] == ["create", "delete", "toggle", "edit"]
        assert table.get_row_at(3)[2].plain == "HTTP 200"
        table.move_cursor(row=3)
        await pilot.press("enter")
        await pilot.pause()
        entry = w.app.screen
        assert isinstance(entry, AuditEntryScreen)
        shown = str(entry.query_one("#audit-entry").render())
        assert "/config/port" in shown and "typed-new-password-1234" not in shown


async def test_an_audit_trail_that_cannot_be_written_is_said_once_and_blocks_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    w = make_world(state_dir=blocked)
    async with w.app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for _ in range(2):
            await select_row(pilot, "Dev Redis")
            await pilot.press("o")
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
        assert find(w.state, "Dev Redis").on is False  # on, then off again: both sent
        said = [n for n in w.app.notices if n.title == "Audit trail"]
        assert len(said) == 1 and "not-a-directory" in said[0].message


# --- themes --------------------------------------------------------------------------------------


async def test_the_chosen_theme_is_remembered_across_restarts_unless_configured(tmp_path: Path) -> None:
    first = make_world(state_dir=tmp_path)
    async with first.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first.app.theme = "ldtui-light"
        await pilot.pause()
    assert json.loads((tmp_path / "ui.json").read_text())["theme"] == "ldtui-light"
    again = make_world(state_dir=tmp_path)
    async with again.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.app.theme == "ldtui-light"
    configured = make_world(state_dir=tmp_path, theme="ldtui-high-contrast", theme_configured=True)
    async with configured.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert configured.app.theme == "ldtui-high-contrast"


async def test_the_palette_offers_ldtuis_themes_only() -> None:
    from textual.command import CommandList, CommandPalette

    w = make_world()
    async with w.app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        w.app.search_themes()
        await wait_until(pilot, lambda: isinstance(w.app.screen, CommandPalette), what="the theme picker")

        def offered() -> list[str]:
            found = w.app.screen.query(CommandList)
            if not found:
                return []
            commands = found.first()
            return [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]

        shipped = {"ldtui-dark", "ldtui-light", "ldtui-ansi", "ldtui-high-contrast"}
        await wait_until(pilot, lambda: len(offered()) >= len(shipped), what="the themes are listed")
        names = {line.split()[0] for line in offered()}
        assert shipped <= names and all(n.startswith("ldtui-") for n in names), names
