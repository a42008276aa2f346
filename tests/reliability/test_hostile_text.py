"""Names and messages from the API cannot drive the terminal: an integration named with an OSC 52
clipboard write, a screen clear, colours, a bidi override and Rich markup is shown literally on
every screen and in every notification (the "Store alert" once set the operator's clipboard)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ldtui.ui.screens.status import StatusScreen
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import NOW, FixedReader, find, fixed_stores, make_world, settle

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
EVIL = f"evil {OSC52} \x1b[2J \x1b[31mred\x1b[0m \u202eabc [link=file:///etc/passwd]x[/link] \udc9b"
# What a person must see instead: each control spelled out, the markup as typed.
SHOWN = ["\\x1b]52;c;ZWNobyBwd25lZA==\\x07", "\\x1b[2J", "\\u202eabc", "[link=file:///etc/passwd]x[/link]"]
BAD = ["\x1b", "\x07", "\u202e", "\x9b"]


def screen_text(app: Any) -> str:
    """Everything the terminal would be sent for the current screen (via Textual's SVG export,
    which keeps each cell's character), as plain text."""
    import html
    import re

    svg = app.export_screenshot()
    return "".join(html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg)).replace("\xa0", " ")


def assert_clean(text: str) -> None:
    for bad in BAD:
        assert bad not in text, repr(bad)


@pytest.mark.parametrize("where", ["list", "detail", "status"])
async def test_a_hostile_name_is_shown_literally(where: str) -> None:
    world = make_world()
    find(world.state, "Prod Redis store").name = EVIL
    fixed_stores(world, {"default/production": FixedReader(int(NOW * 1000) - 4000)})
    async with world.app.run_test(size=(240, 40)) as pilot:
        await settle(pilot)
        table = world.app.screen.query_one(LdTable)
        integ = find(world.state, EVIL)
        table.move_cursor(key=integ.id)
        if where == "detail":
            await pilot.press("enter")
        elif where == "status":
            await pilot.press("h")
        await settle(pilot)
        assert_clean(world.app.export_screenshot())
        text = screen_text(world.app)
        assert "evil \\x1b]52;c;" in text  # the name's start, escape spelled out
        if where == "detail":  # the whole name: every part as typed
            for part in SHOWN:
                assert part in text, part


async def test_a_store_alert_for_a_hostile_name_cannot_write_the_clipboard() -> None:
    """The alert raised when a store turns STALE names the integration: its text reaches the
    terminal through one boundary that spells out every control character."""
    world = make_world()
    find(world.state, "Prod Redis store").name = EVIL
    reader = FixedReader(int(NOW * 1000) - 4000)
    fixed_stores(world, {"default/production": reader})
    async with world.app.run_test(size=(240, 40)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(world.app.screen, StatusScreen)
        reader.synchronized_on = int(NOW * 1000) - 600_000  # ten minutes old: STALE, an alert
        await pilot.press("r")
        deadline = time.monotonic() + 10
        while not any(n.title == "Store alert" for n in world.app.notices):
            assert time.monotonic() < deadline, "no alert"
            await pilot.pause(0.05)
        for note in world.app.notices:
            assert_clean(note.message + note.title)
        alert = next(n for n in world.app.notices if n.title == "Store alert")
        assert "\\x1b]52;c;" in alert.message and "[link=file:///etc/passwd]x[/link]" in alert.message
        await pilot.pause()
        assert_clean(screen_text(world.app))  # the toast on screen too
        assert world.app.clipboard == ""  # nothing wrote to it


async def test_an_integration_with_escapes_in_its_name_can_be_deleted_by_typing_what_is_shown() -> None:
    from ldtui.ui.screens.dialogs import DeleteScreen

    world = make_world()
    integ = find(world.state, "Dev Redis")
    integ.name = "dev \x1b[31mred"
    async with world.app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        world.app.screen.query_one(LdTable).move_cursor(key=integ.id)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(world.app.screen, DeleteScreen)
        await pilot.press(*"dev \\x1b[31mred", "enter")  # as the dialog shows it
        await settle(pilot)
        assert integ.id not in world.state.integrations
