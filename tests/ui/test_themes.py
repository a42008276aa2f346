"""Every shipped theme can show every screen (a theme missing a variable fails at run time)."""

from __future__ import annotations

from typing import Any

import pytest

from ldtui.ui.themes import load_themes, shipped_theme_dirs
from tests.snapshots.test_screens import SCENARIOS
from tests.ui.harness import make_world, wait_until

SHIPPED = [t.name for t in load_themes(shipped_theme_dirs()).themes]


def test_shipped_themes_load_cleanly() -> None:
    loaded = load_themes(shipped_theme_dirs())
    assert loaded.problems == []
    assert {"ldtui-dark", "ldtui-ansi"} <= set(SHIPPED)
    for theme in loaded.themes:
        for var in ("status-ok", "status-stale", "status-down", "status-off", "status-unknown"):
            assert var in theme.variables, (theme.name, var)


@pytest.mark.parametrize("theme", SHIPPED)
async def test_every_screen_in_every_theme(theme: str) -> None:
    for scenario, run in SCENARIOS.items():
        world = make_world(theme=theme)
        async with world.app.run_test(size=(100, 30)) as pilot:
            await run(pilot)
            assert world.app.theme == theme
            messages = [n.message for n in world.app.notices]
            assert not any("theme" in m.lower() for m in messages), (scenario, messages)


def test_broken_theme_file_is_skipped_with_a_notice(tmp_path: Any) -> None:
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (tmp_path / "bad-toml.toml").write_text("name = \n")
    loaded = load_themes([tmp_path])
    assert loaded.themes == []
    assert len(loaded.problems) == 2
    assert all(str(tmp_path) in p for p in loaded.problems)


def test_four_themes_ship_with_the_semantic_variables() -> None:
    assert {"ldtui-dark", "ldtui-light", "ldtui-ansi", "ldtui-high-contrast"} <= set(SHIPPED)
    light = next(t for t in load_themes(shipped_theme_dirs()).themes if t.name == "ldtui-light")
    assert light.dark is False


async def test_user_theme_from_the_config_dir_and_fallback(tmp_path: Any) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\nprimary = "#FF8800"\n[variables]\nstatus-ok = "#00AA00"\nstatus-stale = "#AAAA00"\n'
        'status-down = "#AA0000"\nstatus-off = "#888888"\nstatus-unknown = "#0088FF"\n'
    )
    world = make_world(theme="mine", user_theme_dirs=[tmp_path])
    async with world.app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert world.app.theme == "mine"
        assert world.app.get_css_variables()["status-ok"].upper().startswith("#00AA00")
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "nope"\n')
    world = make_world(theme="mine", user_theme_dirs=[tmp_path])
    async with world.app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert world.app.theme == "ldtui-dark"
        messages = [n.message for n in world.app.notices]
        assert any(str(tmp_path / "mine.toml") in m for m in messages), messages
        assert any("'mine' was not found" in m for m in messages), messages


async def test_the_palette_switches_themes() -> None:
    world = make_world()
    from textual.command import CommandList, CommandPalette

    def highlighted(text: str) -> bool:
        """The palette's highlighted command holds ``text`` (its search has answered)."""
        screen = world.app.screen
        if not isinstance(screen, CommandPalette):
            return False
        commands = screen.query_one(CommandList)
        if commands.highlighted is None:
            return False
        return text in str(commands.get_option_at_index(commands.highlighted).prompt)

    async with world.app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await wait_until(
            pilot, lambda: isinstance(world.app.screen, CommandPalette), what="the palette opens"
        )
        await pilot.press(*"theme")
        await wait_until(pilot, lambda: highlighted("Theme"), what="the Theme command is offered")
        commands = world.app.screen
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(world.app.screen, CommandPalette) and world.app.screen is not commands,
            what="the theme picker opens",
        )
        await pilot.press(*"ldtui-light")
        await wait_until(pilot, lambda: highlighted("ldtui-light"), what="the light theme is offered")
        await pilot.press("enter")
        await wait_until(pilot, lambda: world.app.theme == "ldtui-light", what="the theme changes")
        assert world.app.get_css_variables()["status-down"].upper().startswith("#CF222E")


async def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.setenv("NO_COLOR", "1")
    world = make_world()
    async with world.app.run_test(size=(100, 30)) as pilot:
        from tests.ui.harness import settle

        await settle(pilot)
        assert world.app.no_color
        svg = world.app.export_screenshot()
    # c5c8c6 is the SVG template's own window-title colour, not the app's.
    colours = set(re.findall(r"(?:fill|color):\s*#([0-9a-fA-F]{6})", svg)) - {"c5c8c6"}
    assert colours, "the screenshot has no colours at all?"
    # Only greys: every colour has R == G == B.
    assert all(c[0:2].lower() == c[2:4].lower() == c[4:6].lower() for c in colours), sorted(colours)[:5]
    # Status is still readable without colour: the verdict words are there.
    assert "OK" in svg and "OFF" in svg


def test_animations_are_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from ldtui.config_file import peek_ui

    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    assert make_world().app.animation_level == "none"
    assert make_world(animations=True).app.animation_level != "none"
    path = tmp_path / "c.toml"
    path.write_text("[ui]\nanimations = true\n")
    assert peek_ui(path, environ={}).ui.animations is True
    assert peek_ui(path, environ={"LDTUI_ANIMATIONS": "0"}).ui.animations is False
    assert peek_ui(tmp_path / "none.toml", environ={}).ui.animations is False


def test_mouse_can_be_left_to_the_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from ldtui.cli import main
    from ldtui.config_file import peek_ui
    from ldtui.ui.app import LdtuiApp

    path = tmp_path / "c.toml"
    path.write_text("[ui]\nmouse = false\n")
    assert peek_ui(path, environ={}).ui.mouse is False
    assert peek_ui(tmp_path / "none.toml", environ={}).ui.mouse is True
    assert peek_ui(tmp_path / "none.toml", environ={"LDTUI_MOUSE": "off"}).ui.mouse is False
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(LdtuiApp, "run", lambda self, **kw: runs.append(kw))
    monkeypatch.setenv("LDTUI_CONFIG_FILE", str(tmp_path / "none.toml"))
    assert main(["--no-mouse"]) == 0
    assert main(["--config", str(path)]) == 0
    assert main([]) == 0
    assert [r["mouse"] for r in runs] == [False, False, True]


def cell_colours(svg: str) -> list[tuple[int, int, str, str, str]]:
    """(row, column, character, foreground, background) of every character drawn in a Textual
    SVG screenshot: the text's fill over the background rectangle under it (or the terminal's
    background where none is drawn)."""
    import html
    import re

    fills = dict(re.findall(r"\.([\w-]+-r\d+)\s*\{\s*fill:\s*(#[0-9a-fA-F]{6})", svg))
    clips = {
        int(n): float(y)
        for n, y in re.findall(r'<clipPath id="[\w-]+-line-(\d+)">\s*<rect x="0" y="([\d.]+)"', svg)
    }
    line_height = clips[1] - clips[0]
    terminal_bg = re.search(r'<rect fill="(#[0-9a-fA-F]{6})" stroke="[^"]*" stroke-width="[^"]*" x="1"', svg)
    default_bg = terminal_bg.group(1) if terminal_bg else "#000000"
    backgrounds: dict[tuple[int, int], str] = {}
    texts = []
    char_width = None
    for fill, x, y, width in re.findall(
        r'<rect fill="(#[0-9a-fA-F]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" '
        r'shape-rendering="crispEdges"',
        svg,
    ):
        texts.append(("rect", fill, float(x), float(y), float(width)))
    for cls, x, length, line, text in re.findall(
        r'<text class="([\w-]+-r\d+)" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
        r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>',
        svg,
    ):
        text = html.unescape(text)
        if text and char_width is None:
            char_width = float(length) / len(text)
        texts.append(("text", cls, float(x), int(line), text))
    assert char_width, "no text in the screenshot?"
    for kind, fill, x, y, width in texts:
        if kind == "rect":
            row = round((y - clips[0]) / line_height)
            for col in range(round(x / char_width), round((x + width) / char_width)):
                backgrounds[(row, col)] = fill
    out = []
    for kind, cls, x, row, text in texts:
        if kind != "text":
            continue
        start = round(x / char_width)
        for n, char in enumerate(text):
            if char.strip():
                col = start + n
                out.append((row, col, char, fills[cls], backgrounds.get((row, col), default_bg)))
    return out


@pytest.mark.parametrize("theme", SHIPPED)
async def test_no_color_is_readable_in_every_shipped_theme(
    theme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR with any theme (the ANSI one included, which once drew black on black): every
    character of the list screen differs from the background it is drawn on."""
    from tests.ui.harness import settle

    monkeypatch.setenv("NO_COLOR", "1")
    world = make_world(theme=theme)
    async with world.app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert world.app.theme == theme and world.app.no_color
        svg = world.app.export_screenshot()
    cells = cell_colours(svg)
    assert len(cells) > 200, "the list screen should show its rows"
    unreadable = [(row, col, char, fg) for row, col, char, fg, bg in cells if fg.lower() == bg.lower()]
    assert not unreadable, unreadable[:10]
    assert "ProdRedisstore" in "".join(char for _, _, char, _, _ in cells)
